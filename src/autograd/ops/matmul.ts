/** Matrix products: 2-D and batched matmul with transposed operands read in place, the fused linear layer, and outer. */
import { sizeOf } from '../../kernels/backend.js';
import { fmtShape, ShapeError } from '../errors.js';
import { runOp, type OpDef } from '../graph.js';
import type { Tensor } from '../tensor.js';
import { mul, tanhGrad } from './elementwise.js';
import { reshape, unsqueeze } from './movement.js';
import { sum } from './reduce.js';

export interface MatmulOptions {
  /** Read a as its transpose (its last two dims swapped), without a copy. */
  transA?: boolean;
  /** Read b as its transpose, without a copy. */
  transB?: boolean;
}

interface MatmulAttrs {
  transA: boolean;
  transB: boolean;
}

/** The [m, k] / [k, n] view of an operand's last two dims. */
function mk(x: Tensor, trans: boolean): [number, number] {
  const [r, c] = x.shape.slice(-2);
  return trans ? [c, r] : [r, c];
}

const matmulDef: OpDef<MatmulAttrs> = {
  name: 'matmul',
  forward: (k, [a, b], { transA, transB }) => {
    const [m, kk] = mk(a, transA);
    const n = mk(b, transB)[1];
    const batchShape = a.rank > b.rank ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
    const batch = sizeOf(batchShape);
    const g = {
      batch, m, k: kk, n, transA, transB,
      aBatchStride: a.rank === 2 ? 0 : m * kk,
      bBatchStride: b.rank === 2 ? 0 : kk * n,
    };
    return [{ buf: k.matmul(a.buf, b.buf, g), shape: [...batchShape, m, n] }];
  },
  save: (inputs) => inputs,
  // With A' = op(A), B' = op(B): dA' = dC·B'ᵀ and dB' = A'ᵀ·dC; transposes are flags, not copies.
  backward: ([dc], { attrs: { transA, transB }, saved: [a, b], needsGrad }) => [
    needsGrad[0]
      ? transA
        ? matmul(b, dc!, { transA: transB, transB: true })
        : matmul(dc!, b, { transB: !transB })
      : null,
    needsGrad[1]
      ? transB
        ? matmul(dc!, a, { transA: true, transB: transA })
        : matmul(a, dc!, { transA: !transA })
      : null,
  ],
};

/**
 * Matrix product over the last two dims. Batch dims must be equal, or one operand is 2-D and is
 * shared by every batch matrix (its gradient is summed over the batch).
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  if (a.rank < 2 || b.rank < 2) {
    throw new ShapeError(`matmul: a and b need at least 2 dims, got a ${fmtShape(a.shape)} and b ${fmtShape(b.shape)}`);
  }
  const ka = mk(a, transA)[1];
  const kb = mk(b, transB)[0];
  const tr = `${transA ? ' (transA)' : ''}${transB ? ' (transB)' : ''}`;
  if (ka !== kb) {
    throw new ShapeError(`matmul: inner dims differ: a ${fmtShape(a.shape)} has ${ka}, b ${fmtShape(b.shape)} has ${kb}${tr}`);
  }
  const ba = a.shape.slice(0, -2);
  const bb = b.shape.slice(0, -2);
  if (ba.length && bb.length && (ba.length !== bb.length || ba.some((s, d) => s !== bb[d]))) {
    throw new ShapeError(`matmul: batch dims of a ${fmtShape(a.shape)} and b ${fmtShape(b.shape)} must match or one must be 2-D`);
  }
  return runOp(matmulDef, [a, b], { transA, transB })[0];
}

interface LinearAttrs {
  tanh: boolean;
}

const linearDef: OpDef<LinearAttrs> = {
  name: 'linear',
  forward: (k, [x, w, b], { tanh }) => {
    const [out, inp] = w.shape;
    const m = x.size / inp;
    const g = { batch: 1, m, k: inp, n: out, transA: false, transB: true, aBatchStride: 0, bBatchStride: 0 };
    return [{ buf: k.matmul(x.buf, w.buf, g, b.buf, tanh ? 'tanh' : null), shape: [...x.shape.slice(0, -1), out] }];
  },
  save: ([x, w], [y], { tanh }) => (tanh ? [x, w, y] : [x, w]),
  // z = x·wᵀ + b over rows of x (y = z, or tanh(z) and dz = dy·(1 − y²)): dx = dz·w, dw = dzᵀ·x
  // and db = Σ_rows dz, with x and dz as 2-D.
  backward: ([dy], { saved: [x, w, y], needsGrad }) => {
    const [out, inp] = w.shape;
    const rows = (t: Tensor, cols: number) => (t.rank === 2 ? t : reshape(t, [t.size / cols, cols]));
    const dz = rows(y ? tanhGrad(dy!, y) : dy!, out);
    const dx = needsGrad[0] ? matmul(dz, w) : null;
    return [
      dx && x.rank !== 2 ? reshape(dx, x.shape) : dx,
      needsGrad[1] ? matmul(dz, rows(x, inp), { transA: true }) : null,
      needsGrad[2] ? sum(dz, 0) : null,
    ];
  },
};

export interface LinearOpOptions {
  /** 'tanh': y = tanh(x·wᵀ + b), still one kernel forward (the modulator neuron's layer). */
  activation?: 'tanh';
}

/**
 * The linear layer y = x·wᵀ + b of PyTorch's nn.Linear, one kernel forward: x [..., in], w [out, in]
 * (read transposed in place), b [out].
 */
export function linear(x: Tensor, w: Tensor, b: Tensor, opts: LinearOpOptions = {}): Tensor {
  const shapes = `x ${fmtShape(x.shape)}, w ${fmtShape(w.shape)}, b ${fmtShape(b.shape)}`;
  if (x.rank < 1 || w.rank !== 2 || b.rank !== 1) throw new ShapeError(`linear: need x [..., in], w [out, in] and b [out], got ${shapes}`);
  if (x.shape[x.rank - 1] !== w.shape[1] || b.shape[0] !== w.shape[0]) {
    throw new ShapeError(`linear: x's last dim must equal w's dim 1 and b's size w's dim 0, got ${shapes}`);
  }
  if (opts.activation !== undefined && opts.activation !== 'tanh') {
    throw new RangeError(`linear: unknown activation '${String(opts.activation)}' (expected 'tanh' or none)`);
  }
  return runOp(linearDef, [x, w, b], { tanh: opts.activation === 'tanh' })[0];
}

/** Outer product over the last dim: out[..., i, j] = a[..., i]·b[..., j]. */
export function outer(a: Tensor, b: Tensor): Tensor {
  return mul(unsqueeze(a, -1), unsqueeze(b, -2));
}
