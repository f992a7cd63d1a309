/**
 * End-to-end training on each backend: a small recurrent net learns a toy sequence problem, and
 * 1,000 training steps leave device memory exactly where it was after a warm-up of 100.
 */
import { describe, expect, test } from 'vitest';
import * as bp from '../src/autograd/index.js';
import type { Backend } from '../src/kernels/backend.js';
import { getTestBackends } from './helpers/backends.js';

const { cpu64, gpu } = await getTestBackends();
const backends: [string, Backend][] = [['cpu', cpu64], ...(gpu ? [['webgpu', gpu] as [string, Backend]] : [])];

/** An Elman RNN: h = tanh(W_in x + W_h h + b), y = W_o h. */
class Rnn extends bp.Module {
  readonly inp: bp.Linear;
  readonly rec: bp.Linear;
  readonly out: bp.Linear;
  constructor(hidden: number, rng: bp.Rng) {
    super();
    this.inp = this.registerModule('inp', new bp.Linear(1, hidden, rng));
    this.rec = this.registerModule('rec', new bp.Linear(hidden, hidden, rng, { bias: false }));
    this.out = this.registerModule('out', new bp.Linear(hidden, 1, rng));
  }
}

const DELAY = 2;
const STEPS = 8;
const BATCH = 16;

/** Echo task: the target at step t is the input at step t − DELAY (±1 bits), scored after DELAY. */
function trainStep(net: Rnn, opt: bp.Adam, rng: bp.Rng): bp.Tensor {
  const xs = Array.from({ length: STEPS }, () => Array.from({ length: BATCH }, () => (rng.uniform() < 0.5 ? -1 : 1)));
  return bp.tidy(() => {
    let h = bp.zeros([BATCH, net.rec.inFeatures]);
    let loss = bp.scalar(0);
    for (let t = 0; t < STEPS; t++) {
      h = bp.tanh(bp.add(net.inp.forward(bp.tensor(xs[t], [BATCH, 1])), net.rec.forward(h)));
      if (t >= DELAY) loss = bp.add(loss, bp.mean(bp.square(bp.sub(net.out.forward(h), bp.tensor(xs[t - DELAY], [BATCH, 1])))));
    }
    loss = bp.div(loss, STEPS - DELAY);
    opt.zeroGrad();
    loss.backward();
    bp.clipGradNorm(net.parameters(), 5);
    opt.step();
    return loss;
  });
}

describe.each(backends)('training on %s', (_, backend) => {
  test('an RNN learns to echo its input two steps later (MSE below 0.05, from about 1)', async () => {
    bp.setBackend(backend);
    const rng = new bp.Rng(42);
    const net = new Rnn(24, rng);
    const opt = new bp.Adam(net.parameters(), { lr: 0.02 });
    const losses: number[] = [];
    for (let it = 0; it < 300; it++) {
      const loss = trainStep(net, opt, rng);
      if (it % 10 === 0 || it >= 290) losses.push(await loss.item());
      loss.dispose();
    }
    const final = losses.slice(-10).reduce((a, b) => a + b) / 10;
    expect(losses[0]).toBeGreaterThan(0.5);
    expect(final).toBeLessThan(0.05);
    opt.dispose();
    net.dispose();
  });

  // The warm-up: buffers freed while the open encoder may use them come back only at its submit,
  // every 64 dispatches, so the pool's high-water mark depends on where those submits fall within
  // a step; that position cycles with a period of at most 64 steps.
  test('1,000 training steps leave memory() unchanged after a warm-up of 100', async () => {
    bp.setBackend(backend);
    const rng = new bp.Rng(7);
    const net = new Rnn(16, rng);
    const opt = new bp.Adam(net.parameters(), { lr: 0.01 });
    const step = async () => {
      const loss = trainStep(net, opt, rng);
      await loss.item(); // a readback also drains the deferred releases
      loss.dispose();
    };
    for (let i = 0; i < 100; i++) await step();
    const warm = backend.memory();
    for (let i = 100; i < 1000; i++) await step();
    await backend.sync();
    expect(backend.memory()).toEqual(warm);
    opt.dispose();
    net.dispose();
  });
});
