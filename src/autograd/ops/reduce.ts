/** Reductions over one or more axes, or over everything: sum, mean, max. */
import { sizeOf } from '../../kernels/backend.js';
import { runOp, type OpDef } from '../graph.js';
import type { Tensor } from '../tensor.js';
import { div, eq, mul, scale } from './elementwise.js';
import { expand, normAxis, reshape } from './movement.js';

interface ReduceAttrs {
  op: 'sum' | 'max';
  axis: number;
}

/** One-axis reduction, keeping the reduced dim as size 1. */
const reduceDef: OpDef<ReduceAttrs> = {
  name: 'reduce',
  forward: (k, [x], { op, axis }) => {
    const outer = sizeOf(x.shape.slice(0, axis));
    const inner = sizeOf(x.shape.slice(axis + 1));
    const shape = x.shape.map((s, d) => (d === axis ? 1 : s));
    return [{ buf: k.reduce(op, x.buf, outer, x.shape[axis], inner), shape }];
  },
  save: (inputs, outputs, { op }) => (op === 'max' ? [inputs[0], outputs[0]] : []),
  backward: ([dy], { attrs: { op }, saved: [x, m], inputShapes }) => {
    // d sum = dy broadcast back over the axis (the walk's unbroadcast is not enough: x's dim is > 1)
    if (op === 'sum') return [expand(dy!, inputShapes[0])];
    // d max: split dy evenly among the entries equal to the max (as torch.amax)
    const mask = eq(x, m);
    const count = runOp(reduceDef, [mask], { op: 'sum', axis: reduceAxis(x, m) })[0];
    return [mul(mask, div(dy!, count))];
  },
};

/** The axis where the kept-dims result is 1 and the input is not (for max's backward). */
function reduceAxis(x: Tensor, m: Tensor): number {
  const d = x.shape.findIndex((s, i) => m.shape[i] !== s);
  return d < 0 ? 0 : d;
}

function axesOf(op: string, x: Tensor, axis: number | readonly number[] | undefined): number[] {
  if (axis === undefined) return x.shape.map((_, d) => d);
  const list = typeof axis === 'number' ? [axis] : axis;
  return [...new Set(list.map((a) => normAxis(op, a, x.rank)))].sort((a, b) => a - b);
}

function reduceAll(op: 'sum' | 'max', x: Tensor, axis: number | readonly number[] | undefined, keepDims: boolean): Tensor {
  const axes = axesOf(op, x, axis);
  // Neighbouring axes are one axis of a reshaped view: a sum over all of a [B, N] tensor is one
  // reduction (one dispatch forward, one expand backward) instead of one per axis.
  const merged: number[] = [];
  const reduced: number[] = [];
  for (const [d, s] of x.shape.entries()) {
    const inRun = axes.includes(d) && axes.includes(d - 1);
    if (inRun) merged[merged.length - 1] *= s;
    else merged.push(s);
    if (axes.includes(d) && !inRun) reduced.push(merged.length - 1);
  }
  let y = reshape(x, merged);
  for (const a of reduced) if (merged[a] !== 1) y = runOp(reduceDef, [y], { op, axis: a })[0];
  return reshape(y, keepDims ? x.shape.map((s, d) => (axes.includes(d) ? 1 : s)) : x.shape.filter((_, d) => !axes.includes(d)));
}

/** Sum over `axis` (a number, a list, or all when omitted). */
export function sum(x: Tensor, axis?: number | readonly number[], keepDims = false): Tensor {
  return reduceAll('sum', x, axis, keepDims);
}

/** Mean over `axis` (a number, a list, or all when omitted). */
export function mean(x: Tensor, axis?: number | readonly number[], keepDims = false): Tensor {
  const n = axesOf('mean', x, axis).reduce((acc, a) => acc * x.shape[a], 1);
  return scale(sum(x, axis, keepDims), 1 / n);
}

/** Max over `axis` (a number, a list, or all when omitted); ties share the gradient. */
export function max(x: Tensor, axis?: number | readonly number[], keepDims = false): Tensor {
  return reduceAll('max', x, axis, keepDims);
}
