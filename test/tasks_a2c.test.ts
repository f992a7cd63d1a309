/**
 * A2C meta-training (PAPER.md §2.0): the loss against a plain-JS transcription of the authors'
 * loop, its gradients (finite differences; stop-gradient on the advantage; the 'first' baseline
 * quirk), one readback per step, the burn-in, non-finite stops, memory, the four networks of each
 * preset with the authors' parameter counts, and a sanity check that the policy gradient ascends.
 * CPU backend in float64.
 */
import { beforeEach, describe, expect, test } from 'vitest';
import * as bp from '../src/autograd/index.js';
import { CpuBackend } from '../src/kernels/cpu/cpu_backend.js';
import { PlasticRNN, type Plasticity } from '../src/models/plastic_rnn.js';
import { a2cLoss, A2CTrainer, discountedReturns, evaluateEpisodes, rollout, type A2COptions, type Rollout } from '../src/tasks/a2c.js';
import { CueRewardEnv } from '../src/tasks/cue_reward.js';
import type { Env, EnvStep } from '../src/tasks/env.js';
import type { MazeConfig } from '../src/tasks/maze.js';
import { assertClose } from './helpers/check_op.js';
import { buildEnv, buildNet, defaultConfig } from '../src/tasks/presets.js';

let backend: CpuBackend;
beforeEach(() => {
  backend = new CpuBackend('f64');
  bp.setBackend(backend);
});

const OPTS: A2COptions = { gamma: 0.9, entropyCoef: 0.1, valueCoef: 0.1, gradClip: 2, burnIn: 0, baseline: 'own' };
/** Two float64 computations of the same sums in another order. */
const TIGHT = { atol: 1e-12, rtol: 1e-10 };

/** The authors' loss loop (`maze/batch.py`), transcribed literally, on host arrays [t][b][a]. */
function authorsLoss(logits: number[][][], values: number[][], actions: number[][], rewards: number[][], o: A2COptions): number {
  const [T, B] = [logits.length, logits[0].length];
  const softmax = (z: number[]) => {
    const m = Math.max(...z);
    const e = z.map((x) => Math.exp(x - m));
    const s = e.reduce((a, b) => a + b);
    return e.map((x) => x / s);
  };
  let loss = 0;
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) loss += (o.entropyCoef * softmax(logits[t][b]).reduce((a, p) => a + p * p, 0)) / B;
  let lossv = 0;
  const R = new Array<number>(B).fill(0);
  for (let t = T - 1; t >= 0; t--) {
    for (let b = 0; b < B; b++) {
      R[b] = o.gamma * R[b] + rewards[t][b];
      const ctr = R[b] - (o.baseline === 'first' ? values[t][0] : values[t][b]);
      lossv += (ctr * ctr) / B;
      loss -= (Math.log(softmax(logits[t][b])[actions[t][b]]) * ctr) / B;
    }
  }
  return (loss + o.valueCoef * lossv) / T;
}

/** A rollout made of random leaf tensors, with the host copies the transcription needs. */
function randomRollout(T: number, B: number, A: number, seed: number) {
  const rng = new bp.Rng(seed);
  const logits = [...Array(T)].map(() => [...Array(B)].map(() => [...Array(A)].map(() => rng.normal())));
  const values = [...Array(T)].map(() => [...Array(B)].map(() => rng.normal() * 2));
  const actions = [...Array(T)].map(() => [...Array(B)].map(() => rng.int(A)));
  const rewards = [...Array(T)].map(() => [...Array(B)].map(() => (rng.uniform() < 0.3 ? rng.normal() * 3 : 0)));
  // Rows t·B + b, as rollout() leaves them.
  const logitT = bp.tensor(logits.flat(2), [T * B, A], { requiresGrad: true });
  const valueT = bp.tensor(values.flat(), [T * B, 1], { requiresGrad: true });
  const r = {
    batch: B,
    logits: logitT,
    values: valueT,
    actions: Int32Array.from(actions.flat()),
    rewards: Float64Array.from(rewards.flat()),
  } as unknown as Rollout;
  return { logits, values, actions, rewards, logitT, valueT, r };
}

describe('A2C loss', () => {
  test('discounted returns: R_t = r_t + 0.9·R_{t+1}, per episode', () => {
    // Two episodes, three steps, [T, B] row-major.
    const R = discountedReturns(Float64Array.from([1, 0, 0, 2, 10, -1]), 2, 0.9);
    const expected = [1 + 0.9 * 0 + 0.81 * 10, 0 + 0.9 * 2 - 0.81, 0 + 0.9 * 10, 2 - 0.9, 10, -1];
    expected.forEach((x, i) => expect(R[i]).toBeCloseTo(x, 12));
  });

  for (const baseline of ['own', 'first'] as const) {
    test(`equals the authors' loop (baseline '${baseline}'); value gradient = 2·blossv·(V − R)/(B·T), none through the advantage`, async () => {
      const [T, B, A] = [7, 4, 3];
      const o = { ...OPTS, baseline };
      const { logits, values, actions, rewards, valueT, r } = randomRollout(T, B, A, 1);
      const loss = a2cLoss(r, o);
      expect(await loss.item()).toBeCloseTo(authorsLoss(logits, values, actions, rewards, o), 12);
      loss.backward();
      const R = discountedReturns(r.rewards, B, 0.9);
      const gv = await valueT.grad!.data();
      for (let t = 0; t < T; t++) {
        const g = gv.subarray(t * B, (t + 1) * B);
        for (let b = 0; b < B; b++) {
          let expected = 0;
          if (baseline === 'own') expected = (2 * o.valueCoef * (values[t][b] - R[t * B + b])) / (B * T);
          else if (b === 0) for (let k = 0; k < B; k++) expected += (2 * o.valueCoef * (values[t][0] - R[t * B + k])) / (B * T);
          expect(g[b]).toBeCloseTo(expected, 12);
        }
      }
    });
  }

  test('the logits gradient matches central finite differences of the authors\' loop', async () => {
    const [T, B, A] = [5, 3, 4];
    const { logits, values, actions, rewards, logitT, r } = randomRollout(T, B, A, 2);
    a2cLoss(r, OPTS).backward();
    const eps = 1e-6;
    const gl = await logitT.grad!.data();
    for (let t = 0; t < T; t++) {
      const g = gl.subarray(t * B * A, (t + 1) * B * A);
      for (let b = 0; b < B; b++) {
        for (let a = 0; a < A; a++) {
          const at = (d: number) => {
            const l = structuredClone(logits);
            l[t][b][a] += d;
            return authorsLoss(l, values, actions, rewards, OPTS);
          };
          expect(g[b * A + a]).toBeCloseTo((at(eps) - at(-eps)) / (2 * eps), 7);
        }
      }
    }
  });
});

/** A one-armed task: action 1 always pays 1, action 0 nothing (inputs: a constant 1). */
class Bandit implements Env {
  readonly inputSize = 1;
  readonly numActions = 2;
  #t = 0;
  constructor(readonly batchSize: number, readonly episodeLength: number) {}
  reset(): Float64Array {
    this.#t = 0;
    return new Float64Array(this.batchSize).fill(1);
  }
  step(actions: ArrayLike<number>): EnvStep {
    this.#t++;
    return { reward: Float64Array.from(actions, Number), obs: this.#t < this.episodeLength ? new Float64Array(this.batchSize).fill(1) : null };
  }
}

const tinyNet = (plasticity: Plasticity, env: Env, seed = 1, extra = {}) =>
  new PlasticRNN({ inputSize: env.inputSize, hiddenSize: 8, numActions: env.numActions, plasticity, rng: new bp.Rng(seed), ...extra });

describe('A2C training', () => {
  test('the policy gradient ascends: a bandit agent goes from chance to nearly always choosing the paying arm', async () => {
    const env = new Bandit(8, 4);
    const net = tinyNet('none', env);
    const rng = new bp.Rng(3);
    const trainer = new A2CTrainer(net, env, new bp.Adam(net.parameters(), { lr: 0.05 }), rng, { ...OPTS, entropyCoef: 0 });
    const rewards: number[] = [];
    for (let i = 0; i < 60; i++) rewards.push((await trainer.iteration(i)).reward);
    expect(rewards.slice(0, 5).reduce((a, b) => a + b) / 5).toBeLessThan(3);
    expect(rewards.slice(-5).reduce((a, b) => a + b) / 5).toBeGreaterThan(3.8);
  });

  test('one readback per step (the probabilities) and one per iteration (loss and gradient norm)', async () => {
    const env = new CueRewardEnv({ batchSize: 3, rng: new bp.Rng(1), episodeLength: 9 });
    const net = tinyNet('retroactive', env);
    let reads = 0;
    const read = backend.read.bind(backend);
    backend.read = (buf, n) => {
      reads++;
      return read(buf, n);
    };
    const r = await rollout(net, env, new bp.Rng(2), { train: false });
    expect(reads).toBe(9);
    reads = 0;
    const trainer = new A2CTrainer(net, env, new bp.Adam(net.parameters()), new bp.Rng(2), OPTS);
    await trainer.iteration(0);
    expect(reads).toBe(10);
    expect(r.logits).toBeNull();
  });

  test("the heads run once on every step's h stacked: the per-step outputs of step(), and the same loss gradients", async () => {
    const episode = () => new CueRewardEnv({ batchSize: 3, rng: new bp.Rng(1), episodeLength: 7 });
    const net = tinyNet('retroactive', episode());
    const grads = () => Promise.all(net.parameters().map(async (p) => [...(await p.grad!.data())]));
    const r = await rollout(net, episode(), new bp.Rng(2), { train: true });
    net.zeroGrad();
    a2cLoss(r, OPTS).backward();
    const viaRollout = await grads();

    // Replay the episode step by step with the recorded actions, the heads applied at each step.
    const env = episode();
    let obs: Float64Array | null = env.reset();
    let state = net.initialState(3);
    const [logits, values]: bp.Tensor[][] = [[], []];
    for (let t = 0; obs; t++) {
      const out = net.step(bp.tensor(obs, [3, env.inputSize]), state);
      [state, logits[t], values[t]] = [out.state, out.logits, out.value];
      obs = env.step(r.actions.subarray(3 * t, 3 * t + 3)).obs;
    }
    const replay = { ...r, logits: bp.concat(logits, 0), values: bp.concat(values, 0) };
    assertClose('logits', await r.logits!.data(), await replay.logits.data(), TIGHT);
    assertClose('values', await r.values!.data(), await replay.values.data(), TIGHT);
    net.zeroGrad();
    a2cLoss(replay, OPTS).backward();
    (await grads()).forEach((g, i) => assertClose(`d loss / d ${net.namedParameters()[i][0]}`, viaRollout[i], g, TIGHT));
  });

  test('burn-in: iterations before `burnIn` compute gradients but leave the parameters alone', async () => {
    const env = new CueRewardEnv({ batchSize: 2, rng: new bp.Rng(1), episodeLength: 6 });
    const net = tinyNet('neuromodulated', env);
    const trainer = new A2CTrainer(net, env, new bp.Adam(net.parameters(), { lr: 1e-2 }), new bp.Rng(2), { ...OPTS, burnIn: 2 });
    const snapshot = async () => Promise.all(net.parameters().map(async (p) => [...(await p.data())]));
    const before = await snapshot();
    const s0 = await trainer.iteration(0);
    const s1 = await trainer.iteration(1);
    expect(await snapshot()).toEqual(before);
    expect(net.w.grad).not.toBeNull();
    const s2 = await trainer.iteration(2);
    expect([s0.stepped, s1.stepped, s2.stepped]).toEqual([false, false, true]);
    expect(await snapshot()).not.toEqual(before);
  });

  test('a non-finite loss stops the iteration, names it, and leaves the parameters unchanged', async () => {
    const env = new CueRewardEnv({ batchSize: 2, rng: new bp.Rng(1), episodeLength: 5 });
    const net = tinyNet('hebbian', env);
    bp.assign(net.h2v.bias!, { data: Float64Array.from([NaN]), shape: [1] });
    const trainer = new A2CTrainer(net, env, new bp.Adam(net.parameters()), new bp.Rng(2), OPTS);
    const w = [...(await net.w.data())];
    await expect(trainer.iteration(7)).rejects.toThrow(/loss is NaN at iteration 7/);
    expect([...(await net.w.data())]).toEqual(w);
    // NaN policy probabilities stop the episode at the step where they appear.
    bp.assign(net.h2o.bias!, { data: Float64Array.from([NaN, 0]), shape: [2] });
    await expect(trainer.iteration(8)).rejects.toThrow(/policy probabilities of episode 0 are \[NaN, NaN\] at step 0 at iteration 8/);
  });

  test('device memory is the same after 6 iterations as after the first (traces checkpointed every 2 steps)', async () => {
    const env = new CueRewardEnv({ batchSize: 3, rng: new bp.Rng(1), episodeLength: 11 });
    const net = tinyNet('retroactive', env, 1, { checkpointEvery: 2 });
    const trainer = new A2CTrainer(net, env, new bp.Adam(net.parameters()), new bp.Rng(2), OPTS);
    await trainer.iteration(0);
    const after1 = backend.memory();
    for (let i = 1; i < 6; i++) await trainer.iteration(i);
    expect(backend.memory()).toEqual(after1);
    // An aborted episode frees what it had created.
    const controller = new AbortController();
    controller.abort();
    await expect(trainer.iteration(6, controller.signal)).rejects.toThrow(/abort/i);
    expect(backend.memory()).toEqual(after1);
  });

  test('evaluation: exactly N episodes in batches, no gradients, deterministic', async () => {
    const run = async () => {
      const env = new CueRewardEnv({ batchSize: 4, rng: new bp.Rng(5), episodeLength: 12 });
      const net = tinyNet('retroactive', env);
      const totals = await evaluateEpisodes(net, env, new bp.Rng(5), 10);
      expect(net.parameters().every((p) => p.grad === null)).toBe(true);
      return [...totals];
    };
    const a = await run();
    expect(a).toHaveLength(10);
    expect(a).toEqual(await run());
  });
});

describe('presets', () => {
  test.each(['none', 'hebbian', 'neuromodulated', 'retroactive'] as Plasticity[])('%s: parameter counts of the authors\' networks; one iteration of each task runs', async (plasticity) => {
    const count = (net: PlasticRNN) => net.parameters().reduce((a, p) => a + p.size, 0);
    const expected = {
      'cue-reward': { none: 46_203, hebbian: 86_204, neuromodulated: 86_405, retroactive: 86_406 },
      maze: { none: 22_523, hebbian: 22_731, neuromodulated: 22_406, retroactive: 22_407 },
    };
    for (const task of ['cue-reward', 'maze'] as const) {
      const cfg = defaultConfig(task, plasticity);
      const rng = new bp.Rng(0);
      const env = buildEnv(cfg, 2, rng);
      const net = buildNet(cfg, env, rng);
      expect(count(net), task).toBe(expected[task][plasticity]);
      net.dispose();
      // A tiny version of the same network trains.
      cfg.net.hiddenSize = 6;
      cfg.env.episodeLength = 8;
      const small = buildNet(cfg, env, rng);
      const trainer = new A2CTrainer(small, env, new bp.Adam(small.parameters(), cfg.adam), rng, { ...cfg.a2c, burnIn: 0 });
      const s = await trainer.iteration(0);
      expect(Number.isFinite(s.loss) && s.gradNorm > 0 && s.stepped).toBe(true);
    }
    // The maze's other non-plastic control: 100 neurons, 12,305 parameters.
    if (plasticity === 'none') {
      const cfg = defaultConfig('maze', 'none');
      cfg.net.hiddenSize = 100;
      const env = buildEnv(cfg, 1, new bp.Rng(0));
      expect(count(buildNet(cfg, env, new bp.Rng(0)))).toBe(12_305);
    }
  });

  test('the authors\' hyperparameters, and the paper text\'s variant', () => {
    const cue = defaultConfig('cue-reward', 'retroactive');
    expect(cue).toMatchObject({ batchSize: 30, adam: { lr: 1e-4, eps: 1e-6 }, net: { hiddenSize: 200, etaInit: 0.1, hebbClip: 'hard' } });
    expect(cue.a2c).toEqual({ gamma: 0.9, entropyCoef: 0.1, valueCoef: 0.1, gradClip: 2, burnIn: 101, baseline: 'own' });
    expect(cue.env).toMatchObject({ layout: 'code', episodeLength: 120, cues: 'random', numCues: 4, cueSize: 20, reward: 1, penalty: 0 });
    const maze = defaultConfig('maze', 'neuromodulated');
    expect(maze).toMatchObject({ batchSize: 30, adam: { lr: 1e-4, eps: 1e-4 }, net: { hiddenSize: 100, etaInit: 0.01 } });
    expect(maze.a2c).toMatchObject({ entropyCoef: 0.03, valueCoef: 0.1, gradClip: 4, gamma: 0.9 });
    expect(maze.env).toEqual({ size: 13, episodeLength: 200, reward: 10, wallPenalty: 0 });
    const paper = defaultConfig('cue-reward', 'neuromodulated', 'paper');
    expect([paper.env, paper.a2c.gradClip]).toMatchObject([{ layout: 'paper', episodeLength: 200 }, 7]);
    expect((defaultConfig('maze', 'none', 'paper').env as MazeConfig).size).toBe(11);
  });
});
