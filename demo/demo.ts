/**
 * The main job's demo: a neuromodulated plastic RNN (PAPER.md §1.2) learns, by gradient descent,
 * to recall a cue shown at the start of an episode after a stretch of blank steps, and the loss
 * it prints falls. Run: npm run demo [-- --iterations 300 --backend cpu]
 */
import { parseArgs } from 'node:util';
import {
  Adam, clipGradNorm, crossEntropy, destroyDevice, initDevice, memory, PlasticRNN, Rng, tensor, tidy,
} from '../src/index.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '300' },
    backend: { type: 'string', default: 'auto' },
    seed: { type: 'string', default: '1' },
  },
});
const iterations = Number(values.iterations);
const CUES = 4;
const STEPS = 8;
const BATCH = 16;

const backend = await initDevice({ backend: values.backend as 'auto' | 'webgpu' | 'cpu' });
const rng = new Rng(Number(values.seed));
const net = new PlasticRNN({ inputSize: CUES + 1, hiddenSize: 32, numActions: CUES, plasticity: 'neuromodulated', rng });
const opt = new Adam(net.parameters(), { lr: 3e-3 });
console.log(`backpropamine demo: neuromodulated plastic RNN, ${backend.name} backend, ${net.parameters().length} parameter tensors`);
console.log(`task: recall which of ${CUES} cues was shown at step 0, after ${STEPS - 1} blank steps (chance loss ${Math.log(CUES).toFixed(3)})`);

/** Inputs [B, CUES + 1] per step: the one-hot cue at step 0, then blanks; the last input is a "go" bit. */
function episode(): { inputs: number[][]; cues: number[] } {
  const cues = Array.from({ length: BATCH }, () => rng.int(CUES));
  const inputs = Array.from({ length: STEPS }, (_, t) =>
    cues.flatMap((c) => Array.from({ length: CUES + 1 }, (_, k) => (t === 0 ? Number(k === c) : Number(k === CUES && t === STEPS - 1)))),
  );
  return { inputs, cues };
}

let running = Math.log(CUES);
const start = performance.now();
for (let it = 1; it <= iterations; it++) {
  const { inputs, cues } = episode();
  const loss = tidy(() => {
    let state = net.initialState(BATCH);
    let logits = null;
    for (const x of inputs) {
      const out = net.step(tensor(x, [BATCH, CUES + 1]), state);
      [state, logits] = [out.state, out.logits];
    }
    const l = crossEntropy(logits!, cues);
    opt.zeroGrad();
    l.backward();
    clipGradNorm(net.parameters(), 2);
    opt.step();
    return l;
  });
  running = 0.9 * running + 0.1 * (await loss.item());
  loss.dispose();
  if (it % 25 === 0 || it === 1) {
    const rate = it / ((performance.now() - start) / 1000);
    console.log(`iter ${String(it).padStart(4)}  loss ${running.toFixed(4)}  ${rate.toFixed(1)} it/s  device memory ${(memory().bytesInUse / 1024).toFixed(0)} KiB`);
  }
}
console.log(`final running loss ${running.toFixed(4)} (chance ${Math.log(CUES).toFixed(3)})`);
net.dispose();
opt.dispose();
destroyDevice();
