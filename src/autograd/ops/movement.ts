/**
 * Movement ops: reshape (a view, no copy), expand, permute/transpose, slice, concat, stack.
 * All but reshape write a contiguous copy through the one strided-copy kernel.
 */
import { broadcastStrides, contiguousStrides, sizeOf } from '../../kernels/backend.js';
import { fmtShape, shapeError, ShapeError } from '../errors.js';
import { runOp, type OpDef } from '../graph.js';
import { zeros, type Tensor } from '../tensor.js';

/** Resolves a possibly negative axis, or throws naming the op. */
export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new RangeError(`${op}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

// ---------------------------------------------------------------- reshape

const reshapeDef: OpDef<{ shape: readonly number[] }> = {
  name: 'reshape',
  forward: (_, [x], { shape }) => [{ viewOf: x, shape }],
  backward: ([dy], { inputShapes }) => [reshape(dy!, inputShapes[0])],
};

/** Same data, new shape (one dimension may be -1). Shares storage: no copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const infer = shape.indexOf(-1);
  const known = sizeOf(shape.filter((s) => s !== -1));
  const resolved = infer < 0 ? shape : shape.map((s) => (s === -1 ? x.size / known : s));
  if (sizeOf(resolved) !== x.size || !resolved.every((s) => Number.isInteger(s) && s >= 0)) {
    throw new ShapeError(`reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`);
  }
  return runOp(reshapeDef, [x], { shape: resolved })[0];
}

/** Inserts a size-1 dimension at `axis`. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normAxis('unsqueeze', axis, x.rank + 1);
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

/** Removes a size-1 dimension. */
export function squeeze(x: Tensor, axis: number): Tensor {
  const a = normAxis('squeeze', axis, x.rank);
  if (x.shape[a] !== 1) throw shapeError('squeeze', `dim ${axis} of x`, 'of size 1', x.shape);
  return reshape(x, x.shape.filter((_, d) => d !== a));
}

// ---------------------------------------------------------------- expand

const expandDef: OpDef<{ shape: readonly number[] }> = {
  name: 'expand',
  forward: (k, [x], { shape }) => {
    const out = k.alloc(sizeOf(shape));
    k.copyStrided(x.buf, { offset: 0, strides: broadcastStrides(x.shape, shape) }, out, { offset: 0, strides: contiguousStrides(shape) }, shape);
    return [{ buf: out, shape }];
  },
  // The walk's unbroadcast sums the gradient back to x's shape.
  backward: ([dy]) => [dy],
};

/** Broadcasts x to `shape` (a contiguous copy). */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const lead = shape.length - x.rank;
  if (lead < 0 || x.shape.some((s, d) => s !== 1 && s !== shape[d + lead])) {
    throw new ShapeError(`expand: cannot expand ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  }
  return runOp(expandDef, [x], { shape })[0];
}

// ---------------------------------------------------------------- permute

const permuteDef: OpDef<{ perm: number[] }> = {
  name: 'permute',
  forward: (k, [x], { perm }) => {
    const shape = perm.map((p) => x.shape[p]);
    const src = contiguousStrides(x.shape);
    const out = k.alloc(x.size);
    k.copyStrided(x.buf, { offset: 0, strides: perm.map((p) => src[p]) }, out, { offset: 0, strides: contiguousStrides(shape) }, shape);
    return [{ buf: out, shape }];
  },
  backward: ([dy], { attrs: { perm } }) => {
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, d) => (inverse[p] = d));
    return [permute(dy!, inverse)];
  },
};

/** Reorders dimensions: out.shape[d] = x.shape[perm[d]]. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const p = perm.map((a) => normAxis('permute', a, x.rank));
  if (p.length !== x.rank || new Set(p).size !== p.length) {
    throw new ShapeError(`permute: perm ${fmtShape(perm)} is not a permutation of the ${x.rank} dims of ${fmtShape(x.shape)}`);
  }
  return runOp(permuteDef, [x], { perm: p })[0];
}

/** Swaps two dimensions (the last two by default). */
export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  const perm = x.shape.map((_, d) => d);
  const a = normAxis('transpose', dim0, x.rank);
  const b = normAxis('transpose', dim1, x.rank);
  [perm[a], perm[b]] = [perm[b], perm[a]];
  return permute(x, perm);
}

// ---------------------------------------------------------------- slice and its adjoint, pad

interface Region {
  begin: number[];
  size: number[];
  /** The full (unsliced) shape. */
  full: readonly number[];
}

function regionOffset(r: Region): number {
  const strides = contiguousStrides(r.full);
  return r.begin.reduce((acc, b, d) => acc + b * strides[d], 0);
}

/**
 * The region as the leading block of a batch of matrices, when it starts at 0 and cuts only the
 * last two dims (the LSTMs' padding to a multiple of 4 and back): [batch, rows, cols] of the
 * block and of the full shape. pad and slice are then one Backend.padCrop, the zeros and the copy
 * in one pass, instead of a fill and a strided copy.
 */
function leadingBlock(r: Region): { batch: number; block: [number, number]; full: [number, number] } | null {
  const lead = Math.max(0, r.full.length - 2);
  if (r.begin.some((b) => b !== 0) || r.size.slice(0, lead).some((s, d) => s !== r.full[d])) return null;
  const matrix = (s: readonly number[]): [number, number] => (s.length >= 2 ? [s[lead], s[lead + 1]] : [1, s.length === 1 ? s[0] : 1]);
  return { batch: sizeOf(r.full.slice(0, lead)), block: matrix(r.size), full: matrix(r.full) };
}

const sliceDef: OpDef<Region> = {
  name: 'slice',
  forward: (k, [x], r) => {
    const m = leadingBlock(r);
    if (m) return [{ buf: k.padCrop(x.buf, m.batch, ...m.full, ...m.block), shape: r.size }];
    const out = k.alloc(sizeOf(r.size));
    k.copyStrided(x.buf, { offset: regionOffset(r), strides: contiguousStrides(r.full) }, out, { offset: 0, strides: contiguousStrides(r.size) }, r.size);
    return [{ buf: out, shape: r.size }];
  },
  backward: ([dy], { attrs }) => [runOp(padDef, [dy!], attrs)[0]],
};

/** Zeros of the full shape with x written into the region: the adjoint of slice. */
const padDef: OpDef<Region> = {
  name: 'pad',
  forward: (k, [x], r) => {
    const m = leadingBlock(r);
    if (m) return [{ buf: k.padCrop(x.buf, m.batch, ...m.block, ...m.full), shape: r.full }];
    const out = k.fill(sizeOf(r.full), 0);
    k.copyStrided(x.buf, { offset: 0, strides: contiguousStrides(r.size) }, out, { offset: regionOffset(r), strides: contiguousStrides(r.full) }, r.size);
    return [{ buf: out, shape: r.full }];
  },
  backward: ([dy], { attrs }) => [runOp(sliceDef, [dy!], attrs)[0]],
};

/** The sub-block starting at `begin` with extent `size` (-1: to the end of that dim). */
export function slice(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  if (begin.length !== x.rank || size.length !== x.rank) {
    throw new ShapeError(`slice: begin ${fmtShape(begin)} and size ${fmtShape(size)} must both have rank ${x.rank} (x is ${fmtShape(x.shape)})`);
  }
  const s = size.map((n, d) => (n === -1 ? x.shape[d] - begin[d] : n));
  if (s.some((n, d) => begin[d] < 0 || n < 0 || begin[d] + n > x.shape[d])) {
    throw new ShapeError(`slice: begin ${fmtShape(begin)} size ${fmtShape(size)} is out of bounds for x ${fmtShape(x.shape)}`);
  }
  return runOp(sliceDef, [x], { begin: [...begin], size: s, full: x.shape })[0];
}

/**
 * x with zeros around it: `widths[d] = [before, after]` zeros added at the start and the end of
 * dim d (numpy's pad with constant 0). The adjoint of slice.
 */
export function pad(x: Tensor, widths: readonly (readonly [number, number])[]): Tensor {
  if (widths.length !== x.rank || widths.some(([a, b]) => !Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0)) {
    throw new ShapeError(`pad: widths ${JSON.stringify(widths)} must hold one pair of non-negative integers per dim of x ${fmtShape(x.shape)}`);
  }
  if (widths.every(([a, b]) => a === 0 && b === 0)) return x;
  return runOp(padDef, [x], { begin: widths.map(([a]) => a), size: [...x.shape], full: x.shape.map((s, d) => widths[d][0] + s + widths[d][1]) })[0];
}

// ---------------------------------------------------------------- concat, stack

const concatDef: OpDef<{ axis: number }> = {
  name: 'concat',
  forward: (k, xs, { axis }) => {
    const shape = [...xs[0].shape];
    shape[axis] = xs.reduce((acc, x) => acc + x.shape[axis], 0);
    const out = k.alloc(sizeOf(shape));
    const dst = contiguousStrides(shape);
    let at = 0;
    for (const x of xs) {
      k.copyStrided(x.buf, { offset: 0, strides: contiguousStrides(x.shape) }, out, { offset: at * dst[axis], strides: dst }, x.shape);
      at += x.shape[axis];
    }
    return [{ buf: out, shape }];
  },
  backward: ([dy], { attrs: { axis }, inputShapes, needsGrad }) => {
    let at = 0;
    return inputShapes.map((s, i) => {
      const begin = s.map((_, d) => (d === axis ? at : 0));
      at += s[axis];
      return needsGrad[i] ? slice(dy!, begin, s) : null;
    });
  },
};

/** Joins tensors along an existing axis; all other dims must agree. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new RangeError('concat: needs at least one tensor');
  const a = normAxis('concat', axis, xs[0].rank);
  for (const [i, x] of xs.entries()) {
    if (x.rank !== xs[0].rank || x.shape.some((s, d) => d !== a && s !== xs[0].shape[d])) {
      throw new ShapeError(`concat: tensor ${i} ${fmtShape(x.shape)} does not match tensor 0 ${fmtShape(xs[0].shape)} outside axis ${axis}`);
    }
  }
  return runOp(concatDef, [...xs], { axis: a })[0];
}

const splitDef: OpDef<{ axis: number; sizes: number[] }> = {
  name: 'split',
  forward: (k, [x], { axis, sizes }) => {
    const strides = contiguousStrides(x.shape);
    let at = 0;
    return sizes.map((n) => {
      const shape = x.shape.map((s, d) => (d === axis ? n : s));
      const out = k.alloc(sizeOf(shape));
      k.copyStrided(x.buf, { offset: at * strides[axis], strides }, out, { offset: 0, strides: contiguousStrides(shape) }, shape);
      at += n;
      return { buf: out, shape };
    });
  },
  // One concat: slicing each piece instead would pad every piece's gradient to x's full shape.
  backward: (dys, { attrs: { axis, sizes }, inputShapes: [shape] }) => [
    concat(dys.map((dy, i) => dy ?? zeros(shape.map((s, d) => (d === axis ? sizes[i] : s)))), axis),
  ],
};

/**
 * x cut along `axis` into `parts` equal pieces, or into pieces of the given sizes (tf.split): the
 * steps of a sequence's input projection, for example.
 */
export function split(x: Tensor, parts: number | readonly number[], axis = 0): Tensor[] {
  const a = normAxis('split', axis, x.rank);
  const len = x.shape[a];
  const sizes = typeof parts === 'number' ? new Array<number>(parts).fill(len / parts) : [...parts];
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 0) || sizes.reduce((t, n) => t + n, 0) !== len) {
    throw new ShapeError(`split: ${typeof parts === 'number' ? `${parts} equal parts` : `sizes ${fmtShape(sizes)}`} do not divide dim ${axis} of x ${fmtShape(x.shape)}`);
  }
  return runOp(splitDef, [x], { axis: a, sizes });
}

/** Joins tensors of one shape along a new axis. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new RangeError('stack: needs at least one tensor');
  const a = normAxis('stack', axis, xs[0].rank + 1);
  for (const [i, x] of xs.entries()) {
    if (x.shape.length !== xs[0].rank || x.shape.some((s, d) => s !== xs[0].shape[d])) {
      throw new ShapeError(`stack: tensor ${i} ${fmtShape(x.shape)} does not match tensor 0 ${fmtShape(xs[0].shape)}`);
    }
  }
  return concat(xs.map((x) => unsqueeze(x, a)), a);
}
