/**
 * A quick timing of the plastic kernels alone, for comparing two versions of a kernel (run it
 * on each commit, alternating, since lavapipe's speed drifts by 10-30% over minutes):
 *
 *   node scripts/run.mjs bench/plastic_time.ts [BxN] [rule] [rl|lstm] [--loop fwd|bwd|copy SECONDS]
 *   (default 30x200 retroactive rl)
 *
 * Prints the sorted ms per call of 5 batches of 10 calls each (harness.timeCases: the three cases'
 * batches interleaved): plasticStep (fwd), plasticStepBackward (bwd) with every incoming gradient
 * present, and our raw copy of one trace (copy: the bandwidth floor of that moment). Inputs are random,
 * hard clip ±1, and the geometry of the RL networks (`rl`: full alpha, one modulation per episode)
 * or of the plastic LSTM (`lstm`: alpha and modulation per neuron).
 * With --loop it runs one of the three cases for SECONDS instead, for a sampling profiler to watch
 * (bench/jit_profile.sh), and prints its ms per call.
 * bench:kernels measures the same kernels against peers, with floors and targets.
 */
import type { Buf, PlasticGeometry, PlasticRule } from '../src/kernels/backend.js';
import { createWebGPUBackend } from '../src/kernels/webgpu/webgpu_backend.js';
import { timeCases } from './harness.js';

const loopAt = process.argv.indexOf('--loop');
const loop = loopAt < 0 ? null : { name: process.argv[loopAt + 1], seconds: Number(process.argv[loopAt + 2]) };
const [B, N] = (process.argv[2] ?? '30x200').split('x').map(Number);
const rule = (process.argv[3] ?? 'retroactive') as PlasticRule;
const backend = (await createWebGPUBackend()) ?? (() => { throw new Error('plastic_time: no WebGPU adapter'); })();
const random = (n: number) => backend.upload(Float32Array.from({ length: n }, () => Math.random() * 2 - 1));
const retro = rule === 'retroactive';
const lstm = process.argv[4] === 'lstm';
const g: PlasticGeometry = { batch: B, n: N, rule, clip: 'hard', clipValue: 1, modKind: lstm ? 'neuron' : 'episode', alphaKind: lstm ? 'neuron' : 'full' };
const trace = B * N * N;
const inp = {
  hebb: random(trace), elig: retro ? random(trace) : null, pre: random(B * N), post: random(B * N), mod: random(lstm ? B * N : B),
  eta: retro ? random(1) : null, x: random(B * N), drive: random(B * N), w: random(N * N), alpha: random(lstm ? N : N * N),
};
const [h, dh, dHebb, dElig] = [random(B * N), random(B * N), random(trace), random(trace)];
const freeAll = (bufs: object) => Object.values(bufs).forEach((b) => b && backend.free(b as Buf));

// The harness's timing, batches of the three cases interleaved; printed: every batch's ms per call.
const lib = { flush: () => backend.flush(), sync: () => backend.sync() };
const cases: [string, () => void][] = [
  ['fwd', () => freeAll(backend.plasticStep(g, inp))],
  ['bwd', () => freeAll(backend.plasticStepBackward(g, inp, h, [dh], dHebb, retro ? dElig : null))],
  ['copy', () => backend.free(backend.copyRaw(inp.hebb, trace))],
];
if (loop) {
  const run = cases.find(([name]) => name === loop.name)?.[1];
  if (!run || !(loop.seconds > 0)) throw new Error(`plastic_time: --loop takes fwd, bwd or copy and a number of seconds`);
  const start = performance.now();
  let calls = 0;
  for (; performance.now() - start < loop.seconds * 1000; calls += 10) {
    for (let i = 0; i < 10; i++) run();
    await backend.sync();
  }
  console.log(`${loop.name}: ${((performance.now() - start) / calls).toFixed(2)} ms per call over ${calls} calls`);
  backend.destroy();
  process.exit(0);
}
const timings = await timeCases(cases.map(([, run]) => ({ lib, c: { run, dispose: () => {} } })), { count: 10, reps: 5 });
console.log(`# B=${B} N=${N} ${rule} ${lstm ? 'lstm' : 'rl'} on ${backend.gpu.device.adapterInfo.description}`);
timings.forEach((t, i) => {
  if (t instanceof Error) throw t;
  console.log(cases[i][0], t.batchesMs.map((ms) => ms / t.count).sort((x, y) => x - y).map((x) => x.toFixed(2)).join(' '));
});
backend.destroy();
