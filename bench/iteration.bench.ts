/**
 * Time of one A2C iteration at the paper's sizes, split into its parts, and the device readbacks
 * per environment step:
 *   cue-reward: B = 30, N = 200, 120 steps, retroactive neuromodulation (the authors' `srbatch.py`)
 *   maze:       B = 30, N = 100, 200 steps, simple neuromodulation (`batch.py`)
 * against the issue's reference: the authors' PyTorch code on this machine, about 1.8 s and 1.0 s.
 *
 *   npm run bench:iteration [-- --iterations 3] [--backend auto|webgpu|cpu] [--task cue-reward|maze] [--profile]
 *
 * The split runs the trainer's parts one by one (rollout, loss + backward + clip, Adam step), as
 * `A2CTrainer.iteration` does, waiting for the device after each. The rollout is split further by
 * timing the environment's calls: "forward" is the rest of it (recording the network's step,
 * waiting for it at the per-step readback of π, sampling the actions). Readbacks are counted by
 * wrapping the backend's `read`, the one way data leaves the device.
 *
 * --profile then runs one more iteration per task on a WebGPU backend that times every dispatch
 * (timestamp queries, src/kernels/webgpu/profiler.ts) and prints where the GPU time goes, by
 * kernel. A pass per dispatch slows that iteration down, so read its shares, not its totals.
 */
import { parseArgs } from 'node:util';
import {
  Adam, clipGradNorm, destroyDevice, getBackend, initDevice, reshape, Rng, setBackend, stack, tidy, type Backend,
} from '../src/index.js';
import { a2cLoss, disposeRollout, rollout } from '../src/tasks/a2c.js';
import { buildEnv, buildNet, defaultConfig, type TaskName, type TrainConfig } from '../src/tasks/presets.js';
import { createWebGPUBackend } from '../src/kernels/webgpu/webgpu_backend.js';
import type { KernelTime } from '../src/kernels/webgpu/profiler.js';
import { machineInfo, printProfile, printTable, writeResults, type Cell } from './harness.js';
import { quantile } from './stats.js';

/** Seconds per iteration of the authors' PyTorch code on this machine (from the issue). */
const REFERENCE_S: Record<TaskName, number> = { 'cue-reward': 1.8, maze: 1.0 };

const CASES: { task: TaskName; config: TrainConfig }[] = [
  { task: 'cue-reward', config: defaultConfig('cue-reward', 'retroactive') },
  { task: 'maze', config: defaultConfig('maze', 'neuromodulated') },
];

interface Split {
  forwardMs: number;
  envMs: number;
  backwardMs: number;
  optimizerMs: number;
  /** Device reads during the rollout, per environment step. */
  readsPerStep: number;
  /** Device reads after the rollout (the trainer's loss and gradient norm). */
  readsAfter: number;
}

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '3' },
    backend: { type: 'string', default: 'auto' },
    task: { type: 'string' },
    profile: { type: 'boolean', default: false },
  },
});
const iterations = Number(values.iterations);
const backend = await initDevice({ backend: values.backend as 'auto' | 'webgpu' | 'cpu' });
let reads = 0;
countReads(getBackend());

const selected = CASES.filter((c) => !values.task || c.task === values.task);
const results: { task: TaskName; plasticity: string; batch: number; hidden: number; steps: number; splits: Split[]; median: Split }[] = [];
for (const { task, config } of selected) {
  const splits: Split[] = [];
  // One warm-up iteration (pipeline compiles, buffer pools), then the timed ones.
  for (let i = 0; i <= iterations; i++) {
    const s = await timeIteration(config, i);
    if (i > 0) splits.push(s);
    const total = s.forwardMs + s.envMs + s.backwardMs + s.optimizerMs;
    console.error(`${task} iteration ${i}${i ? '' : ' (warm-up)'}: ${(total / 1000).toFixed(2)} s`);
  }
  const median = Object.fromEntries(Object.keys(splits[0]).map((k) => [k, quantile(splits.map((s) => s[k as keyof Split]), 0.5)])) as unknown as Split;
  results.push({ task, plasticity: config.net.plasticity, batch: config.batchSize, hidden: config.net.hiddenSize, steps: config.env.episodeLength, splits, median });
}

const rows: Cell[][] = results.map(({ task, plasticity, batch, hidden, steps, median: m }) => {
  const total = (m.forwardMs + m.envMs + m.backwardMs + m.optimizerMs) / 1000;
  return [`${task} ${plasticity} B=${batch} N=${hidden} T=${steps}`, m.forwardMs / 1000, m.envMs / 1000, m.backwardMs / 1000, m.optimizerMs / 1000, total, REFERENCE_S[task], total / REFERENCE_S[task], m.readsPerStep];
});
printTable({
  title: `Seconds per A2C iteration on ${backend.name} (median of ${iterations}; reference: the authors' PyTorch code on this machine)`,
  header: ['case', 'forward', 'env', 'backward', 'optimizer', 'total', 'PyTorch', '× PyTorch', 'reads/step'],
  rows,
});
console.log(`\nreads/step: device readbacks per environment step (the sampled actions' probabilities); after the episode,`);
console.log(`${results.map((r) => `${r.task} ${r.median.readsAfter}`).join(', ')} more per iteration (loss and gradient norm, read together).`);
const failed = results.filter((r) => r.splits.some((s) => s.readsPerStep > 1));
for (const r of failed) console.log(`FAIL ${r.task}: more than 1 device readback per step`);
const profiles = values.profile ? await profileIterations() : undefined;
console.log(`\nwrote ${writeResults('iteration', { machine: machineInfo(backend.name), iterations, referenceSeconds: REFERENCE_S, results, profiles })}`);
destroyDevice();
process.exit(failed.length ? 1 : 0);

/**
 * One iteration per selected task on a profiled WebGPU backend (after a warm-up one on it): GPU
 * time by kernel, printed and returned. Restores the benchmark's backend.
 */
async function profileIterations(): Promise<{ task: TaskName; wallMs: number; gpuMs: number; kernels: KernelTime[] }[]> {
  const prof = await createWebGPUBackend({ profile: true });
  if (!prof) throw new Error('bench:iteration --profile: no WebGPU adapter');
  setBackend(prof);
  const out = [];
  for (const { task, config } of selected) {
    await timeIteration(config, 0);
    await prof.kernelTimes();
    const s = await timeIteration(config, 1);
    const kernels = await prof.kernelTimes();
    const wallMs = s.forwardMs + s.envMs + s.backwardMs + s.optimizerMs;
    const gpuMs = kernels.reduce((a, k) => a + k.ms, 0);
    const title = `${task}: GPU time by kernel in one profiled iteration (wall ${(wallMs / 1000).toFixed(2)} s, GPU busy ${(gpuMs / 1000).toFixed(2)} s; each dispatch in its own pass)`;
    printProfile(title, kernels, config.env.episodeLength);
    out.push({ task, wallMs, gpuMs, kernels });
  }
  prof.destroy();
  setBackend(backend);
  return out;
}

/** Runs one iteration of `config`'s training with fresh parameters, timing each part. */
async function timeIteration(config: TrainConfig, seed: number): Promise<Split> {
  const rng = new Rng(seed);
  const env = buildEnv(config, config.batchSize, rng);
  const net = buildNet(config, env, rng);
  const optimizer = new Adam(net.parameters(), config.adam);
  let envMs = 0;
  const timed = <A extends unknown[], R>(fn: (...a: A) => R) => (...a: A): R => {
    const t = performance.now();
    const r = fn(...a);
    envMs += performance.now() - t;
    return r;
  };
  env.reset = timed(env.reset.bind(env));
  env.step = timed(env.step.bind(env));
  try {
    const sync = getBackend().sync.bind(getBackend());
    reads = 0;
    const t0 = performance.now();
    const r = await rollout(net, env, rng, { train: true });
    const readsPerStep = reads / env.episodeLength;
    const t1 = performance.now();
    const scalars = tidy(() => {
      const loss = a2cLoss(r, config.a2c);
      optimizer.zeroGrad();
      loss.backward();
      return stack([reshape(loss, [1]), reshape(clipGradNorm(net.parameters(), config.a2c.gradClip), [1])]);
    });
    disposeRollout(net, r);
    reads = 0;
    await scalars.data();
    scalars.dispose();
    const readsAfter = reads;
    const t2 = performance.now();
    optimizer.step();
    await sync();
    const t3 = performance.now();
    return { forwardMs: t1 - t0 - envMs, envMs, backwardMs: t2 - t1, optimizerMs: t3 - t2, readsPerStep, readsAfter };
  } finally {
    optimizer.dispose();
    net.dispose();
  }
}

/** Counts every device-to-host copy: the bench's one hook into the backend. */
function countReads(b: Backend): void {
  const read = b.read.bind(b);
  b.read = (buf, n) => {
    reads++;
    return read(buf, n);
  };
}
