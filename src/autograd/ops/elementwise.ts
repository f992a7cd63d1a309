/**
 * Element-wise ops: unary maps, broadcasting binary ops, addN, where. Each is defined once with its
 * backward; fused gradient kernels (tanh_grad, ...) keep an RNN step's backward to one pass each.
 */
import { ADD_N_MAX, type BinaryOp, type UnaryOp } from '../../kernels/backend.js';
import { fmtShape, ShapeError } from '../errors.js';
import { runOp, type OpDef } from '../graph.js';
import { Tensor } from '../tensor.js';

/** NumPy broadcasting of two shapes, or a ShapeError naming the op. */
export function broadcastShape(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let d = 0; d < rank; d++) {
    const x = a[a.length - rank + d] ?? 1;
    const y = b[b.length - rank + d] ?? 1;
    if (x !== y && x !== 1 && y !== 1) {
      throw new ShapeError(`${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together (dim ${d}: ${x} vs ${y})`);
    }
    out[d] = x === 1 ? y : x;
  }
  return out;
}

// ---------------------------------------------------------------- unary

interface UnaryAttrs {
  p0: number;
  p1: number;
}

function unaryDef(
  op: UnaryOp,
  save: 'input' | 'output' | 'none',
  grad: (dy: Tensor, s: Tensor | null, a: UnaryAttrs) => Tensor | null,
): OpDef<UnaryAttrs> {
  return {
    name: op,
    forward: (k, [x], a) => [{ buf: k.unary(op, x.buf, x.size, a.p0, a.p1), shape: x.shape }],
    save: save === 'none' ? undefined : (inputs, outputs) => [save === 'input' ? inputs[0] : outputs[0]],
    backward: ([dy], { saved, attrs }) => [grad(dy!, saved[0] ?? null, attrs)],
  };
}

const unaryDefs = {
  // d(-x) = -dx
  neg: unaryDef('neg', 'none', (dy) => neg(dy)),
  // d exp(x) = exp(x) dx
  exp: unaryDef('exp', 'output', (dy, y) => mul(dy, y!)),
  // d log(x) = dx / x
  log: unaryDef('log', 'input', (dy, x) => div(dy, x!)),
  // d sqrt(x) = dx / (2 sqrt(x))
  sqrt: unaryDef('sqrt', 'output', (dy, y) => div(dy, scale(y!, 2))),
  // d tanh(x) = (1 - y²) dx
  tanh: unaryDef('tanh', 'output', (dy, y) => tanhGrad(dy, y!)),
  // d σ(x) = y (1 - y) dx
  sigmoid: unaryDef('sigmoid', 'output', (dy, y) => binary('sigmoid_grad', dy, y!)),
  // d relu(x) = [x > 0] dx (0 at x = 0, as PyTorch)
  relu: unaryDef('relu', 'input', (dy, x) => binary('relu_grad', dy, x!)),
  // d |x| = sign(x) dx
  abs: unaryDef('abs', 'input', (dy, x) => mul(dy, unary('sign', x!))),
  // d x² = 2x dx
  square: unaryDef('square', 'input', (dy, x) => mul(dy, scale(x!, 2))),
  // d (1/x) = -dx / x²
  reciprocal: unaryDef('reciprocal', 'output', (dy, y) => mul(dy, neg(unary('square', y!)))),
  // d x^p = p x^(p-1) dx
  pow: unaryDef('pow', 'input', (dy, x, a) => mul(dy, unary('affine', unary('pow', x!, a.p0 - 1), a.p0, 0))),
  // d clamp(x) = [lo <= x <= hi] dx, bounds included (PyTorch)
  clamp: unaryDef('clamp', 'input', (dy, x, a) => binary('clamp_grad', dy, x!, a.p0, a.p1)),
  // d (p0 x + p1) = p0 dx
  affine: unaryDef('affine', 'none', (dy, _, a) => scale(dy, a.p0)),
  // piecewise constant: zero gradient
  sign: unaryDef('sign', 'none', () => null),
  step: unaryDef('step', 'none', () => null),
} satisfies { [K in UnaryOp]: OpDef<UnaryAttrs> };

function unary(op: UnaryOp, x: Tensor, p0 = 0, p1 = 0): Tensor {
  return runOp(unaryDefs[op], [x], { p0, p1 })[0];
}

export const neg = (x: Tensor): Tensor => unary('neg', x);
export const exp = (x: Tensor): Tensor => unary('exp', x);
export const log = (x: Tensor): Tensor => unary('log', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
/** Stable for |x| >= 100 (no NaN). */
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
export const relu = (x: Tensor): Tensor => unary('relu', x);
export const abs = (x: Tensor): Tensor => unary('abs', x);
export const sign = (x: Tensor): Tensor => unary('sign', x);
export const square = (x: Tensor): Tensor => unary('square', x);
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', x);
/** x^p for a scalar exponent p. */
export const pow = (x: Tensor, p: number): Tensor => unary('pow', x, p);
/** min(max(x, lo), hi); the gradient passes where lo <= x <= hi, bounds included. */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  if (!(lo <= hi)) throw new RangeError(`clamp: lo (${lo}) must be <= hi (${hi})`);
  return unary('clamp', x, lo, hi);
}
/** x·a + b for scalars a, b, in one kernel. */
export const affine = (x: Tensor, a: number, b: number): Tensor => unary('affine', x, a, b);
export const scale = (x: Tensor, a: number): Tensor => unary('affine', x, a, 0);
/** 1 where x > threshold, else 0 (no gradient). */
export const step = (x: Tensor, threshold = 0): Tensor => unary('step', x, threshold);

// ---------------------------------------------------------------- binary

interface BinaryAttrs {
  op: BinaryOp;
  p0: number;
  p1: number;
}

const binaryDef: OpDef<BinaryAttrs> = {
  name: 'binary',
  forward: (k, [a, b], { op, p0, p1 }) => {
    const shape = broadcastShape(op, a.shape, b.shape);
    return [{ buf: k.binary(op, a.buf, a.shape, b.buf, b.shape, shape, p0, p1), shape }];
  },
  save: (inputs, _, { op }) => (op === 'mul' || op === 'div' || op === 'max' || op === 'min' ? inputs : []),
  backward: ([dy], { attrs: { op }, saved: [a, b], needsGrad }) => {
    const g = dy!;
    switch (op) {
      case 'add':
        return [g, g];
      case 'sub':
        return [g, needsGrad[1] ? neg(g) : null];
      case 'mul':
        // d(ab) = b da + a db
        return [needsGrad[0] ? mul(g, b) : null, needsGrad[1] ? mul(g, a) : null];
      case 'div':
        // d(a/b) = da / b − a db / b²
        return [needsGrad[0] ? div(g, b) : null, needsGrad[1] ? neg(div(mul(g, a), square(b))) : null];
      case 'max':
      case 'min': {
        // The gradient goes to the selected input; ties split it evenly, as torch.maximum.
        const pickA = binary(op === 'max' ? 'gt' : 'lt', a, b);
        const tie = scale(binary('eq', a, b), 0.5);
        const wa = add(pickA, tie);
        return [needsGrad[0] ? mul(g, wa) : null, needsGrad[1] ? mul(g, affine(wa, -1, 1)) : null];
      }
      default:
        // Comparisons are piecewise constant; the gradient helpers are only used inside backward.
        return [null, null];
    }
  },
};

function binary(op: BinaryOp, a: Tensor, b: Tensor, p0 = 0, p1 = 0): Tensor {
  return runOp(binaryDef, [a, b], { op, p0, p1 })[0];
}

/** dy·(1 − y²), the gradient through y = tanh(x) from its output, in one kernel. */
export function tanhGrad(dy: Tensor, y: Tensor): Tensor {
  return binary('tanh_grad', dy, y);
}

/** a + b with broadcasting; a number operand is folded into one affine kernel. */
export function add(a: Tensor, b: Tensor | number): Tensor {
  return typeof b === 'number' ? affine(a, 1, b) : binary('add', a, b);
}
export function sub(a: Tensor, b: Tensor | number): Tensor {
  return typeof b === 'number' ? affine(a, 1, -b) : binary('sub', a, b);
}
export function mul(a: Tensor, b: Tensor | number): Tensor {
  return typeof b === 'number' ? scale(a, b) : binary('mul', a, b);
}
export function div(a: Tensor, b: Tensor | number): Tensor {
  return typeof b === 'number' ? scale(a, 1 / b) : binary('div', a, b);
}
export const maximum = (a: Tensor, b: Tensor): Tensor => binary('max', a, b);
export const minimum = (a: Tensor, b: Tensor): Tensor => binary('min', a, b);
export const eq = (a: Tensor, b: Tensor): Tensor => binary('eq', a, b);
export const gt = (a: Tensor, b: Tensor): Tensor => binary('gt', a, b);
export const ge = (a: Tensor, b: Tensor): Tensor => binary('ge', a, b);
export const lt = (a: Tensor, b: Tensor): Tensor => binary('lt', a, b);
export const le = (a: Tensor, b: Tensor): Tensor => binary('le', a, b);

// ---------------------------------------------------------------- addN

const addNDef: OpDef<null> = {
  name: 'addN',
  forward: (k, xs) => [{ buf: k.addN(xs.map((x) => x.buf), xs[0].size), shape: xs[0].shape }],
  backward: ([dy], { inputShapes }) => inputShapes.map(() => dy!),
};

/**
 * The sum of tensors of one shape (tf.addN), up to ADD_N_MAX of them per kernel; one tensor is
 * returned as it is. The backward sums the gradients a tensor receives with it.
 */
export function addN(xs: readonly Tensor[]): Tensor {
  if (xs.length === 0) throw new RangeError('addN: needs at least one tensor');
  for (const [i, x] of xs.entries()) {
    if (x.rank !== xs[0].rank || x.shape.some((s, d) => s !== xs[0].shape[d])) {
      throw new ShapeError(`addN: tensor ${i} ${fmtShape(x.shape)} does not match tensor 0 ${fmtShape(xs[0].shape)}`);
    }
  }
  let sum = xs[0];
  for (let i = 1; i < xs.length; i += ADD_N_MAX - 1) sum = runOp(addNDef, [sum, ...xs.slice(i, i + ADD_N_MAX - 1)], null)[0];
  return sum;
}

// ---------------------------------------------------------------- where

const whereDef: OpDef<null> = {
  name: 'where',
  forward: (k, [c, a, b]) => {
    const shape = broadcastShape('where', broadcastShape('where', c.shape, a.shape), b.shape);
    return [{ buf: k.where(c.buf, c.shape, a.buf, a.shape, b.buf, b.shape, shape), shape }];
  },
  save: ([c]) => [c],
  backward: ([dy], { saved: [c], needsGrad }) => {
    const zero = mul(dy!, 0);
    return [null, needsGrad[1] ? where(c, dy!, zero) : null, needsGrad[2] ? where(c, zero, dy!) : null];
  },
};

/** cond != 0 ? a : b, element-wise with broadcasting; no gradient flows to cond. */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  return runOp(whereDef, [cond, a, b], null)[0];
}
