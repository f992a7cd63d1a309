/**
 * Graph semantics on the CPU backend (float64): gradient accumulation, shared subexpressions,
 * very deep graphs, retainGraph, noGrad, tidy/keep/dispose lifetimes, leak-freedom, and the
 * messages of the errors users will meet. Expected values are plain-JS math written here.
 */
import { beforeEach, describe, expect, test, vi } from 'vitest';
import * as bp from '../src/autograd/index.js';
import type { Backend } from '../src/kernels/backend.js';
import { CpuBackend } from '../src/kernels/cpu/cpu_backend.js';
import { runOp, type OpDef } from '../src/autograd/graph.js';
import { describeWebGPU, getTestBackends } from './helpers/backends.js';
import { assertClose } from './helpers/check_op.js';

await getTestBackends();

const TIGHT = { atol: 1e-12, rtol: 1e-12 };

let backend: CpuBackend;
beforeEach(() => {
  backend = new CpuBackend('f64');
  bp.setBackend(backend);
});

const host = async (t: bp.Tensor): Promise<number[]> => Array.from(await t.data());

/** Runs `fn` and expects it to throw an error of `type` whose message contains every fragment. */
function expectThrowMentioning(fn: () => unknown, type: new (...args: never[]) => Error, fragments: string[]): void {
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected an error').toBeInstanceOf(type);
  const message = (caught as Error).message;
  for (const f of fragments) expect(message).toContain(f);
}

describe('gradient flow', () => {
  test('two backward calls accumulate into .grad (PyTorch semantics)', async () => {
    const xs = [0.5, -1.25, 2];
    const x = bp.tensor(xs, [3], { requiresGrad: true });
    for (let i = 0; i < 2; i++) bp.tidy(() => bp.sum(bp.mul(x, x)).backward());
    assertClose('x.grad after two backward calls', await host(x.grad!), xs.map((v) => 2 * (2 * v)), TIGHT);
    // A third call with a different function adds on top.
    bp.tidy(() => bp.sum(bp.scale(x, 3)).backward());
    assertClose('x.grad after a third call', await host(x.grad!), xs.map((v) => 4 * v + 3), TIGHT);
    x.dispose();
  });

  test('a tensor used twice gets the sum of both paths', async () => {
    const xs = [0.3, -0.7, 1.1, 0.05];
    const x = bp.tensor(xs, [2, 2], { requiresGrad: true });
    const loss = bp.tidy(() => {
      const h = bp.tanh(x);
      // L = Σ h·h + 2h, so dL/dx = (2h + 2)(1 − h²)
      return bp.sum(bp.add(bp.mul(h, h), bp.scale(h, 2)));
    });
    loss.backward();
    const want = xs.map((v) => (2 * Math.tanh(v) + 2) * (1 - Math.tanh(v) ** 2));
    assertClose('shared subexpression grad', await host(x.grad!), want, TIGHT);
    bp.dispose([x, loss]);
  });

  test('a tensor with 20 consumers gets its gradients summed by addN, 7 at a time: 4 kernels, not 19 adds', async () => {
    const xs = [0.4, -1.2, 0.9];
    const x = bp.tensor(xs, [3], { requiresGrad: true });
    const addN = vi.spyOn(backend, 'addN');
    const binary = vi.spyOn(backend, 'binary');
    const loss = bp.tidy(() => {
      // L = Σ_k Σ_i k·x_i + Σ_k Σ_i k·e^{x_i}: x and e^x (a leaf and an intermediate) have 20 consumers each.
      const e = bp.exp(x);
      const terms = Array.from({ length: 20 }, (_, k) => bp.sum(bp.add(bp.scale(x, k), bp.scale(e, k))));
      return bp.addN(terms);
    });
    const [addNForward, binaryForward] = [addN.mock.calls.length, binary.mock.calls.length];
    loss.backward();
    // Σ_k k = 190: dL/dx_i = 190·(1 + e^{x_i}).
    assertClose('20-consumer grad', await host(x.grad!), xs.map((v) => 190 * (1 + Math.exp(v))), TIGHT);
    // 4 addN each for e's 20 parts (7 → 1, +6 → 1, +6 → 1, +1 → 1) and for x's 21 (its 20 scales
    // and exp's backward).
    expect(addN.mock.calls.length - addNForward).toBe(8);
    expect(binary.mock.calls.slice(binaryForward).filter(([op]) => op === 'add')).toEqual([]);
    bp.dispose([x, loss]);
  });

  test("an op that adds up its output's gradient parts gets them unsummed, up to its limit", async () => {
    // y = 2x, whose backward sums dy's parts itself (OpDef.sumsGradParts) and records how many came.
    const seen: number[] = [];
    const twice: OpDef<null> = {
      name: 'twice',
      forward: (k, [x]) => [{ buf: k.unary('affine', x.buf, x.size, 2, 0), shape: x.shape }],
      sumsGradParts: 2,
      backward: (dys, { dyParts }) => {
        expect(dys[0]).toBeNull();
        seen.push(dyParts.length);
        return [bp.scale(dyParts.length > 1 ? bp.addN(dyParts) : dyParts[0], 2)];
      },
    };
    const xs = [0.5, -1.5];
    for (const consumers of [1, 2, 3]) {
      const x = bp.tensor(xs, [2], { requiresGrad: true });
      const addN = vi.spyOn(backend, 'addN');
      const loss = bp.tidy(() => {
        const [y] = runOp(twice, [x], null);
        return bp.addN(Array.from({ length: consumers }, (_, k) => bp.sum(bp.scale(y, k + 1))));
      });
      const forward = addN.mock.calls.length;
      loss.backward();
      // dL/dx = 2·Σ_k (k + 1)
      assertClose(`${consumers} consumers`, await host(x.grad!), xs.map(() => consumers * (consumers + 1)), TIGHT);
      // 3 parts are over the limit: the walk sums them first (one addN), the op gets one.
      expect(seen.pop()).toBe(consumers > 2 ? 1 : consumers);
      expect(addN.mock.calls.length - forward).toBe(consumers > 1 ? 1 : 0);
      addN.mockRestore();
      bp.dispose([x, loss]);
    }
  });

  test('a diamond (one node feeding two branches that rejoin) sums its gradients', async () => {
    const xs = [0.2, -0.4, 0.9];
    const x = bp.tensor(xs, [3], { requiresGrad: true });
    const w = bp.tensor([1.5, -2, 0.25], [3], { requiresGrad: true });
    const loss = bp.tidy(() => {
      const a = bp.exp(bp.mul(x, w));
      return bp.sum(bp.add(bp.scale(a, 2), bp.mul(a, a)));
    });
    loss.backward();
    // L = Σ 2a + a², a = exp(xw): dL/dx = (2 + 2a)·a·w, dL/dw = (2 + 2a)·a·x
    const ws = [1.5, -2, 0.25];
    const a = xs.map((v, i) => Math.exp(v * ws[i]));
    assertClose('diamond dx', await host(x.grad!), a.map((ai, i) => (2 + 2 * ai) * ai * ws[i]), TIGHT);
    assertClose('diamond dw', await host(w.grad!), a.map((ai, i) => (2 + 2 * ai) * ai * xs[i]), TIGHT);
    bp.dispose([x, w, loss]);
  });

  test('only leaves that require grad receive one; intermediates keep grad null', async () => {
    const x = bp.tensor([1, 2], [2], { requiresGrad: true });
    const c = bp.tensor([3, 4], [2]);
    const mid = bp.mul(x, c);
    const loss = bp.sum(bp.exp(mid));
    loss.backward();
    expect(c.grad).toBeNull();
    expect(mid.grad).toBeNull();
    expect(mid.requiresGrad).toBe(true);
    assertClose('dx', await host(x.grad!), [3 * Math.exp(3), 4 * Math.exp(8)], TIGHT);
    bp.dispose([x, c, mid, loss]);
  });

  test('backward of a leaf seeds its own gradient; an explicit cotangent is used as given', async () => {
    const x = bp.tensor([2], [1], { requiresGrad: true });
    x.backward();
    expect(await host(x.grad!)).toEqual([1]);
    const y = bp.tensor([1, 2, 3, 4], [2, 2], { requiresGrad: true });
    const z = bp.mul(y, 3);
    z.backward(bp.tensor([1, -1, 2, -2], [2, 2]));
    expect(await host(y.grad!)).toEqual([3, -3, 6, -6]);
    bp.dispose([x, y, z]);
  });

  test('a 5000-step chain backpropagates through every step', async () => {
    const steps = 5000;
    const x = bp.tensor([0.3, -0.2], [2], { requiresGrad: true });
    const loss = bp.tidy(() => {
      // h ← h + 0.01·tanh(h): a recurrence like an unrolled RNN
      let h: bp.Tensor = x;
      for (let i = 0; i < steps; i++) h = bp.add(h, bp.scale(bp.tanh(h), 0.01));
      return bp.sum(h);
    });
    loss.backward();
    // Plain JS forward and reverse sweep of the same recurrence.
    const want = [0.3, -0.2].map((x0) => {
      const hs = [x0];
      for (let i = 0; i < steps; i++) hs.push(hs[i] + 0.01 * Math.tanh(hs[i]));
      let g = 1;
      for (let i = steps - 1; i >= 0; i--) g *= 1 + 0.01 * (1 - Math.tanh(hs[i]) ** 2);
      return g;
    });
    assertClose('5000-step chain grad', await host(x.grad!), want, { atol: 1e-10, rtol: 1e-10 });
    bp.dispose([x, loss]);
    expect(backend.memory().bytesInUse).toBe(0);
  });

  test('backward and graph release are iterative: a 100 000-node chain does not overflow the stack', async () => {
    const steps = 100_000;
    const x = bp.tensor([1], [1], { requiresGrad: true });
    const loss = bp.tidy(() => {
      let h: bp.Tensor = x;
      for (let i = 0; i < steps; i++) h = bp.affine(h, 1, 0.5);
      return h;
    });
    // Recursion per node would need far more frames than V8's default stack (about 10k) allows.
    loss.backward();
    expect(await host(x.grad!)).toEqual([1]);
    expect(await host(loss)).toEqual([1 + steps * 0.5]);
    bp.dispose([x, loss]);
    expect(backend.memory().bytesInUse).toBe(0);
  });

  test('an unused long chain is released without recursion when its output is disposed', () => {
    const x = bp.tensor([1], [1], { requiresGrad: true });
    const y = bp.tidy(() => {
      let h: bp.Tensor = x;
      // mul saves its inputs, so each node holds memory until the chain is released.
      for (let i = 0; i < 50_000; i++) h = bp.mul(h, x);
      return h;
    });
    expect(backend.memory().bytesInUse).toBeGreaterThan(50_000 * 8);
    y.dispose();
    x.dispose();
    expect(backend.memory().bytesInUse).toBe(0);
  });
});

describe('retainGraph', () => {
  test('a second backward without retainGraph throws a clear message', () => {
    const x = bp.tensor([1, 2, 3], [3], { requiresGrad: true });
    const loss = bp.sum(bp.mul(x, x));
    loss.backward();
    expectThrowMentioning(() => loss.backward(), Error, ['already freed', 'retainGraph']);
    bp.dispose([x, loss]);
  });

  test('retainGraph: true allows another backward, which accumulates', async () => {
    const x = bp.tensor([1, 2, 3], [3], { requiresGrad: true });
    const loss = bp.tidy(() => bp.sum(bp.mul(x, bp.exp(x))));
    loss.backward(undefined, { retainGraph: true });
    loss.backward(undefined, { retainGraph: true });
    loss.backward();
    // d(x·eˣ) = (1 + x)eˣ, three times
    assertClose('grad after three backward calls', await host(x.grad!), [1, 2, 3].map((v) => 3 * (1 + v) * Math.exp(v)), TIGHT);
    expect(() => loss.backward()).toThrow(/retainGraph/);
    bp.dispose([x, loss]);
  });

  test('a backward that throws on a freed graph leaks nothing', () => {
    const x = bp.tensor([1, 2, 3], [3], { requiresGrad: true });
    const loss = bp.tidy(() => bp.sum(bp.mul(x, bp.exp(x))));
    loss.backward();
    const before = backend.memory();
    expect(() => loss.backward()).toThrow(/retainGraph/);
    expect(backend.memory()).toEqual(before);
    bp.dispose([x, loss]);
  });
});

describe('noGrad', () => {
  test('records nothing: results do not require grad and have no creator', () => {
    const x = bp.tensor([1, 2], [2], { requiresGrad: true });
    const y = bp.noGrad(() => bp.sum(bp.tanh(bp.mul(x, x))));
    expect(y.requiresGrad).toBe(false);
    expect(y.creator).toBeNull();
    expectThrowMentioning(() => y.backward(), Error, ['does not require grad']);
    // Recording resumes afterwards, also when fn throws.
    expect(() =>
      bp.noGrad(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    const z = bp.mul(x, 2);
    expect(z.requiresGrad).toBe(true);
    bp.dispose([x, y, z]);
  });

  test('ops on tensors that do not require grad record nothing either', () => {
    const a = bp.tensor([1, 2], [2]);
    const b = bp.exp(a);
    expect(b.requiresGrad).toBe(false);
    expect(b.creator).toBeNull();
    bp.dispose([a, b]);
  });
});

describe('tidy, keep, dispose', () => {
  test('tidy disposes the intermediates and returns the result alive', async () => {
    const x = bp.tensor([1, 2, 3], [3]);
    let inner: bp.Tensor[] = [];
    const y = bp.tidy(() => {
      const a = bp.exp(x);
      const b = bp.mul(a, 2);
      inner = [a, b];
      return bp.sum(b);
    });
    expect(inner.every((t) => t.isDisposed)).toBe(true);
    expect(y.isDisposed).toBe(false);
    expect(x.isDisposed).toBe(false);
    assertClose('tidy result', await host(y), [2 * (Math.E + Math.E ** 2 + Math.E ** 3)], TIGHT);
    bp.dispose([x, y]);
    expect(backend.memory().bytesInUse).toBe(0);
  });

  test('tidy returns arrays and objects of tensors alive', () => {
    const x = bp.tensor([1, 2], [2]);
    const arr = bp.tidy(() => [bp.exp(x), bp.neg(x)]);
    const obj = bp.tidy(() => ({ a: bp.exp(x), b: bp.neg(x) }));
    expect([...arr, obj.a, obj.b].every((t) => !t.isDisposed)).toBe(true);
    bp.dispose([x, ...arr, obj.a, obj.b]);
    expect(backend.memory().bytesInUse).toBe(0);
  });

  test('keep lets a tensor outlive its tidy', () => {
    let kept: bp.Tensor | null = null;
    let dropped: bp.Tensor | null = null;
    bp.tidy(() => {
      kept = bp.keep(bp.ones([2]));
      dropped = bp.zeros([2]);
    });
    expect(kept!.isDisposed).toBe(false);
    expect(dropped!.isDisposed).toBe(true);
    kept!.dispose();
    expect(backend.memory().bytesInUse).toBe(0);
  });

  test('nested tidy: the inner result moves to the outer scope and is disposed there', () => {
    let innerResult: bp.Tensor | null = null;
    let innerTemp: bp.Tensor | null = null;
    const outer = bp.tidy(() => {
      innerResult = bp.tidy(() => {
        innerTemp = bp.ones([3]);
        return bp.scale(innerTemp, 2);
      });
      expect(innerTemp!.isDisposed).toBe(true);
      expect(innerResult.isDisposed).toBe(false);
      return bp.sum(innerResult);
    });
    expect(innerResult!.isDisposed).toBe(true);
    expect(outer.isDisposed).toBe(false);
    outer.dispose();
    expect(backend.memory().bytesInUse).toBe(0);
  });

  test('tidy rejects an async fn', () => {
    const asyncFn = (async () => bp.ones([1])) as unknown as () => bp.Tensor;
    expectThrowMentioning(() => bp.tidy(asyncFn), Error, ['tidy', 'synchronous']);
  });

  test('tidy disposes its tensors when fn throws', () => {
    let temp: bp.Tensor | null = null;
    expect(() =>
      bp.tidy(() => {
        temp = bp.ones([4]);
        throw new Error('inside tidy');
      }),
    ).toThrow('inside tidy');
    // Either disposed right away, or at least not tracked by a scope that no longer exists.
    if (!temp!.isDisposed) temp!.dispose();
    expect(backend.memory().bytesInUse).toBe(0);
  });

  test('use after dispose throws DisposedError naming the shape', async () => {
    const t = bp.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    t.dispose();
    expect(t.isDisposed).toBe(true);
    expectThrowMentioning(() => bp.exp(t), bp.DisposedError, ['[2,3]', 'dispose']);
    expectThrowMentioning(() => bp.add(t, t), bp.DisposedError, ['[2,3]']);
    await expect(t.data()).rejects.toThrow(bp.DisposedError);
    t.dispose(); // harmless twice
    const named = bp.tensor([1], [1], { name: 'w_in' });
    named.dispose();
    expectThrowMentioning(() => bp.neg(named), bp.DisposedError, ["'w_in'", '[1]']);
  });

  test('disposing a leaf also frees its .grad', () => {
    const x = bp.tensor([1, 2], [2], { requiresGrad: true });
    bp.tidy(() => bp.sum(bp.mul(x, x)).backward());
    expect(x.grad).not.toBeNull();
    x.dispose();
    expect(backend.memory().bytesInUse).toBe(0);
  });
});

/**
 * One small training step touching most ops with saved tensors (matmul, tanh, dropout, slice,
 * concat, max, softmax, crossEntropy), run inside tidy with the loss disposed afterwards.
 */
function makeTrainingStep(): { step: (i: number) => bp.Tensor; dispose: () => void } {
  const w1 = bp.tensor(Array.from({ length: 20 }, (_, i) => Math.sin(i)), [5, 4], { requiresGrad: true });
  const b1 = bp.tensor([0.1, -0.1, 0.2, 0], [4], { requiresGrad: true });
  const w2 = bp.tensor(Array.from({ length: 12 }, (_, i) => Math.cos(i)), [4, 3], { requiresGrad: true });
  const x = bp.tensor(Array.from({ length: 30 }, (_, i) => ((i * 7) % 11) / 11 - 0.5), [6, 5]);
  return {
    step: (i) =>
      bp.tidy(() => {
        const h = bp.tanh(bp.add(bp.matmul(x, w1), b1));
        const d = bp.dropout(h, 0.25, i);
        const logits = bp.concat([bp.slice(bp.matmul(d, w2), [0, 0], [6, 2]), bp.max(bp.matmul(d, w2), 1, true)], 1);
        const l = bp.add(bp.crossEntropy(logits, [0, 1, 2, 2, 1, 0]), bp.mean(bp.softmax(bp.transpose(logits))));
        l.backward();
        return l;
      }),
    dispose: () => bp.dispose([w1, b1, w2, x]),
  };
}

describe('memory', () => {
  test('100 training steps inside tidy leave memory() exactly as after the first', () => {
    const baseline = backend.memory();
    const { step, dispose } = makeTrainingStep();
    const afterParams = backend.memory();
    step(0).dispose();
    const afterFirst = backend.memory();
    expect(afterFirst.bytesInUse).toBeGreaterThan(afterParams.bytesInUse); // the grads now exist
    for (let i = 1; i < 100; i++) step(i).dispose();
    expect(backend.memory()).toEqual(afterFirst);
    dispose();
    expect(backend.memory()).toEqual(baseline);
  });

  test('a graph that is never backpropagated is freed when its output is disposed', () => {
    const w = bp.tensor([1, 2, 3, 4], [2, 2], { requiresGrad: true });
    const before = backend.memory();
    const loss = bp.tidy(() => bp.sum(bp.tanh(bp.matmul(w, bp.exp(w)))));
    expect(backend.memory().bytesInUse).toBeGreaterThan(before.bytesInUse + 8);
    loss.dispose();
    expect(backend.memory()).toEqual(before);
    w.dispose();
  });
});

describeWebGPU('memory', (gpu: Backend) => {
  test('100 training steps leave the pool (in use, allocated, buffer count) as after the warm-up', async () => {
    bp.setBackend(gpu);
    const baseline = gpu.memory().bytesInUse;
    const { step, dispose } = makeTrainingStep();
    const run = async (i: number): Promise<void> => {
      const loss = step(i);
      await loss.data(); // reading flushes the encoder, so deferred releases return to the pool
      loss.dispose();
      await gpu.sync();
    };
    // Step 1 creates the grads; step 2 is the first to accumulate into them, which needs a few
    // more pooled buffers; kernel outputs that take buffers still waiting for their submit
    // (BufferPool.acquire) shift a few more over the next steps (here the pool settled at step 7).
    // From then on it must not grow.
    const WARM_UP = 10;
    for (let i = 0; i < WARM_UP; i++) await run(i);
    const afterWarmUp = gpu.memory();
    for (let i = WARM_UP; i < WARM_UP + 100; i++) await run(i);
    expect(gpu.memory()).toEqual(afterWarmUp);
    dispose();
    expect(gpu.memory().bytesInUse).toBe(baseline);
  });
});

describe('error messages', () => {
  test('add with incompatible shapes names the op and both shapes', () => {
    const a = bp.zeros([2, 3]);
    const b = bp.zeros([4, 3]);
    expectThrowMentioning(() => bp.add(a, b), bp.ShapeError, ['add', '[2,3]', '[4,3]']);
    expectThrowMentioning(() => bp.mul(b, a), bp.ShapeError, ['mul', '[4,3]', '[2,3]']);
    bp.dispose([a, b]);
  });

  test('linear with an unknown activation names the op and the activation', () => {
    const [x, w, b] = [bp.zeros([2, 3]), bp.zeros([4, 3]), bp.zeros([4])];
    expect(() => bp.linear(x, w, b, { activation: 'relu' as 'tanh' })).toThrow("linear: unknown activation 'relu' (expected 'tanh' or none)");
    bp.dispose([x, w, b]);
  });

  test('modulator with mismatched parameters names the op and each bad shape', () => {
    const [h, w, b, fw, fb] = [bp.zeros([2, 7]), bp.zeros([1, 5]), bp.zeros([1]), bp.zeros([4, 1]), bp.zeros([3])];
    expectThrowMentioning(() => bp.modulator(h, w, b, { weight: fw, bias: fb }), bp.ShapeError, ['modulator', 'w [1,5] (expected [1,7])', 'fan-out bias [3] (expected [4])']);
    bp.dispose([h, w, b, fw, fb]);
  });

  test('matmul with mismatched inner or batch dims names the op and both shapes', () => {
    const a = bp.zeros([2, 3]);
    const b = bp.zeros([4, 5]);
    expectThrowMentioning(() => bp.matmul(a, b), bp.ShapeError, ['matmul', '[2,3]', '[4,5]']);
    const c = bp.zeros([2, 3, 4]);
    const d = bp.zeros([3, 4, 5]);
    expectThrowMentioning(() => bp.matmul(c, d), bp.ShapeError, ['matmul', '[2,3,4]', '[3,4,5]']);
    expectThrowMentioning(() => bp.matmul(bp.zeros([3]), b), bp.ShapeError, ['matmul', '[3]']);
    bp.dispose([a, b, c, d]);
  });

  test('linear with mismatched x, w or b names the op and every shape', () => {
    const x = bp.zeros([2, 3]);
    const w = bp.zeros([4, 5]);
    const b = bp.zeros([4]);
    expectThrowMentioning(() => bp.linear(x, w, b), bp.ShapeError, ['linear', '[2,3]', '[4,5]', '[4]']);
    const w3 = bp.zeros([4, 3]);
    const b5 = bp.zeros([5]);
    expectThrowMentioning(() => bp.linear(x, w3, b5), bp.ShapeError, ['linear', '[2,3]', '[4,3]', '[5]']);
    bp.dispose([x, w, b, w3, b5]);
  });

  test('tensor(data, shape) with a wrong data length names both', () => {
    expectThrowMentioning(() => bp.tensor([1, 2, 3, 4, 5], [2, 3]), Error, ['5', '[2,3]', '6']);
  });

  test('crossEntropy with an out-of-range, negative or fractional target says so', () => {
    const logits = bp.zeros([2, 3]);
    expectThrowMentioning(() => bp.crossEntropy(logits, [0, 3]), RangeError, ['crossEntropy', '3', '[0, 3)']);
    expectThrowMentioning(() => bp.crossEntropy(logits, [-1, 0]), RangeError, ['crossEntropy', '-1']);
    expectThrowMentioning(() => bp.crossEntropy(logits, [0, 1.5]), RangeError, ['crossEntropy', '1.5']);
    expectThrowMentioning(() => bp.crossEntropy(logits, [0]), bp.ShapeError, ['crossEntropy', '[2,3]']);
    logits.dispose();
    expect(backend.memory().bytesInUse).toBe(0);
  });

  test('backward on a non-scalar without a cotangent, or with a wrong-sized one, names the shapes', () => {
    const x = bp.tensor([1, 2, 3, 4], [2, 2], { requiresGrad: true });
    const y = bp.mul(x, 2);
    expectThrowMentioning(() => y.backward(), bp.ShapeError, ['backward', '[2,2]']);
    const bad = bp.zeros([3]);
    expectThrowMentioning(() => y.backward(bad), bp.ShapeError, ['backward', '[3]', '[2,2]']);
    bp.dispose([x, y, bad]);
  });

  test('embedding and gather reject bad indices', () => {
    const table = bp.zeros([4, 2]);
    expectThrowMentioning(() => bp.embedding(table, [0, 4]), RangeError, ['embedding', '4']);
    expectThrowMentioning(() => bp.gather(table, [0, 1, 2]), bp.ShapeError, ['gather', '[4,2]']);
    table.dispose();
  });

  test('movement ops name the op and the shapes', () => {
    const x = bp.zeros([2, 3]);
    expectThrowMentioning(() => bp.reshape(x, [4, 2]), bp.ShapeError, ['reshape', '[2,3]', '[4,2]']);
    expectThrowMentioning(() => bp.concat([x, bp.zeros([3, 2])], 0), bp.ShapeError, ['concat', '[3,2]', '[2,3]']);
    expectThrowMentioning(() => bp.slice(x, [1, 0], [2, 3]), bp.ShapeError, ['slice', '[2,3]']);
    expectThrowMentioning(() => bp.addN([x, bp.zeros([3, 2])]), bp.ShapeError, ['addN', '[3,2]', '[2,3]']);
    expectThrowMentioning(() => bp.split(x, 2, 1), bp.ShapeError, ['split', '2 equal parts', '[2,3]']);
    expectThrowMentioning(() => bp.split(x, [1, 1], 1), bp.ShapeError, ['split', 'sizes [1,1]', '[2,3]']);
    expectThrowMentioning(() => bp.lstmCell(bp.zeros([2, 9]), x), bp.ShapeError, ['lstmCell', 'gates [2,9]', '[2,12]']);
    expectThrowMentioning(() => bp.lstmCell(bp.zeros([2, 9]), x, bp.zeros([3, 3])), bp.ShapeError, ['lstmCell', 'g [3,3]', '[2,3]']);
    expectThrowMentioning(() => bp.pad(x, [[0, 1]]), bp.ShapeError, ['pad', 'widths', '[2,3]']);
    expectThrowMentioning(() => bp.pad(x, [[0, 1], [-1, 0]]), bp.ShapeError, ['pad', 'widths', '[2,3]']);
    expectThrowMentioning(() => bp.squeeze(x, 0), bp.ShapeError, ['squeeze', '[2,3]']);
    expectThrowMentioning(() => bp.expand(x, [4, 3]), bp.ShapeError, ['expand', '[2,3]', '[4,3]']);
    x.dispose();
  });
});

describe('detach', () => {
  test('shares values, stops the gradient, and frees nothing it does not own', async () => {
    const backend = new CpuBackend('f64');
    bp.setBackend(backend);
    const x = bp.tensor([1, 2, 3], [3], { requiresGrad: true });
    const before = backend.memory().bytesInUse;
    const loss = bp.tidy(() => {
      const d = x.mul(2).detach();
      expect(d.requiresGrad).toBe(false);
      return bp.sum(bp.mul(x, d)); // d/dx Σ x·stop(2x) = 2x
    });
    loss.backward();
    expect([...(await x.grad!.data())]).toEqual([2, 4, 6]);
    loss.dispose();
    x.grad!.dispose();
    x.grad = null;
    expect(backend.memory().bytesInUse).toBe(before);
    x.dispose();
  });
});
