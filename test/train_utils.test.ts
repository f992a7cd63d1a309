/**
 * Training utilities: Rng, init, Module/Linear, SGD/Adam, clipGradNorm, NaN checks, safetensors and
 * atomic checkpoints. Optimizers are checked against plain-JS transcriptions of the torch.optim
 * update formulas, on the CPU backend in f64 (near-exact) and f32.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import * as bp from '../src/autograd/index.js';
import { CpuBackend } from '../src/kernels/cpu/cpu_backend.js';

const { Rng, Linear, Module } = bp;
type Tensor = bp.Tensor;

/** Relative tolerance for comparing with plain-JS float64 math. */
const TOL = { f64: 1e-12, f32: 2e-5 };

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tol = rtol * Math.max(1, Math.abs(expected[i]));
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      throw new Error(`index ${i}: got ${actual[i]}, expected ${expected[i]} (tol ${tol})`);
    }
  }
}

const data = async (t: Tensor): Promise<number[]> => [...(await t.data())];

/** Runs `lossFn` in a scope, backpropagates, frees the graph, returns the loss value. */
async function backwardOf(lossFn: () => Tensor): Promise<number> {
  const loss = bp.tidy(lossFn);
  loss.backward();
  const v = await loss.item();
  loss.dispose();
  return v;
}

// ------------------------------------------------------------------------------------------ Rng

describe('Rng', () => {
  test('matches the xoshiro128** reference output (prng.di.unimi.it C code)', () => {
    const rng = new Rng(0);
    rng.setState({ s: [1, 2, 3, 4] });
    expect([...Array(6)].map(() => rng.u32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
    rng.setState({ s: [0xdeadbeef, 0x01234567, 0x89abcdef, 0xcafebabe] });
    expect([...Array(4)].map(() => rng.u32())).toEqual([2576977298, 1162350735, 608706887, 3804210698]);
  });

  test('same seed gives the same sequence; different seeds differ', () => {
    const draw = (seed: number) => {
      const r = new Rng(seed);
      return [r.u32(), r.uniform(), r.normal(), r.int(10), r.categorical([0.2, 0.8]), ...r.shuffle([1, 2, 3, 4, 5])];
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(new Rng(2 ** 40).u32()).not.toBe(new Rng(0).u32());
  });

  test('state round-trips through JSON exactly', () => {
    const a = new Rng(7);
    for (let i = 0; i < 100; i++) a.normal();
    const b = new Rng(999);
    b.setState(JSON.parse(JSON.stringify(a.getState())));
    const seq = (r: bp.Rng) => [...Array(50)].map(() => r.normal() + r.uniform() + r.int(1000));
    expect(seq(b)).toEqual(seq(a));
    expect(() => b.setState({ s: [0, 0, 0, 0] })).toThrow(/not all zero/);
    expect(() => b.setState({ s: [1, 2, 3] } as never)).toThrow(RangeError);
  });

  test('distributions', () => {
    const rng = new Rng(1);
    const n = 20000;
    let sum = 0;
    let sq = 0;
    const counts = [0, 0, 0, 0];
    const cat = [0, 0, 0];
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      expect(u >= 0 && u < 1).toBe(true);
      const z = rng.normal();
      sum += z;
      sq += z * z;
      counts[rng.int(4)]++;
      cat[rng.categorical([1, 0, 3])]++;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.03);
    expect(Math.abs(Math.sqrt(sq / n) - 1)).toBeLessThan(0.03);
    for (const c of counts) expect(Math.abs(c / n - 0.25)).toBeLessThan(0.02);
    expect(cat[1]).toBe(0);
    expect(Math.abs(cat[2] / n - 0.75)).toBeLessThan(0.02);
    expect(rng.shuffle([...Array(20).keys()]).sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
    expect(() => rng.int(0)).toThrow(RangeError);
    expect(() => rng.categorical([0, 0])).toThrow(/sum to 0/);
    expect(() => rng.categorical([1, NaN])).toThrow(/probs\[1\]/);
  });
});

// ---------------------------------------------------------------------------- everything on a backend

describe.each(['f64', 'f32'] as const)('CpuBackend %s', (precision) => {
  let backend: CpuBackend;
  const rtol = TOL[precision];
  beforeEach(() => {
    backend = new CpuBackend(precision);
    bp.setBackend(backend);
  });

  // ------------------------------------------------------------------------------- init, Linear

  test('init: uniform, normal, kaimingUniform', async () => {
    const u = bp.uniform([1000], -2, 3, new Rng(3));
    const ud = await data(u);
    expect(Math.min(...ud)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...ud)).toBeLessThan(3);
    const r = new Rng(3);
    expectClose(ud.slice(0, 5), [...Array(5)].map(() => -2 + 5 * r.uniform()), rtol);

    const z = await data(bp.normal([4000], 0.5, new Rng(4), { mean: 2 }));
    const mean = z.reduce((a, b) => a + b) / z.length;
    const std = Math.sqrt(z.reduce((a, b) => a + (b - mean) ** 2, 0) / z.length);
    expect(Math.abs(mean - 2)).toBeLessThan(0.03);
    expect(Math.abs(std - 0.5)).toBeLessThan(0.02);

    expect(bp.fanIn([8, 3, 5])).toBe(15);
    const w = bp.kaimingUniform([8, 25], new Rng(5), { requiresGrad: true });
    expect(w.requiresGrad).toBe(true);
    for (const x of await data(w)) expect(Math.abs(x)).toBeLessThanOrEqual(1 / 5);
    expect(() => bp.fanIn([3])).toThrow(/at least 2 dims/);
  });

  test('Linear: PyTorch default init (weight then bias from one stream, bound 1/sqrt(in))', async () => {
    const lin = new Linear(9, 4, new Rng(11));
    expect(lin.weight.shape).toEqual([4, 9]);
    expect(lin.bias!.shape).toEqual([4]);
    expect(lin.namedParameters().map(([n]) => n)).toEqual(['weight', 'bias']);
    expect(lin.parameters().every((p) => p.requiresGrad)).toBe(true);
    const r = new Rng(11);
    const expected = [...Array(40)].map(() => (2 * r.uniform() - 1) / 3);
    expectClose([...(await data(lin.weight)), ...(await data(lin.bias!))], expected, rtol);
    for (const v of expected) expect(Math.abs(v)).toBeLessThanOrEqual(1 / 3);
    expect(new Linear(9, 4, new Rng(11), { bias: false }).parameters()).toHaveLength(1);
  });

  test('Linear: parameters survive the tidy they were created in', () => {
    let lin: bp.Linear | null = null;
    bp.tidy(() => {
      lin = new Linear(3, 2, new Rng(0));
    });
    expect(lin!.parameters().some((p) => p.isDisposed)).toBe(false);
  });

  test('Linear forward and backward match plain JS (random cotangent, batched input)', async () => {
    const [B, T, I, O] = [2, 3, 4, 5];
    const rng = new Rng(21);
    const lin = new Linear(I, O, rng);
    const xv = [...Array(B * T * I)].map(() => rng.normal());
    const dyv = [...Array(B * T * O)].map(() => rng.normal());
    const x = bp.tensor(xv, [B, T, I], { requiresGrad: true });
    const y = lin.forward(x);
    expect(y.shape).toEqual([B, T, O]);
    y.backward(bp.tensor(dyv, [B, T, O]));

    const W = await data(lin.weight);
    const b = await data(lin.bias!);
    const rows = B * T;
    const yRef: number[] = [];
    const dx = new Array<number>(rows * I).fill(0);
    const dW = new Array<number>(O * I).fill(0);
    const db = new Array<number>(O).fill(0);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < O; o++) {
        let acc = b[o];
        for (let i = 0; i < I; i++) acc += xv[r * I + i] * W[o * I + i];
        yRef.push(acc);
        const g = dyv[r * O + o];
        db[o] += g;
        for (let i = 0; i < I; i++) {
          dW[o * I + i] += g * xv[r * I + i];
          dx[r * I + i] += g * W[o * I + i];
        }
      }
    }
    expectClose(await data(y), yRef, rtol);
    expectClose(await data(x.grad!), dx, rtol);
    expectClose(await data(lin.weight.grad!), dW, rtol);
    expectClose(await data(lin.bias!.grad!), db, rtol);
  });

  // ------------------------------------------------------------------------------- Module

  class Mlp extends Module {
    readonly i2h: bp.Linear;
    readonly h2o: bp.Linear;
    constructor(rng: bp.Rng, hidden = 3) {
      super();
      this.i2h = this.registerModule('i2h', new Linear(2, hidden, rng));
      this.h2o = this.registerModule('h2o', new Linear(hidden, 1, rng));
    }
    forward(x: Tensor): Tensor {
      return this.h2o.forward(bp.tanh(this.i2h.forward(x)));
    }
  }

  test('Module: dotted names, stateDict round trip, zeroGrad, dispose', async () => {
    const before = backend.memory().bytesInUse;
    const a = new Mlp(new Rng(1));
    expect(a.namedParameters().map(([n, p]) => `${n}:${p.shape.join('x')}`)).toEqual([
      'i2h.weight:3x2', 'i2h.bias:3', 'h2o.weight:1x3', 'h2o.bias:1',
    ]);
    const b = new Mlp(new Rng(2));
    expect(await data(b.i2h.weight)).not.toEqual(await data(a.i2h.weight));
    expect(b.loadStateDict(a.stateDict())).toEqual({ missingKeys: [], unexpectedKeys: [] });
    for (const [name, p] of b.namedParameters()) expect(await data(p)).toEqual(await data(a.stateDict()[name]));

    await backwardOf(() => a.forward(bp.tensor([1, 2], [1, 2])).sum());
    expect(a.parameters().every((p) => p.grad)).toBe(true);
    a.zeroGrad();
    expect(a.parameters().every((p) => p.grad === null)).toBe(true);
    a.dispose();
    b.dispose();
    expect(backend.memory().bytesInUse).toBe(before);
    expect(() => a.i2h.weight.buf).toThrow(bp.DisposedError);
  });

  test('Module.loadStateDict: errors name every bad key and change nothing', async () => {
    const m = new Mlp(new Rng(1));
    const original = await data(m.i2h.weight);
    const dict: Record<string, Tensor | bp.HostTensor> = {
      'i2h.weight': { data: new Float64Array(6).fill(9), shape: [3, 2] },
      'i2h.bias': bp.zeros([4]),
      'h2o.weight': bp.zeros([1, 3]),
      extra: bp.zeros([1]),
    };
    expect(() => m.loadStateDict(dict)).toThrow(
      "loadStateDict(Mlp): missing key(s): 'h2o.bias'; unexpected key(s): 'extra'; size mismatch for 'i2h.bias': the dict has [4], the module has [3]",
    );
    expect(await data(m.i2h.weight)).toEqual(original);
    dict['i2h.bias'] = bp.zeros([3]);
    expect(() => m.loadStateDict(dict)).toThrow(/missing key\(s\): 'h2o.bias'/);
    // strict: false loads what matches (host arrays included) and reports the rest, as torch.
    expect(m.loadStateDict(dict, { strict: false })).toEqual({ missingKeys: ['h2o.bias'], unexpectedKeys: ['extra'] });
    expect(await data(m.i2h.weight)).toEqual([9, 9, 9, 9, 9, 9]);
    expect(() => m.registerParameter('i2h', bp.zeros([1]))).toThrow(/already registered/);
    expect(() => m.registerParameter('a.b', bp.zeros([1]))).toThrow(/no '\.'/);
  });

  // ------------------------------------------------------------------------------- optimizers

  /** f(p) = ½ Σ a_i (p_i − c_i)², so ∇f = a ⊙ (p − c). */
  const A = [1, 3, 0.5, 2, 0.25, 4];
  const C = [0.5, -1, 2, 0, 1, -0.5];
  const P0 = [1, 2, -1, 0.5, -2, 1];
  const quadGrad = (p: number[], off: number) => p.map((x, i) => A[off + i] * (x - C[off + i]));

  function quadLoss(p: Tensor, off: number): Tensor {
    const a = bp.tensor(A.slice(off, off + p.size), p.shape);
    const c = bp.tensor(C.slice(off, off + p.size), p.shape);
    return bp.mul(a, bp.square(bp.sub(p, c))).sum().mul(0.5);
  }

  /**
   * Two parameters; `q` gets its first gradient only at step 3, so the reference must follow
   * torch in creating its state (momentum buffer, Adam step count) lazily.
   */
  async function runQuadratic(
    makeOpt: (params: Tensor[]) => bp.Optimizer<object>,
    update: (p: number[], g: number[], state: Record<string, number[]>, t: number) => void,
    steps: number,
  ): Promise<void> {
    const p = bp.tensor(P0.slice(0, 4), [2, 2], { requiresGrad: true });
    const q = bp.tensor(P0.slice(4), [2], { requiresGrad: true });
    const opt = makeOpt([p, q]);
    const ref = { p: P0.slice(0, 4), q: P0.slice(4) };
    const state = { p: {} as Record<string, number[]>, q: {} as Record<string, number[]> };
    const t = { p: 0, q: 0 };
    for (let s = 1; s <= steps; s++) {
      await backwardOf(() => (s >= 3 ? bp.add(quadLoss(p, 0), quadLoss(q, 4)) : quadLoss(p, 0)));
      opt.step();
      opt.zeroGrad();
      update(ref.p, quadGrad(ref.p, 0), state.p, ++t.p);
      if (s >= 3) update(ref.q, quadGrad(ref.q, 4), state.q, ++t.q);
      expectClose(await data(p), ref.p, rtol);
      expectClose(await data(q), ref.q, rtol);
    }
    expect(p.grad).toBeNull();
    opt.dispose();
  }

  /** torch.optim.SGD._single_tensor_sgd, dampening 0, nesterov off. */
  const sgdRef = (lr: number, momentum: number, wd: number) => (p: number[], g: number[], st: Record<string, number[]>) => {
    for (let i = 0; i < p.length; i++) {
      let d = g[i] + wd * p[i];
      if (momentum !== 0) {
        st.buf ??= [];
        st.buf[i] = st.buf[i] === undefined ? d : momentum * st.buf[i] + d;
        d = st.buf[i];
      }
      p[i] -= lr * d;
    }
  };

  /** torch.optim.Adam._single_tensor_adam, amsgrad off. */
  const adamRef = (lr: number, b1: number, b2: number, eps: number, wd: number) =>
    (p: number[], g: number[], st: Record<string, number[]>, t: number) => {
      st.m ??= p.map(() => 0);
      st.v ??= p.map(() => 0);
      for (let i = 0; i < p.length; i++) {
        const d = g[i] + wd * p[i];
        st.m[i] = b1 * st.m[i] + (1 - b1) * d;
        st.v[i] = b2 * st.v[i] + (1 - b2) * d * d;
        const mHat = st.m[i] / (1 - b1 ** t);
        const vHat = st.v[i] / (1 - b2 ** t);
        p[i] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
      }
    };

  test('SGD (plain) matches torch.optim.SGD', async () => {
    await runQuadratic((ps) => new bp.SGD(ps, { lr: 0.1 }), sgdRef(0.1, 0, 0), 6);
  });

  test('SGD with momentum and weight decay matches torch.optim.SGD', async () => {
    await runQuadratic((ps) => new bp.SGD(ps, { lr: 0.05, momentum: 0.9, weightDecay: 0.01 }), sgdRef(0.05, 0.9, 0.01), 6);
  });

  test('Adam with weight decay matches torch.optim.Adam (bias correction per parameter)', async () => {
    await runQuadratic(
      (ps) => new bp.Adam(ps, { lr: 0.1, betas: [0.8, 0.99], eps: 1e-8, weightDecay: 0.02 }),
      adamRef(0.1, 0.8, 0.99, 1e-8, 0.02),
      6,
    );
  });

  test('optimizer options are validated', () => {
    const p = bp.zeros([1], { requiresGrad: true });
    expect(() => new bp.SGD([p], { lr: -1 })).toThrow('SGD: invalid lr: -1');
    expect(() => new bp.Adam([p], { betas: [0.9, 1] })).toThrow(/betas/);
    expect(() => new bp.Adam([p, p])).toThrow(/appears twice/);
  });

  test('optimizer stateDict round trip resumes exactly; bad state is rejected', async () => {
    const make = () => [bp.tensor(P0.slice(0, 4), [2, 2], { requiresGrad: true }), bp.tensor(P0.slice(4), [2], { requiresGrad: true })];
    const stepBoth = async (ps: Tensor[], opt: bp.Optimizer<object>) => {
      await backwardOf(() => bp.add(quadLoss(ps[0], 0), quadLoss(ps[1], 4)));
      opt.step();
      opt.zeroGrad();
    };
    for (const [name, ctor] of [
      ['adam', (ps: Tensor[]) => new bp.Adam(ps, { lr: 0.05, weightDecay: 0.01 })],
      ['sgd', (ps: Tensor[]) => new bp.SGD(ps, { lr: 0.05, momentum: 0.9 })],
    ] as const) {
      const a = make();
      const optA = ctor(a);
      for (let i = 0; i < 3; i++) await stepBoth(a, optA);
      const sd = optA.stateDict();
      expect(Object.keys(sd.tensors).sort()).toEqual(name === 'adam' ? ['0.exp_avg', '0.exp_avg_sq', '1.exp_avg', '1.exp_avg_sq'] : ['0.momentum_buffer', '1.momentum_buffer']);
      expect(sd.meta.steps).toEqual({ 0: 3, 1: 3 });
      // Through JSON and host arrays, as a checkpoint carries them.
      const meta = JSON.parse(JSON.stringify(sd.meta));
      const host: Record<string, bp.HostTensor> = {};
      for (const [k, t] of Object.entries(sd.tensors)) host[k] = { data: await t.data(), shape: t.shape };

      const b = make();
      for (const [i, p] of b.entries()) bp.assign(p, a[i]);
      const optB = ctor(b);
      optB.options.lr = 123; // restored from the state dict, as torch restores param_groups
      optB.loadStateDict({ tensors: host, meta });
      expect(optB.options.lr).toBe(0.05);
      for (let i = 0; i < 3; i++) {
        await stepBoth(a, optA);
        await stepBoth(b, optB);
      }
      for (const [i, p] of b.entries()) expect(await data(p)).toEqual(await data(a[i]));

      const slot = name === 'adam' ? 'exp_avg' : 'momentum_buffer';
      expect(() => optB.loadStateDict({ tensors: { ...host, [`1.${slot}`]: { data: new Float32Array(3), shape: [3] } }, meta })).toThrow(
        `${name === 'adam' ? 'Adam' : 'SGD'}.loadStateDict: '1.${slot}' is [3] but parameter 1 is [2]`,
      );
      expect(() => optB.loadStateDict({ tensors: { ...host, '7.x': host[`0.${slot}`] }, meta })).toThrow(/unexpected state tensor\(s\) '7.x'/);
      const missing = { ...host };
      delete missing[`0.${slot}`];
      expect(() => optB.loadStateDict({ tensors: missing, meta })).toThrow(`'0.${slot}' is missing`);
      optA.dispose();
      optB.dispose();
    }
  });

  // ------------------------------------------------------------------------------- clipGradNorm

  describe('clipGradNorm (torch.nn.utils.clip_grad_norm_)', () => {
    const G = [[3, -4, 1, 2], [0.5, -2]];
    const setup = () =>
      G.map((g) => {
        const p = bp.zeros([g.length], { requiresGrad: true });
        p.grad = bp.tensor(g, [g.length]);
        return p;
      });
    const refNorm = (p: number) => {
      const all = G.flat();
      return p === Infinity ? Math.max(...all.map(Math.abs)) : all.reduce((a, x) => a + Math.abs(x) ** p, 0) ** (1 / p);
    };

    test.each([2, 1, 3, Infinity])('norm %s: clip active and inactive', async (normType) => {
      const total = refNorm(normType);
      for (const maxNorm of [total / 3, total * 2]) {
        const ps = setup();
        const noGradParam = bp.zeros([2], { requiresGrad: true });
        const norm = bp.clipGradNorm([...ps, noGradParam], maxNorm, normType);
        expect(norm.shape).toEqual([]);
        expectClose([await norm.item()], [total], rtol);
        const coef = Math.min(1, maxNorm / (total + 1e-6));
        for (const [i, p] of ps.entries()) expectClose(await data(p.grad!), G[i].map((g) => g * coef), rtol);
        expect(noGradParam.grad).toBeNull();
        if (maxNorm < total) expect(coef).toBeLessThan(1);
        for (const p of ps) p.dispose();
        norm.dispose();
      }
    });

    test('no gradients: norm 0, and no leaked tensors', async () => {
      const before = backend.memory().bytesInUse;
      const ps = setup();
      bp.clipGradNorm(ps, 1).dispose();
      for (const p of ps) p.dispose();
      expect(backend.memory().bytesInUse).toBe(before);
      expect(await bp.clipGradNorm([bp.zeros([1])], 1).item()).toBe(0);
      expect(() => bp.clipGradNorm([], 1, 0)).toThrow(/normType/);
    });
  });

  // ------------------------------------------------------------------------------- NaN checks

  test('assertFinite and findNonFinite name the tensor', async () => {
    await bp.assertFinite(bp.scalar(1.5), 'loss', 3);
    await expect(bp.assertFinite(bp.scalar(NaN), 'loss', 12)).rejects.toThrow('loss is NaN at step 12');
    await expect(bp.assertFinite(bp.scalar(NaN), 'loss', 12)).rejects.toBeInstanceOf(bp.NonFiniteError);
    await expect(bp.assertFinite(bp.tensor([1, Infinity, NaN], [3]), 'h')).rejects.toThrow(
      'h [3] has 2 non-finite values (first: Infinity at flat index 1)',
    );
    const m = new Mlp(new Rng(0));
    await bp.findNonFinite(m.namedParameters());
    bp.assign(m.i2h.weight, { data: new Float64Array([1, NaN, 2, -Infinity, NaN, 0]), shape: [3, 2] });
    bp.assign(m.h2o.bias!, { data: new Float64Array([Infinity]), shape: [1] });
    await expect(bp.findNonFinite(m.namedParameters(), { step: 5 })).rejects.toThrow(
      "parameter 'i2h.weight' [3,2] has 3 non-finite values (first: NaN at flat index 1); parameter 'h2o.bias' is Infinity at step 5",
    );
    m.dispose();
  });

  // ------------------------------------------------------------------------------- training

  test('an MLP (Linear-tanh-Linear) fits a toy regression with Adam, without leaking memory', async () => {
    const rng = new Rng(123);
    const n = 64;
    const xs = [...Array(n)].map((_, i) => -2 + (4 * i) / (n - 1));
    const x = bp.tensor(xs.flatMap((v) => [v, v * v / 4]), [n, 2]);
    const y = bp.tensor(xs.map((v) => Math.sin(1.5 * v)), [n, 1]);
    const model = new Mlp(rng, 16);
    const opt = new bp.Adam(model.parameters(), { lr: 0.03 });
    let loss = Infinity;
    let memAfterFirst = 0;
    for (let step = 1; step <= 400; step++) {
      loss = await backwardOf(() => bp.square(bp.sub(model.forward(x), y)).mean());
      bp.clipGradNorm(model.parameters(), 5).dispose();
      opt.step();
      opt.zeroGrad();
      if (step === 1) memAfterFirst = backend.memory().bytesInUse;
      if (step % 100 === 0) await bp.findNonFinite(model.namedParameters(), { step });
    }
    // The initial MSE is about 0.5 (the variance of sin(1.5x) on [-2, 2]).
    expect(loss).toBeLessThan(0.005);
    expect(backend.memory().bytesInUse).toBe(memAfterFirst);
    model.dispose();
    opt.dispose();
  });

  // ------------------------------------------------------------------------------- checkpoints

  describe('checkpoints', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'bp-ckpt-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    test('save and load round trip (F64 on the f64 backend, F32 otherwise), with metadata', async () => {
      const path = join(dir, `rt-${precision}.safetensors`);
      const t = bp.tensor([1.1, -2.2, 3.3, 1e-30, -0, 7], [2, 3]);
      await bp.saveCheckpoint(path, { w: t, s: bp.scalar(4) }, { iteration: '17', json: JSON.stringify({ a: [1, 2] }) });
      const { tensors, metadata } = await bp.loadCheckpoint(path);
      expect(metadata).toEqual({ iteration: '17', json: '{"a":[1,2]}' });
      expect(tensors.w.shape).toEqual([2, 3]);
      expect(tensors.w.data).toBeInstanceOf(precision === 'f64' ? Float64Array : Float32Array);
      expect([...tensors.w.data]).toEqual(await data(t)); // bit-exact in the backend's precision
      expect(tensors.s).toEqual({ data: precision === 'f64' ? new Float64Array([4]) : new Float32Array([4]), shape: [] });
    });

    test('a crash before the rename leaves the previous checkpoint intact', async () => {
      const path = join(dir, `atomic-${precision}.safetensors`);
      await bp.saveCheckpoint(path, { w: bp.tensor([1, 2, 3]) }, { v: '1' });
      const crash = new Error('simulated crash');
      let tmpSeen = '';
      await expect(
        bp.saveCheckpoint(path, { w: bp.tensor([9, 9, 9]) }, { v: '2' }, {
          beforeRename: (tmp) => {
            tmpSeen = tmp;
            throw crash;
          },
        }),
      ).rejects.toBe(crash);
      expect(tmpSeen.startsWith(`${path}.tmp-${process.pid}-`)).toBe(true);
      const loaded = await bp.loadCheckpoint(path);
      expect(loaded.metadata.v).toBe('1');
      expect([...loaded.tensors.w.data]).toEqual([1, 2, 3]);
      expect((await readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);

      // A killed process leaves a torn temp file behind: the target is unaffected, and the next save works.
      await writeFile(`${path}.tmp-99999-dead`, new Uint8Array([42, 0, 0, 0, 0, 0, 0, 0, 123]));
      expect((await bp.loadCheckpoint(path)).metadata.v).toBe('1');
      await bp.saveCheckpoint(path, { w: bp.tensor([4, 5, 6]) }, { v: '3' });
      expect([...(await bp.loadCheckpoint(path)).tensors.w.data]).toEqual([4, 5, 6]);
      await expect(bp.loadCheckpoint(`${path}.tmp-99999-dead`)).rejects.toThrow(/header length 42/);
    });

    test('model + optimizer + Rng checkpoint: a resumed run matches an uninterrupted one exactly', async () => {
      const path = join(dir, `resume-${precision}.safetensors`);
      /** One step on a minibatch drawn from `rng`, so the data order is part of the state. */
      const trainStep = async (model: Mlp, opt: bp.Adam, rng: bp.Rng) => {
        const xs = [...Array(8)].map(() => rng.uniform() * 4 - 2);
        const x = bp.tensor(xs.flatMap((v) => [v, v * v]), [8, 2]);
        const y = bp.tensor(xs.map(Math.sin), [8, 1]);
        await backwardOf(() => bp.square(bp.sub(model.forward(x), y)).mean());
        opt.step();
        opt.zeroGrad();
        x.dispose();
        y.dispose();
      };
      const modelA = new Mlp(new Rng(5), 8);
      const optA = new bp.Adam(modelA.parameters(), { lr: 0.01 });
      const rngA = new Rng(6);
      for (let i = 0; i < 3; i++) await trainStep(modelA, optA, rngA);

      const osd = optA.stateDict();
      const tensors = { ...modelA.stateDict() };
      for (const [k, t] of Object.entries(osd.tensors)) tensors[`optim.${k}`] = t;
      await bp.saveCheckpoint(path, tensors, { optim: JSON.stringify(osd.meta), rng: JSON.stringify(rngA.getState()), iteration: '3' });
      for (let i = 0; i < 3; i++) await trainStep(modelA, optA, rngA);

      const ck = await bp.loadCheckpoint(path);
      const modelB = new Mlp(new Rng(99), 8);
      const optB = new bp.Adam(modelB.parameters());
      const rngB = new Rng(0);
      const model: Record<string, bp.HostTensor> = {};
      const optim: Record<string, bp.HostTensor> = {};
      for (const [k, t] of Object.entries(ck.tensors)) {
        if (k.startsWith('optim.')) optim[k.slice(6)] = t;
        else model[k] = t;
      }
      modelB.loadStateDict(model);
      optB.loadStateDict({ tensors: optim, meta: JSON.parse(ck.metadata.optim) });
      rngB.setState(JSON.parse(ck.metadata.rng));
      expect(ck.metadata.iteration).toBe('3');
      for (let i = 0; i < 3; i++) await trainStep(modelB, optB, rngB);

      for (const [name, p] of modelB.namedParameters()) expect(await data(p), name).toEqual(await data(modelA.stateDict()[name]));
      for (const m of [modelA, modelB]) m.dispose();
      for (const o of [optA, optB]) o.dispose();
    });
  });
});

// ------------------------------------------------------------------------------------ safetensors

describe('safetensors', () => {
  /** Little-endian bytes of float32 / float64 values. */
  const f32le = (xs: number[]) => new Uint8Array(new Float32Array(xs).buffer);
  const f64le = (xs: number[]) => new Uint8Array(new Float64Array(xs).buffer);

  test('header layout: u64 LE length, JSON, space padding to 8 bytes, then raw LE data by dtype size and name', () => {
    const bytes = bp.encodeSafetensors(
      {
        zeta: { data: new Float32Array([1, -2]), shape: [2] },
        alpha: { data: new Float32Array([0.5]), shape: [1, 1] },
        mid: { data: new Float64Array([3.25]), shape: [] },
      },
      { format: 'pt' },
    );
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = Number(view.getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    const json =
      '{"__metadata__":{"format":"pt"},' +
      '"mid":{"dtype":"F64","shape":[],"data_offsets":[0,8]},' +
      '"alpha":{"dtype":"F32","shape":[1,1],"data_offsets":[8,12]},' +
      '"zeta":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}';
    expect(headerText).toBe(json + ' '.repeat(n - json.length));
    expect(n - json.length).toBeLessThan(8);
    expect(bytes.length).toBe(8 + n + 20);
    expect([...bytes.subarray(8 + n)]).toEqual([...f64le([3.25]), ...f32le([0.5]), ...f32le([1, -2])]);
  });

  test('encode → decode round trip', () => {
    const tensors = {
      a: { data: new Float32Array([1.5, -0, Infinity, NaN, 3.4028234663852886e38, 1e-45]), shape: [2, 3] },
      b: { data: new Float64Array([Math.PI, -1e-300]), shape: [2] },
      empty: { data: new Float32Array(0), shape: [0, 4] },
    };
    const back = bp.decodeSafetensors(bp.encodeSafetensors(tensors, { step: '12' }));
    expect(back.metadata).toEqual({ step: '12' });
    expect(back.tensors).toEqual(tensors);
    expect(bp.decodeSafetensors(bp.encodeSafetensors({})).tensors).toEqual({});
  });

  test('decodes a file written by hand per the spec (F32, F16, BF16; unaligned header; Buffer slice)', () => {
    const header = JSON.stringify({
      b: { dtype: 'F16', shape: [4], data_offsets: [8, 16] },
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      c: { dtype: 'BF16', shape: [1], data_offsets: [16, 18] },
      __metadata__: { note: 'hand-made' },
    });
    const h = new TextEncoder().encode(header); // not padded: readers must not rely on it
    const body = [
      ...f32le([1.5, -2]),
      ...[0x3c00, 0xc000, 0x7bff, 0x0001].flatMap((x) => [x & 0xff, x >> 8]), // 1, -2, 65504, 2^-24
      0x80, 0x3f, // bf16 1.0
    ];
    const file = new Uint8Array(3 + 8 + h.length + body.length).subarray(3); // odd byteOffset
    new DataView(file.buffer, file.byteOffset).setUint32(0, h.length, true);
    file.set(h, 8);
    file.set(body, 8 + h.length);
    const { tensors, metadata } = bp.decodeSafetensors(file);
    expect(metadata).toEqual({ note: 'hand-made' });
    expect(tensors.a).toEqual({ data: new Float32Array([1.5, -2]), shape: [2] });
    expect(tensors.b).toEqual({ data: new Float32Array([1, -2, 65504, 2 ** -24]), shape: [4] });
    expect(tensors.c).toEqual({ data: new Float32Array([1]), shape: [1] });
  });

  test('corrupt files are rejected with the reason', () => {
    const good = bp.encodeSafetensors({ w: { data: new Float32Array([1, 2]), shape: [2] } });
    expect(() => bp.decodeSafetensors(good.subarray(0, 5))).toThrow(/too short/);
    expect(() => bp.decodeSafetensors(good.subarray(0, good.length - 1))).toThrow(/data_offsets \[0,8\] lie outside the 7 data bytes/);
    const withTail = new Uint8Array(good.length + 4);
    withTail.set(good);
    expect(() => bp.decodeSafetensors(withTail)).toThrow(/4 trailing data bytes/);
    const mk = (entry: object) => {
      const h = new TextEncoder().encode(JSON.stringify({ w: entry }));
      const f = new Uint8Array(8 + h.length + 8);
      new DataView(f.buffer).setUint32(0, h.length, true);
      f.set(h, 8);
      return f;
    };
    expect(() => bp.decodeSafetensors(mk({ dtype: 'I64', shape: [1], data_offsets: [0, 8] }))).toThrow(/unsupported dtype "I64"/);
    expect(() => bp.decodeSafetensors(mk({ dtype: 'F32', shape: [3], data_offsets: [0, 8] }))).toThrow(/needs 12 bytes/);
    expect(() => bp.encodeSafetensors({ w: { data: new Float32Array(3), shape: [2] } })).toThrow(/3 values but shape \[2\]/);
    expect(() => bp.encodeSafetensors({}, { n: 1 as unknown as string })).toThrow(/metadata 'n' must be a string/);
  });
});
