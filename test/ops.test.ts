/**
 * Every op of the public API through checkOp: the float64 CPU oracle against plain-JS math and
 * central finite differences, then (where an adapter exists) WebGPU float32 against the oracle.
 * Edge cases with known answers (saturating tanh, clamp at its bounds, ties, dropout masks) are
 * checked on every available backend against values computed here in plain JS.
 */
import { describe, expect, test } from 'vitest';
import * as bp from '../src/autograd/index.js';
import type { Backend } from '../src/kernels/backend.js';
import { hashUniform } from '../src/kernels/hash.js';
import { describeWebGPU, getTestBackends } from './helpers/backends.js';
import {
  assertClose,
  awayFrom,
  bits,
  checkOp,
  FORWARD_TOL,
  GRAD_TOL,
  makeRng,
  nonZero,
  uniform,
  type CheckOpOptions,
  type Sampler,
  type Tolerance,
} from './helpers/check_op.js';

const { cpu64 } = await getTestBackends();

// ==================================================================== plain-JS reference math

interface Nd {
  shape: readonly number[];
  data: Float64Array;
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const nd = (shape: readonly number[], data: ArrayLike<number>): Nd => ({ shape, data: Float64Array.from(data) });

/** Every multi-index of `shape` in row-major order. */
function* indices(shape: readonly number[]): Generator<number[]> {
  const n = sizeOf(shape);
  const idx = shape.map(() => 0);
  for (let i = 0; i < n; i++) {
    yield idx.slice();
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

/** Row-major offset of a right-aligned index into `shape`, with size-1 dims broadcast. */
function offsetOf(shape: readonly number[], idx: readonly number[]): number {
  const lead = idx.length - shape.length;
  let off = 0;
  for (let d = 0; d < shape.length; d++) off = off * shape[d] + (shape[d] === 1 ? 0 : idx[d + lead]);
  return off;
}

function broadcastShapes(shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  return Array.from({ length: rank }, (_, d) => shapes.map((s) => s[s.length - rank + d] ?? 1).find((v) => v !== 1) ?? 1);
}

/** An element-wise map of any arity with NumPy broadcasting. */
function ew(xs: readonly Nd[], f: (...v: number[]) => number): Nd {
  const shape = broadcastShapes(xs.map((x) => x.shape));
  const out = new Float64Array(sizeOf(shape));
  let i = 0;
  for (const idx of indices(shape)) out[i++] = f(...xs.map((x) => x.data[offsetOf(x.shape, idx)]));
  return { shape, data: out };
}

function broadcastTo(x: Nd, shape: readonly number[]): Nd {
  return ew([x, nd(shape, new Float64Array(sizeOf(shape)))], (v) => v);
}

function reduceJs(x: Nd, op: 'sum' | 'mean' | 'max', axis: number | number[] | undefined, keepDims: boolean): Nd {
  const r = x.shape.length;
  const axes = axis === undefined ? x.shape.map((_, d) => d) : (typeof axis === 'number' ? [axis] : axis).map((a) => (a + r) % r);
  const kept = x.shape.map((s, d) => (axes.includes(d) ? 1 : s));
  const out = new Float64Array(sizeOf(kept)).fill(op === 'max' ? -Infinity : 0);
  let i = 0;
  for (const idx of indices(x.shape)) {
    const o = offsetOf(kept, idx);
    out[o] = op === 'max' ? Math.max(out[o], x.data[i]) : out[o] + x.data[i];
    i++;
  }
  if (op === 'mean') {
    const n = axes.reduce((acc, a) => acc * x.shape[a], 1);
    for (let j = 0; j < out.length; j++) out[j] /= n;
  }
  return { shape: keepDims ? kept : x.shape.filter((_, d) => !axes.includes(d)), data: out };
}

function matmulJs(a: Nd, b: Nd, transA = false, transB = false): Nd {
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const [m, k] = transA ? [ac, ar] : [ar, ac];
  const n = transB ? br : bc;
  const batchShape = a.shape.length >= b.shape.length ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
  const batch = sizeOf(batchShape);
  const aAt = (bi: number, i: number, p: number): number =>
    a.data[(a.shape.length === 2 ? 0 : bi * m * k) + (transA ? p * m + i : i * k + p)];
  const bAt = (bi: number, p: number, j: number): number =>
    b.data[(b.shape.length === 2 ? 0 : bi * k * n) + (transB ? j * k + p : p * n + j)];
  const out = new Float64Array(batch * m * n);
  for (let bi = 0; bi < batch; bi++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc += aAt(bi, i, p) * bAt(bi, p, j);
        out[(bi * m + i) * n + j] = acc;
      }
    }
  }
  return { shape: [...batchShape, m, n], data: out };
}

function permuteJs(x: Nd, perm: readonly number[]): Nd {
  const shape = perm.map((p) => x.shape[p]);
  const out = new Float64Array(x.data.length);
  let i = 0;
  for (const idx of indices(shape)) {
    const src = new Array<number>(idx.length);
    perm.forEach((p, d) => (src[p] = idx[d]));
    out[i++] = x.data[offsetOf(x.shape, src)];
  }
  return { shape, data: out };
}

function sliceJs(x: Nd, begin: readonly number[], size: readonly number[]): Nd {
  const shape = size.map((s, d) => (s === -1 ? x.shape[d] - begin[d] : s));
  const out = new Float64Array(sizeOf(shape));
  let i = 0;
  for (const idx of indices(shape)) out[i++] = x.data[offsetOf(x.shape, idx.map((v, d) => v + begin[d]))];
  return { shape, data: out };
}

function padJs(x: Nd, widths: readonly (readonly [number, number])[]): Nd {
  const shape = x.shape.map((s, d) => widths[d][0] + s + widths[d][1]);
  const out = new Float64Array(sizeOf(shape));
  let i = 0;
  for (const idx of indices(x.shape)) out[offsetOf(shape, idx.map((v, d) => v + widths[d][0]))] = x.data[i++];
  return { shape, data: out };
}

/** lstmCell: [h | c] side by side ([B, 2N]), or h or c alone; g from the last block of gates unless given. */
function lstmCellJs([gates, cp, g]: readonly Nd[], out: 'hc' | 'h' | 'c'): Nd {
  const [b, n] = cp.shape;
  const width = gates.shape[1];
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  const cols = out === 'hc' ? 2 * n : n;
  const data = new Float64Array(b * cols);
  for (let r = 0; r < b; r++) {
    for (let j = 0; j < n; j++) {
      const a = (k: number) => gates.data[r * width + k * n + j];
      const gj = g ? g.data[r * n + j] : Math.tanh(a(3));
      const c = sig(a(1)) * cp.data[r * n + j] + sig(a(0)) * gj;
      const h = sig(a(2)) * Math.tanh(c);
      if (out !== 'c') data[r * cols + j] = h;
      if (out !== 'h') data[r * cols + (out === 'hc' ? n : 0) + j] = c;
    }
  }
  return { shape: [b, cols], data };
}

function concatJs(xs: readonly Nd[], axis: number): Nd {
  const a = (axis + xs[0].shape.length) % xs[0].shape.length;
  const shape = [...xs[0].shape];
  shape[a] = xs.reduce((acc, x) => acc + x.shape[a], 0);
  const out = new Float64Array(sizeOf(shape));
  let i = 0;
  for (const idx of indices(shape)) {
    let c = idx[a];
    let t = 0;
    while (c >= xs[t].shape[a]) c -= xs[t++].shape[a];
    out[i++] = xs[t].data[offsetOf(xs[t].shape, idx.map((v, d) => (d === a ? c : v)))];
  }
  return { shape, data: out };
}

function logSumExpRows(x: Nd): { rows: number; cols: number; lse: number[] } {
  const cols = x.shape[x.shape.length - 1];
  const rows = x.data.length / cols;
  const lse: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = Array.from(x.data.subarray(r * cols, (r + 1) * cols));
    const m = Math.max(...row);
    lse.push(m + Math.log(row.reduce((acc, v) => acc + Math.exp(v - m), 0)));
  }
  return { rows, cols, lse };
}

function softmaxJs(x: Nd, log: boolean): Nd {
  const { cols, lse } = logSumExpRows(x);
  return { shape: x.shape, data: x.data.map((v, i) => (log ? v - lse[Math.floor(i / cols)] : Math.exp(v - lse[Math.floor(i / cols)]))) };
}

function crossEntropyJs(x: Nd, targets: readonly number[], reduction: 'mean' | 'sum' | 'none'): Nd {
  const { rows, cols, lse } = logSumExpRows(x);
  const losses = Array.from({ length: rows }, (_, r) => lse[r] - x.data[r * cols + targets[r]]);
  const total = losses.reduce((a, b) => a + b, 0);
  if (reduction === 'none') return nd(x.shape.slice(0, -1), losses);
  return nd([], [reduction === 'sum' ? total : total / rows]);
}

function rowsJs(table: Nd, idx: readonly number[]): Nd {
  const cols = table.shape[1];
  return nd([idx.length, cols], idx.flatMap((v) => Array.from(table.data.subarray(v * cols, (v + 1) * cols))));
}

// ==================================================================== the op cases

/** One checkOp case; `against` and `finiteDifferences` are chosen per suite. */
type OpCase = Omit<CheckOpOptions, 'against' | 'finiteDifferences'>;

const cases: OpCase[] = [];
const fmtShapes = (shapes: readonly (readonly number[])[]): string => shapes.map((s) => `[${s.join(',')}]`).join(' ');

/** Registers a case with the plain-JS reference given on Nd inputs. */
function addCase(
  name: string,
  shapes: (readonly number[])[],
  fn: (xs: bp.Tensor[]) => bp.Tensor,
  reference: ((xs: Nd[]) => Nd) | null,
  extra: Partial<OpCase> = {},
): void {
  cases.push({
    name: `${name} ${fmtShapes(shapes)}`,
    shapes,
    fn,
    reference: reference ? (xs) => reference(xs.map((data, i) => nd(shapes[i], data))) : undefined,
    ...extra,
  });
}

// ---------------------------------------------------------------- unary

const sigmoidJs = (x: number): number => 1 / (1 + Math.exp(-x));
const positive = uniform(0.1, 3);

const unaryCases: [string, (x: bp.Tensor) => bp.Tensor, (v: number) => number, Sampler?][] = [
  ['neg', bp.neg, (v) => -v],
  ['neg (method)', (x) => x.neg(), (v) => -v],
  ['exp', bp.exp, Math.exp],
  ['log', bp.log, Math.log, positive],
  ['sqrt', bp.sqrt, Math.sqrt, positive],
  ['tanh', bp.tanh, Math.tanh, nonZero(0.1, 3)],
  ['sigmoid', bp.sigmoid, sigmoidJs, nonZero(0.1, 4)],
  ['relu', bp.relu, (v) => Math.max(v, 0)],
  ['abs', bp.abs, Math.abs],
  ['sign', bp.sign, Math.sign],
  ['square', bp.square, (v) => v * v],
  ['reciprocal', bp.reciprocal, (v) => 1 / v, nonZero(0.3, 1.5)],
  ['step(0.25)', (x) => bp.step(x, 0.25), (v) => (v > 0.25 ? 1 : 0), awayFrom([0.25])],
  ['affine(1.5, -0.25)', (x) => bp.affine(x, 1.5, -0.25), (v) => 1.5 * v - 0.25],
  ['scale(-2.5)', (x) => bp.scale(x, -2.5), (v) => -2.5 * v],
  ['pow 2', (x) => bp.pow(x, 2), (v) => v ** 2],
  ['pow 3 (negative base)', (x) => bp.pow(x, 3), (v) => v ** 3],
  ['pow 0.5', (x) => bp.pow(x, 0.5), Math.sqrt, positive],
  ['pow -1.5', (x) => bp.pow(x, -1.5), (v) => v ** -1.5, positive],
  ['pow 1.7', (x) => bp.pow(x, 1.7), (v) => v ** 1.7, positive],
  ['pow -2 (negative base)', (x) => bp.pow(x, -2), (v) => v ** -2, nonZero(0.5, 1.5)],
  ['pow 0', (x) => bp.pow(x, 0), () => 1],
  ['clamp(-0.5, 0.75)', (x) => bp.clamp(x, -0.5, 0.75), (v) => Math.min(Math.max(v, -0.5), 0.75), awayFrom([-0.5, 0.75])],
  ['add scalar', (x) => bp.add(x, 0.75), (v) => v + 0.75],
  ['sub scalar', (x) => x.sub(0.75), (v) => v - 0.75],
  ['mul scalar', (x) => x.mul(-1.25), (v) => v * -1.25],
  ['div scalar', (x) => bp.div(x, 4), (v) => v / 4],
  ['exp (method)', (x) => x.exp(), Math.exp],
  ['log (method)', (x) => x.log(), Math.log, positive],
  ['tanh (method)', (x) => x.tanh(), Math.tanh],
  ['sigmoid (method)', (x) => x.sigmoid(), sigmoidJs],
  ['relu (method)', (x) => x.relu(), (v) => Math.max(v, 0)],
];

for (const [name, op, f, sampler] of unaryCases) {
  const shapes: number[][] = name.includes('method') ? [[4, 5]] : [[1], [], [4, 5], [3, 129]];
  for (const shape of shapes) addCase(name, [shape], ([x]) => op(x), ([x]) => ew([x], f), { sampler });
}

// ---------------------------------------------------------------- binary, with broadcasting

const broadcastPairs: [number[], number[]][] = [
  [[4, 5], [4, 5]],
  [[3, 1, 5], [4, 5]],
  [[4, 5], [3, 1, 5]],
  [[], [2, 3]],
  [[2, 3], []],
  [[1], [7]],
  [[7], [1]],
  [[4, 1], [1, 5]],
  [[1], [1]],
  [[3, 129], [129]],
];

const binaryCases: [string, (a: bp.Tensor, b: bp.Tensor) => bp.Tensor, (a: number, b: number) => number, Sampler[]?][] = [
  ['add', bp.add, (a, b) => a + b],
  ['sub', bp.sub, (a, b) => a - b],
  ['mul', bp.mul, (a, b) => a * b],
  ['div', bp.div, (a, b) => a / b, [nonZero(), nonZero(0.5, 1.5)]],
  ['maximum', bp.maximum, Math.max],
  ['minimum', bp.minimum, Math.min],
];

for (const [name, op, f, sampler] of binaryCases) {
  for (const pair of broadcastPairs) addCase(name, pair, ([a, b]) => op(a, b), ([a, b]) => ew([a, b], f), { sampler });
}
addCase('add (method)', [[3, 1, 5], [4, 5]], ([a, b]) => a.add(b), ([a, b]) => ew([a, b], (x, y) => x + y));
addCase('sub (method)', [[3, 1, 5], [4, 5]], ([a, b]) => a.sub(b), ([a, b]) => ew([a, b], (x, y) => x - y));
addCase('mul (method)', [[3, 1, 5], [4, 5]], ([a, b]) => a.mul(b), ([a, b]) => ew([a, b], (x, y) => x * y));
addCase('div (method)', [[3, 1, 5], [4, 5]], ([a, b]) => a.div(b), ([a, b]) => ew([a, b], (x, y) => x / y), {
  sampler: [nonZero(), nonZero(0.5, 1.5)],
});

// Comparisons have no gradient; small integers make ties frequent, so every branch is exercised.
const smallInts: Sampler = (rng) => Math.floor(rng() * 3) - 1;
const comparisons: [string, (a: bp.Tensor, b: bp.Tensor) => bp.Tensor, (a: number, b: number) => boolean][] = [
  ['eq', bp.eq, (a, b) => a === b],
  ['gt', bp.gt, (a, b) => a > b],
  ['ge', bp.ge, (a, b) => a >= b],
  ['lt', bp.lt, (a, b) => a < b],
  ['le', bp.le, (a, b) => a <= b],
];
for (const [name, op, f] of comparisons) {
  for (const pair of [broadcastPairs[0], broadcastPairs[1], broadcastPairs[3]]) {
    addCase(name, pair, ([a, b]) => op(a, b), ([a, b]) => ew([a, b], (x, y) => (f(x, y) ? 1 : 0)), {
      sampler: smallInts,
      requiresGrad: false,
    });
  }
}

// ---------------------------------------------------------------- where / masks

const whereShapes: number[][][] = [
  [[3, 4], [3, 4], [3, 4]],
  [[3, 1], [3, 4], [4]],
  [[4], [2, 4], []],
  [[1], [1], [1]],
];
for (const shapes of whereShapes) {
  addCase('where', shapes, ([c, a, b]) => bp.where(c, a, b), ([c, a, b]) => ew([c, a, b], (cv, av, bv) => (cv !== 0 ? av : bv)), {
    sampler: [bits, nonZero(), nonZero()],
    requiresGrad: [false, true, true],
  });
}
addCase(
  'where(gt(a, b), a, 2b) (mask)',
  [[5, 6], [5, 6]],
  ([a, b]) => bp.where(bp.gt(a, b), a, bp.mul(b, 2)),
  ([a, b]) => ew([a, b], (av, bv) => (av > bv ? av : 2 * bv)),
);
addCase('mask multiply', [[4, 6], [4, 6]], ([a, m]) => bp.mul(a, m), ([a, m]) => ew([a, m], (x, y) => x * y), {
  sampler: [nonZero(), bits],
  requiresGrad: [true, false],
});

// ---------------------------------------------------------------- reductions

const reduceAxes: (number | number[] | undefined)[] = [undefined, 0, 1, -1, [0, 2], [2, 0, 1]];
const reductions: ['sum' | 'mean' | 'max', (x: bp.Tensor, axis?: number | number[], keep?: boolean) => bp.Tensor][] = [
  ['sum', bp.sum],
  ['mean', bp.mean],
  ['max', bp.max],
];
for (const [op, fn] of reductions) {
  for (const axis of reduceAxes) {
    for (const keep of [false, true]) {
      addCase(`${op}(axis ${JSON.stringify(axis) ?? 'all'}, keepDims ${keep})`, [[3, 4, 5]], ([x]) => fn(x, axis, keep), ([x]) => reduceJs(x, op, axis, keep));
    }
  }
  const edges: [number[], number | undefined][] = [
    [[1, 67], 1],
    [[1, 67], 0],
    [[3, 129], -1],
    [[3, 129], 0],
    [[1], undefined],
    [[], undefined],
    [[3, 1025], 1],
    [[1025, 3], 0],
    [[2, 4099], undefined],
    // rows of whole vec4s (reduce_vec4): inner 8, and inner 12 with outer 3
    [[5, 8], 0],
    [[3, 7, 12], 1],
  ];
  for (const [shape, axis] of edges) {
    addCase(`${op}(axis ${axis ?? 'all'})`, [shape], ([x]) => fn(x, axis), ([x]) => reduceJs(x, op, axis, false), { fdSamples: 64 });
  }
}
addCase('sum (method, axis 1, keepDims)', [[3, 4]], ([x]) => x.sum(1, true), ([x]) => reduceJs(x, 'sum', 1, true));
addCase('mean (method, all)', [[3, 4]], ([x]) => x.mean(), ([x]) => reduceJs(x, 'mean', undefined, false));
addCase('max (method, axis 0)', [[3, 4]], ([x]) => x.max(0), ([x]) => reduceJs(x, 'max', 0, false));

// ---------------------------------------------------------------- matmul, outer

/** Shapes for C = op(A)·op(B) with op(A) [m, k] and op(B) [k, n], stored transposed when asked. */
function mmShapes(batchA: number[], batchB: number[], m: number, k: number, n: number, tA: boolean, tB: boolean): number[][] {
  return [
    [...batchA, ...(tA ? [k, m] : [m, k])],
    [...batchB, ...(tB ? [n, k] : [k, n])],
  ];
}

for (const tA of [false, true]) {
  for (const tB of [false, true]) {
    const opts = { transA: tA, transB: tB };
    const label = `matmul(transA ${tA}, transB ${tB})`;
    const batches: [number[], number[]][] = [
      [[], []], // 2-D
      [[3], [3]], // batched
      [[3], []], // batched A, shared 2-D B
      [[], [3]], // shared 2-D A, batched B
      [[1], [1]], // batch 1
    ];
    for (const [ba, bb] of batches) {
      const shapes = mmShapes(ba, bb, 7, 13, 5, tA, tB);
      addCase(label, shapes, ([a, b]) => bp.matmul(a, b, opts), ([a, b]) => matmulJs(a, b, tA, tB));
    }
    const big = mmShapes([], [], 65, 130, 67, tA, tB);
    addCase(label, big, ([a, b]) => bp.matmul(a, b, opts), ([a, b]) => matmulJs(a, b, tA, tB), { fdSamples: 48 });
  }
}
for (const [m, k, n] of [
  [1, 1, 1],
  [1, 67, 1],
  [67, 1, 3],
  [3, 129, 2],
]) {
  addCase('matmul', mmShapes([], [], m, k, n, false, false), ([a, b]) => bp.matmul(a, b), ([a, b]) => matmulJs(a, b), { fdSamples: 128 });
}
addCase('matmul (4-D batch)', [[2, 3, 4, 5], [2, 3, 5, 6]], ([a, b]) => bp.matmul(a, b), ([a, b]) => matmulJs(a, b));
addCase('matmul (method, transB)', [[4, 6], [5, 6]], ([a, b]) => a.matmul(b, { transB: true }), ([a, b]) => matmulJs(a, b, false, true));

/** nn.Linear: x [..., in]·wᵀ + b, as rows of a 2-D x. */
function linearJs(x: Nd, w: Nd, b: Nd): Nd {
  const [out, inp] = w.shape;
  const y = matmulJs(nd([x.data.length / inp, inp], x.data), w, false, true);
  return nd([...x.shape.slice(0, -1), out], y.data.map((v, i) => v + b.data[i % out]));
}
// [x, w, b]: the scalar kernel (in or out not a multiple of 4), the vec4 kernel, a 3-D and a 1-D x,
// one row.
for (const shapes of [
  [[3, 5], [7, 5], [7]],
  [[6, 8], [12, 8], [12]],
  [[2, 3, 8], [4, 8], [4]],
  [[5], [3, 5], [3]],
  [[1, 67], [5, 67], [5]],
]) {
  addCase('linear', shapes, ([x, w, b]) => bp.linear(x, w, b), ([x, w, b]) => linearJs(x, w, b));
  // The modulator's layer: tanh in the same kernel, its gradient through the saved output.
  addCase('linear (tanh)', shapes, ([x, w, b]) => bp.linear(x, w, b, { activation: 'tanh' }), ([x, w, b]) => {
    const y = linearJs(x, w, b);
    return nd(y.shape, y.data.map(Math.tanh));
  });
}

const outerJs = (a: Nd, b: Nd): Nd =>
  ew([nd([...a.shape, 1], a.data), nd([...b.shape.slice(0, -1), 1, b.shape[b.shape.length - 1]], b.data)], (x, y) => x * y);
for (const shapes of [
  [[5], [7]],
  [[3, 5], [3, 7]],
  [[1], [1]],
]) {
  addCase('outer', shapes, ([a, b]) => bp.outer(a, b), ([a, b]) => outerJs(a, b));
}

// ---------------------------------------------------------------- movement

addCase('reshape [12,5]', [[3, 4, 5]], ([x]) => bp.reshape(x, [12, 5]), ([x]) => nd([12, 5], x.data));
addCase('reshape [5,-1]', [[3, 4, 5]], ([x]) => x.reshape([5, -1]), ([x]) => nd([5, 12], x.data));
addCase('reshape to []', [[1, 1]], ([x]) => bp.reshape(x, []), ([x]) => nd([], x.data));
addCase('transpose (last two)', [[3, 4, 5]], ([x]) => bp.transpose(x), ([x]) => permuteJs(x, [0, 2, 1]));
addCase('transpose(0, 2)', [[3, 4, 5]], ([x]) => bp.transpose(x, 0, 2), ([x]) => permuteJs(x, [2, 1, 0]));
addCase('transpose 2-D (method)', [[7, 13]], ([x]) => x.transpose(), ([x]) => permuteJs(x, [1, 0]));
addCase('transpose [1,67]', [[1, 67]], ([x]) => bp.transpose(x), ([x]) => permuteJs(x, [1, 0]));
addCase('permute [2,0,1]', [[3, 4, 5]], ([x]) => bp.permute(x, [2, 0, 1]), ([x]) => permuteJs(x, [2, 0, 1]));
addCase('permute [1,3,0,2]', [[2, 3, 4, 5]], ([x]) => bp.permute(x, [1, 3, 0, 2]), ([x]) => permuteJs(x, [1, 3, 0, 2]));
addCase('slice [1,2]+[3,-1]', [[5, 7]], ([x]) => bp.slice(x, [1, 2], [3, -1]), ([x]) => sliceJs(x, [1, 2], [3, -1]));
addCase('slice 3-D', [[3, 4, 5]], ([x]) => bp.slice(x, [0, 1, 2], [2, 2, 3]), ([x]) => sliceJs(x, [0, 1, 2], [2, 2, 3]));
addCase('slice one element', [[3, 129]], ([x]) => bp.slice(x, [2, 128], [1, 1]), ([x]) => sliceJs(x, [2, 128], [1, 1]), { fdSamples: 64 });
addCase('pad 2-D', [[3, 5]], ([x]) => bp.pad(x, [[1, 2], [0, 3]]), ([x]) => padJs(x, [[1, 2], [0, 3]]));
// Regions that start at 0 and cut only the last two dims run Backend.padCrop.
addCase('slice the leading block of each matrix (3-D)', [[3, 6, 7]], ([x]) => bp.slice(x, [0, 0, 0], [3, 5, 4]), ([x]) => sliceJs(x, [0, 0, 0], [3, 5, 4]));
addCase('slice the leading columns, B = 1 (1-D)', [[9]], ([x]) => bp.slice(x, [0], [6]), ([x]) => sliceJs(x, [0], [6]));
addCase('pad at the ends of the last two dims (3-D)', [[2, 3, 5]], ([x]) => bp.pad(x, [[0, 0], [0, 1], [0, 3]]), ([x]) => padJs(x, [[0, 0], [0, 1], [0, 3]]));
addCase('pad at the end of a row (1-D)', [[195]], ([x]) => bp.pad(x, [[0, 1]]), ([x]) => padJs(x, [[0, 1]]));
addCase('pad 3-D, last two dims', [[2, 3, 3]], ([x]) => bp.pad(x, [[0, 0], [0, 1], [2, 1]]), ([x]) => padJs(x, [[0, 0], [0, 1], [2, 1]]));
addCase('split sizes, pieces scaled apart', [[2, 6]], ([x]) => bp.concat(bp.split(x, [1, 3, 2], 1).map((p, i) => bp.scale(p, i + 1)), 1), ([x]) =>
  ew([x, nd([1, 6], Float64Array.from([1, 2, 2, 2, 3, 3]))], (v, s) => v * s),
);
addCase('split in 3, the middle piece unused', [[6, 5]], ([x]) => {
  const [a, , c] = bp.split(x, 3);
  return bp.concat([a, c], 0);
}, ([x]) => concatJs([sliceJs(x, [0, 0], [2, 5]), sliceJs(x, [4, 0], [2, 5])], 0));
addCase('lstmCell, g from the gates', [[3, 20], [3, 5]], ([gates, cp]) => {
  const { h, c } = bp.lstmCell(gates, cp);
  return bp.concat([h, c], 1);
}, (xs) => lstmCellJs(xs, 'hc'));
addCase('lstmCell, g given', [[2, 15], [2, 5], [2, 5]], ([gates, cp, g]) => {
  const { h, c } = bp.lstmCell(gates, cp, g);
  return bp.concat([h, c], 1);
}, (xs) => lstmCellJs(xs, 'hc'));
addCase('lstmCell, h only (no gradient into c), B = 1, N = 67', [[1, 268], [1, 67]], ([gates, cp]) => bp.lstmCell(gates, cp).h, (xs) => lstmCellJs(xs, 'h'));
addCase('lstmCell, c only (no gradient into h), g given', [[4, 9], [4, 3], [4, 3]], ([gates, cp, g]) => bp.lstmCell(gates, cp, g).c, (xs) => lstmCellJs(xs, 'c'));
/** modulator: [m | eta] side by side ([R, 1 + K]), or m or eta alone. */
function modulatorJs([h, w, b, fw, fb]: readonly Nd[], out: 'both' | 'm' | 'eta'): Nd {
  const [rows, n] = h.shape;
  const k = fw?.shape[0] ?? 0;
  const m = Array.from({ length: rows }, (_, r) => Math.tanh(b.data[0] + w.data.reduce((acc, wj, j) => acc + h.data[r * n + j] * wj, 0)));
  const eta = (r: number) => Array.from({ length: k }, (_, q) => m[r] * fw.data[q] + fb.data[q]);
  if (out === 'm') return nd([rows, 1], m);
  if (out === 'eta') return nd([rows, k], m.flatMap((_, r) => eta(r)));
  return nd([rows, 1 + k], m.flatMap((mr, r) => [mr, ...eta(r)]));
}
addCase('modulator with fan-out, m and eta', [[3, 7], [1, 7], [1], [5, 1], [5]], ([h, w, b, fw, fb]) => {
  const { m, eta } = bp.modulator(h, w, b, { weight: fw, bias: fb });
  return bp.concat([m, eta!], 1);
}, (xs) => modulatorJs(xs, 'both'));
addCase('modulator, N and K past the workgroup, eta only', [[2, 130], [1, 130], [1], [67, 1], [67]], ([h, w, b, fw, fb]) => bp.modulator(h, w, b, { weight: fw, bias: fb }).eta!, (xs) => modulatorJs(xs, 'eta'));
addCase('modulator with fan-out, m only (no gradient into eta)', [[4, 9], [1, 9], [1], [9, 1], [9]], ([h, w, b, fw, fb]) => bp.modulator(h, w, b, { weight: fw, bias: fb }).m, (xs) => modulatorJs(xs, 'm'));
addCase('modulator, more rows than a workgroup', [[70, 5], [1, 5], [1], [3, 1], [3]], ([h, w, b, fw, fb]) => {
  const { m, eta } = bp.modulator(h, w, b, { weight: fw, bias: fb });
  return bp.concat([m, eta!], 1);
}, (xs) => modulatorJs(xs, 'both'));
addCase('modulator without fan-out, B = 1', [[1, 67], [1, 67], [1]], ([h, w, b]) => bp.modulator(h, w, b).m, (xs) => modulatorJs(xs, 'm'));
addCase('concat axis 0', [[2, 3], [4, 3], [1, 3]], (xs) => bp.concat(xs, 0), (xs) => concatJs(xs, 0));
addCase('concat axis 1', [[2, 3], [2, 1], [2, 5]], (xs) => bp.concat(xs, 1), (xs) => concatJs(xs, 1));
addCase('concat axis -1 (3-D)', [[2, 3, 4], [2, 3, 1]], (xs) => bp.concat(xs, -1), (xs) => concatJs(xs, -1));
addCase('concat one tensor', [[3, 4]], (xs) => bp.concat(xs, 0), ([x]) => x);
const stackJs = (xs: Nd[], axis: number): Nd => {
  const a = (axis + xs[0].shape.length + 1) % (xs[0].shape.length + 1);
  return concatJs(
    xs.map((x) => nd([...x.shape.slice(0, a), 1, ...x.shape.slice(a)], x.data)),
    a,
  );
};
for (const axis of [0, 1, -1]) {
  addCase(`stack axis ${axis}`, [[2, 3], [2, 3], [2, 3]], (xs) => bp.stack(xs, axis), (xs) => stackJs(xs, axis));
}
addCase('unsqueeze 0', [[3, 4]], ([x]) => bp.unsqueeze(x, 0), ([x]) => nd([1, 3, 4], x.data));
addCase('unsqueeze -1', [[3, 4]], ([x]) => bp.unsqueeze(x, -1), ([x]) => nd([3, 4, 1], x.data));
addCase('squeeze 1', [[3, 1, 4]], ([x]) => bp.squeeze(x, 1), ([x]) => nd([3, 4], x.data));
addCase('squeeze -1', [[3, 1]], ([x]) => bp.squeeze(x, -1), ([x]) => nd([3], x.data));
for (const [from, to] of [
  [[3, 1], [2, 3, 4]],
  [[], [3]],
  [[1], [5]],
  [[4], [3, 4]],
  [[2, 1, 3], [2, 5, 3]],
]) {
  addCase(`expand to [${to.join(',')}]`, [from], ([x]) => bp.expand(x, to), ([x]) => broadcastTo(x, to));
}

// ---------------------------------------------------------------- embedding, gather

const embeddingCases: [number[], number[]][] = [
  [[10, 4], [3, 1, 3, 3, 0, 9]],
  [[1, 67], [0, 0, 0]],
  [[5, 129], [4, 4, 2, 0]],
  [[3, 1], [2]],
];
for (const [shape, idx] of embeddingCases) {
  addCase(`embedding idx ${JSON.stringify(idx)}`, [shape], ([t]) => bp.embedding(t, idx), ([t]) => rowsJs(t, idx), { fdSamples: 128 });
}
const gatherCases: [number[], number[]][] = [
  [[4, 6], [5, 0, 2, 2]],
  [[2, 3, 5], [0, 4, 4, 1, 2, 3]],
  [[1, 1], [0]],
  [[3, 129], [128, 0, 64]],
];
for (const [shape, idx] of gatherCases) {
  addCase(
    `gather idx ${JSON.stringify(idx)}`,
    [shape],
    ([x]) => bp.gather(x, idx),
    ([x]) => {
      const cols = shape[shape.length - 1];
      return nd(shape.slice(0, -1), idx.map((c, r) => x.data[r * cols + c]));
    },
    { fdSamples: 128 },
  );
}

// ---------------------------------------------------------------- softmax family

const softmaxShapes: number[][] = [[4, 7], [1, 67], [3, 129], [5], [2, 3, 4], [1, 1], [2, 1000]];
for (const shape of softmaxShapes) {
  const opts = { sampler: nonZero(0.1, 3), fdSamples: 96 };
  addCase('softmax', [shape], ([x]) => bp.softmax(x), ([x]) => softmaxJs(x, false), opts);
  addCase('logSoftmax', [shape], ([x]) => bp.logSoftmax(x, -1), ([x]) => softmaxJs(x, true), opts);
}

const xentCases: [number[], number[]][] = [
  [[5, 7], [0, 6, 3, 3, 1]],
  [[2, 3, 4], [0, 3, 3, 1, 2, 2]],
  [[1, 67], [66]],
  [[3, 129], [0, 128, 64]],
  [[1, 1], [0]],
];
for (const [shape, targets] of xentCases) {
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    addCase(
      `crossEntropy(${reduction}) targets ${JSON.stringify(targets)}`,
      [shape],
      ([x]) => bp.crossEntropy(x, targets, { reduction }),
      ([x]) => crossEntropyJs(x, targets, reduction),
      { sampler: nonZero(0.1, 3), fdSamples: 96 },
    );
  }
}
addCase('crossEntropy (default: mean)', [[4, 3]], ([x]) => bp.crossEntropy(x, [2, 0, 1, 1]), ([x]) => crossEntropyJs(x, [2, 0, 1, 1], 'mean'));

// ---------------------------------------------------------------- dropout

// The mask is defined by the kernel contract (backend.ts): keep element i iff hashUniform(seed, i) >= p.
const dropoutJs = (x: Nd, p: number, seed: number): Nd =>
  nd(x.shape, x.data.map((v, i) => (hashUniform(seed, i) >= p ? v / (1 - p) : 0)));
for (const [shape, p, seed] of [
  [[4, 50], 0.3, 42],
  [[3, 129], 0.5, 7],
  [[1], 0.1, 3],
  [[2, 3], 0, 5],
] as [number[], number, number][]) {
  addCase(`dropout(p ${p}, seed ${seed})`, [shape], ([x]) => bp.dropout(x, p, seed), ([x]) => dropoutJs(x, p, seed), { fdSamples: 64 });
}

// ---------------------------------------------------------------- high ranks

// Alternating broadcast patterns cannot be merged into fewer dims: kernels see every dimension.
addCase('addN of 2', [[3, 5], [3, 5]], (xs) => bp.addN(xs), (xs) => ew(xs, (...v) => v.reduce((a, b) => a + b)));
addCase('addN of 7 (one kernel)', Array.from({ length: 7 }, () => [2, 3, 3]), (xs) => bp.addN(xs), (xs) => ew(xs, (...v) => v.reduce((a, b) => a + b)));
addCase('addN of 9 (two kernels)', Array.from({ length: 9 }, () => [13]), (xs) => bp.addN(xs), (xs) => ew(xs, (...v) => v.reduce((a, b) => a + b)));
addCase('add rank 6', [[2, 1, 3, 1, 2, 1], [1, 3, 1, 2, 1, 3]], ([a, b]) => bp.add(a, b), ([a, b]) => ew([a, b], (x, y) => x + y));
addCase('mul rank 8', [[2, 1, 2, 1, 2, 1, 2, 1], [1, 2, 1, 2, 1, 2, 1, 2]], ([a, b]) => bp.mul(a, b), ([a, b]) => ew([a, b], (x, y) => x * y));
addCase(
  'where rank 6',
  [[2, 1, 2, 1, 2, 1], [1, 2, 1, 2, 1, 2], [2, 2, 1, 1, 2, 2]],
  ([c, a, b]) => bp.where(c, a, b),
  ([c, a, b]) => ew([c, a, b], (cv, av, bv) => (cv !== 0 ? av : bv)),
  { sampler: [bits, nonZero(), nonZero()], requiresGrad: [false, true, true] },
);
addCase('permute rank 6', [[2, 3, 2, 3, 2, 3]], ([x]) => bp.permute(x, [5, 3, 1, 0, 2, 4]), ([x]) => permuteJs(x, [5, 3, 1, 0, 2, 4]));
addCase('sum rank 6, axes [1,3,5]', [[2, 3, 2, 3, 2, 3]], ([x]) => bp.sum(x, [1, 3, 5]), ([x]) => reduceJs(x, 'sum', [1, 3, 5], false));
addCase('sum rank 4, neighbouring axes [1,2] (one reduction)', [[2, 3, 5, 2]], ([x]) => bp.sum(x, [1, 2]), ([x]) => reduceJs(x, 'sum', [1, 2], false));
addCase('sum [3,1,4,5], axes [0,1,2] keepDims', [[3, 1, 4, 5]], ([x]) => bp.sum(x, [0, 1, 2], true), ([x]) => reduceJs(x, 'sum', [0, 1, 2], true));
addCase('max [3,4,5], axes [1,2] keepDims', [[3, 4, 5]], ([x]) => bp.max(x, [1, 2], true), ([x]) => reduceJs(x, 'max', [1, 2], true));
addCase('max rank 6, axes [0,2,4]', [[2, 3, 2, 3, 2, 3]], ([x]) => bp.max(x, [0, 2, 4], true), ([x]) => reduceJs(x, 'max', [0, 2, 4], true));

// ---------------------------------------------------------------- empty tensors

addCase('exp (empty)', [[0, 3]], ([x]) => bp.exp(x), ([x]) => ew([x], Math.exp));
addCase('add broadcast (empty)', [[0, 3], [3]], ([a, b]) => bp.add(a, b), ([a, b]) => ew([a, b], (x, y) => x + y));
addCase('sum over an empty axis', [[0, 3]], ([x]) => bp.sum(x, 0), ([x]) => reduceJs(x, 'sum', 0, false));
addCase('matmul with k = 0', [[2, 0], [0, 3]], ([a, b]) => bp.matmul(a, b), ([a, b]) => matmulJs(a, b));
addCase('concat with an empty tensor', [[0, 3], [2, 3]], (xs) => bp.concat(xs, 0), (xs) => concatJs(xs, 0));

// ---------------------------------------------------------------- a composite

addCase(
  'two-layer MLP with cross-entropy',
  [[6, 5], [5, 8], [8], [8, 3]],
  ([x, w1, b1, w2]) => bp.crossEntropy(bp.matmul(bp.tanh(bp.add(bp.matmul(x, w1), b1)), w2), [0, 2, 1, 1, 0, 2], { reduction: 'sum' }),
  null,
);

// ==================================================================== suites

describe('ops: plain-JS forward and finite-difference gradients [cpu f64]', () => {
  test('every case has a unique name', () => {
    const names = cases.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
  });
  for (const c of cases) test(c.name, async () => void (await checkOp(cpu64, { ...c, finiteDifferences: true })));
});

/**
 * Sizes that only matter to GPU kernels: more than 65535·64 threads (2-D dispatch grids), more
 * than 65535 rows, long multi-pass reductions, big tiled matmuls. The float64 CPU is the oracle;
 * finite differences and the plain-JS reference are skipped (the small cases cover them).
 */
const GRID = 65535 * 64 + 66;
const LONG_DOT_TOL: Tolerance = { atol: 5e-4, rtol: 1e-3 };
const largeCases: OpCase[] = [
  { name: `exp [${GRID}]`, shapes: [[GRID]], fn: ([x]) => bp.exp(x) },
  { name: 'add [2049,2049] + [2049]', shapes: [[2049, 2049], [2049]], fn: ([a, b]) => bp.add(a, b) },
  { name: `mul [${GRID}] * [1]`, shapes: [[GRID], [1]], fn: ([a, b]) => bp.mul(a, b), gradTol: { atol: 1e-4, rtol: 2e-3 } },
  { name: 'sum all [1000003]', shapes: [[1_000_003]], fn: ([x]) => bp.sum(x) },
  { name: 'max axis 1 [3,300001]', shapes: [[3, 300_001]], fn: ([x]) => bp.max(x, 1) },
  { name: 'sum axis 0 [100000,3]', shapes: [[100_000, 3]], fn: ([x]) => bp.sum(x, 0) },
  { name: 'sum axis 0 [100000,4] (vec4 rows, split into runs)', shapes: [[100_000, 4]], fn: ([x]) => bp.sum(x, 0) },
  { name: 'mean axis 1 [70000,70]', shapes: [[70_000, 70]], fn: ([x]) => bp.mean(x, 1) },
  // A float32 dot product of length k = 1000 with terms of size ~1 carries an absolute error of
  // ~1e-4 where the result cancels to near zero; bugs show up as errors of order 1.
  { name: 'matmul [300,1000]x[1000,257]', shapes: [[300, 1000], [1000, 257]], fn: ([a, b]) => bp.matmul(a, b), forwardTol: LONG_DOT_TOL },
  {
    name: 'matmul transA transB [1000,300]x[257,1000]',
    shapes: [[1000, 300], [257, 1000]],
    fn: ([a, b]) => bp.matmul(a, b, { transA: true, transB: true }),
    forwardTol: LONG_DOT_TOL,
  },
  { name: 'matmul batched [70,33,65]x[70,65,31]', shapes: [[70, 33, 65], [70, 65, 31]], fn: ([a, b]) => bp.matmul(a, b) },
  // Large products with dims not multiples of 4 run the vec4 kernel on zero-padded copies.
  { name: 'matmul transA [195,301]x[195,257] (padded m, n)', shapes: [[195, 301], [195, 257]], fn: ([a, b]) => bp.matmul(a, b, { transA: true }), forwardTol: LONG_DOT_TOL },
  { name: 'linear [300,195]·[1001,195]ᵀ + [1001] (padded k, n, bias)', shapes: [[300, 195], [1001, 195], [1001]], fn: ([x, w, b]) => bp.linear(x, w, b), forwardTol: LONG_DOT_TOL },
  {
    name: 'linear tanh [300,195]·[1001,195]ᵀ + [1001] (padded, tanh in the vec4 kernel)',
    shapes: [[300, 195], [1001, 195], [1001]],
    fn: ([x, w, b]) => bp.linear(x, w, b, { activation: 'tanh' }),
    forwardTol: LONG_DOT_TOL,
  },
  { name: 'matmul [2,150,99]x[99,301] (padded, B shared)', shapes: [[2, 150, 99], [99, 301]], fn: ([a, b]) => bp.matmul(a, b), forwardTol: LONG_DOT_TOL },
  { name: 'softmax [70000,3]', shapes: [[70_000, 3]], fn: ([x]) => bp.softmax(x) },
  { name: 'logSoftmax [2,5000]', shapes: [[2, 5000]], fn: ([x]) => bp.logSoftmax(x) },
  {
    name: 'crossEntropy(none) [70000,5]',
    shapes: [[70_000, 5]],
    fn: ([x]) => bp.crossEntropy(x, Array.from({ length: 70_000 }, (_, r) => (r * 3) % 5), { reduction: 'none' }),
  },
  { name: 'transpose [3,1400001]', shapes: [[3, 1_400_001]], fn: ([x]) => bp.transpose(x) },
  { name: 'slice [5,900001] → [3,800000]', shapes: [[5, 900_001]], fn: ([x]) => bp.slice(x, [1, 100_001], [3, -1]) },
  { name: 'concat axis 1 [2,1100000] x2', shapes: [[2, 1_100_000], [2, 1_100_000]], fn: (xs) => bp.concat(xs, 1) },
  {
    name: 'embedding [100,16] with 70000 repeated indices',
    shapes: [[100, 16]],
    fn: ([t]) => bp.embedding(t, Array.from({ length: 70_000 }, (_, r) => (r * 37) % 100)),
    gradTol: { atol: 1e-3, rtol: 1e-3 },
  },
  { name: 'gather [70000,4]', shapes: [[70_000, 4]], fn: ([x]) => bp.gather(x, Array.from({ length: 70_000 }, (_, r) => r % 4)) },
  { name: `dropout [${GRID}]`, shapes: [[GRID]], fn: ([x]) => bp.dropout(x, 0.4, 77) },
];

describeWebGPU('ops: webgpu f32 against the cpu f64 oracle', (gpu) => {
  for (const c of cases) {
    test(c.name, async () => void (await checkOp(cpu64, { ...c, against: gpu, finiteDifferences: false, reference: undefined })));
  }
  describe('large sizes', () => {
    for (const c of largeCases) test(c.name, async () => void (await checkOp(cpu64, { ...c, against: gpu, finiteDifferences: false })));
  });
});

// ==================================================================== edge cases with known answers

/** Runs fn(x) and y.backward(dy) on `backend`; returns y and each input's gradient as host arrays. */
async function run(
  backend: Backend,
  inputs: { data: number[]; shape: number[] }[],
  fn: (xs: bp.Tensor[]) => bp.Tensor,
  dyData?: number[],
): Promise<{ y: number[]; shape: number[]; grads: (number[] | null)[] }> {
  bp.setBackend(backend);
  const xs = inputs.map((x) => bp.tensor(x.data, x.shape, { requiresGrad: true }));
  const y = bp.tidy(() => fn(xs));
  const dy = bp.tensor(dyData ?? new Array<number>(y.size).fill(1), y.shape);
  y.backward(dy);
  // `+ 0` turns -0 into 0, so exact comparisons do not depend on the sign of a zero.
  const host = async (t: bp.Tensor): Promise<number[]> => Array.from(await t.data(), (v) => v + 0);
  const out = {
    y: await host(y),
    shape: [...y.shape],
    grads: await Promise.all(xs.map((x) => (x.grad ? host(x.grad) : null))),
  };
  bp.dispose([...xs, y, dy]);
  return out;
}

function edgeCases(backend: Backend, tol: Tolerance, gradTol: Tolerance): void {
  test('tanh saturates to exactly ±1 at ±20, ±100, ±1000 with a zero, finite gradient', async () => {
    const x = [-1000, -100, -20, 20, 100, 1000];
    const { y, grads } = await run(backend, [{ data: x, shape: [6] }], ([t]) => bp.tanh(t));
    expect(y).toEqual(x.map(Math.sign));
    expect(grads[0]!.every((g) => Number.isFinite(g) && Math.abs(g) < 1e-7)).toBe(true);
  });

  test('sigmoid is finite at ±100 and ±1000, saturating to 0 and 1', async () => {
    const x = [-1000, -100, 100, 1000, 0];
    const { y, grads } = await run(backend, [{ data: x, shape: [5] }], ([t]) => bp.sigmoid(t));
    expect(y.every(Number.isFinite)).toBe(true);
    assertClose('sigmoid(±100, ±1000, 0)', y, [0, 0, 1, 1, 0.5], { atol: 1e-30, rtol: 1e-6 });
    assertClose('sigmoid grad', grads[0]!, [0, 0, 0, 0, 0.25], { atol: 1e-30, rtol: 1e-6 });
  });

  test('clamp passes the gradient at both bounds exactly (bounds included) and blocks it outside', async () => {
    const x = [-2, -0.5, 0, 0.25, 0.75, 3];
    const dy = [1.5, -2, 3, 0.5, -1.25, 4];
    const { y, grads } = await run(backend, [{ data: x, shape: [2, 3] }], ([t]) => bp.clamp(t, -0.5, 0.75), dy);
    expect(y).toEqual([-0.5, -0.5, 0, 0.25, 0.75, 0.75]);
    expect(grads[0]).toEqual([0, -2, 3, 0.5, -1.25, 0]);
  });

  test('relu, sign and step at their kinks: gradient 0 at x = 0 (PyTorch), step strict', async () => {
    const x = [-1, 0, 2];
    const r = await run(backend, [{ data: x, shape: [3] }], ([t]) => bp.relu(t), [5, 6, 7]);
    expect(r.y).toEqual([0, 0, 2]);
    expect(r.grads[0]).toEqual([0, 0, 7]);
    bp.setBackend(backend);
    const t = bp.tensor([-1, 0, 0.5, 1], [4]);
    const sign = bp.sign(t);
    const step = bp.step(t, 0.5);
    expect(Array.from(await sign.data())).toEqual([-1, 0, 1, 1]);
    expect(Array.from(await step.data())).toEqual([0, 0, 0, 1]);
    bp.dispose([t, sign, step]);
  });

  test('max over an axis splits the gradient evenly among tied maxima', async () => {
    const x = [1, 3, 3, 2, 2, 2, -1, 0, -5];
    const { y, grads } = await run(backend, [{ data: x, shape: [3, 3] }], ([t]) => bp.max(t, 1), [6, 3, 1.5]);
    expect(y).toEqual([3, 2, 0]);
    assertClose('max tie grad', grads[0]!, [0, 3, 3, 1, 1, 1, 0, 1.5, 0], gradTol);
  });

  test('max over everything with a tie', async () => {
    const { y, grads } = await run(backend, [{ data: [4, -1, 4, 2], shape: [2, 2] }], ([t]) => bp.max(t), [2]);
    expect(y).toEqual([4]);
    assertClose('max all tie grad', grads[0]!, [1, 0, 1, 0], gradTol);
  });

  test('maximum/minimum split the gradient in half on ties (torch.maximum)', async () => {
    const a = { data: [1, 2, 3], shape: [3] };
    const b = { data: [1, 5, 0], shape: [3] };
    const mx = await run(backend, [a, b], ([p, q]) => bp.maximum(p, q), [2, 4, 8]);
    expect(mx.y).toEqual([1, 5, 3]);
    expect(mx.grads).toEqual([
      [1, 0, 8],
      [1, 4, 0],
    ]);
    const mn = await run(backend, [a, b], ([p, q]) => bp.minimum(p, q), [2, 4, 8]);
    expect(mn.y).toEqual([1, 2, 0]);
    expect(mn.grads).toEqual([
      [1, 4, 0],
      [1, 0, 8],
    ]);
  });

  test('softmax, logSoftmax and crossEntropy are stable for logits near ±1000', async () => {
    const base = [0, 1, 2, -0.5];
    const want = softmaxJs(nd([4], base), false).data;
    const wantLog = softmaxJs(nd([4], base), true).data;
    for (const shift of [1000, -1000]) {
      const x = { data: base.map((v) => v + shift), shape: [1, 4] };
      const s = await run(backend, [x], ([t]) => bp.softmax(t));
      assertClose(`softmax(x ${shift > 0 ? '+' : '-'} 1000)`, s.y, want, tol);
      const ls = await run(backend, [x], ([t]) => bp.logSoftmax(t));
      assertClose(`logSoftmax(x ${shift > 0 ? '+' : '-'} 1000)`, ls.y, wantLog, tol);
      const ce = await run(backend, [x], ([t]) => bp.crossEntropy(t, [2]));
      assertClose('crossEntropy at ±1000', ce.y, [-wantLog[2]], tol);
      assertClose('crossEntropy grad at ±1000', ce.grads[0]!, Array.from(want, (p, c) => p - (c === 2 ? 1 : 0)), gradTol);
    }
  });

  test('dropout: the mask zeroes about p of a large tensor, scales the rest by 1/(1-p); grad = mask·dy/(1-p)', async () => {
    const n = 20000;
    const p = 0.3;
    const rng = makeRng(99);
    const x = Array.from({ length: n }, () => Math.fround(nonZero()(rng)));
    const dy = Array.from({ length: n }, () => Math.fround(nonZero()(rng)));
    const { y, grads } = await run(backend, [{ data: x, shape: [n] }], ([t]) => bp.dropout(t, p, 1234), dy);
    const kept = y.map((v) => v !== 0);
    const fraction = 1 - kept.filter(Boolean).length / n;
    expect(Math.abs(fraction - p)).toBeLessThan(0.02);
    assertClose('dropout forward', y, x.map((v, i) => (kept[i] ? v / (1 - p) : 0)), tol);
    assertClose('dropout grad', grads[0]!, dy.map((d, i) => (kept[i] ? d / (1 - p) : 0)), gradTol);
    expect(grads[0]!.every((g, i) => kept[i] || g === 0)).toBe(true);
  });

  test('dropout: different seeds give different masks; p = 0 is the identity', async () => {
    bp.setBackend(backend);
    const x = bp.ones([256]);
    const a = bp.dropout(x, 0.5, 1);
    const b = bp.dropout(x, 0.5, 2);
    const id = bp.dropout(x, 0, 3);
    const [ya, yb, yid] = [await a.data(), await b.data(), await id.data()];
    expect(Array.from(ya).some((v, i) => (v === 0) !== (yb[i] === 0))).toBe(true);
    expect(Array.from(yid).every((v) => v === 1)).toBe(true);
    bp.dispose([x, a, b, id]);
  });

  test('pow with integer exponents on negative bases (PyTorch semantics)', async () => {
    const x = [-2, -0.5, 1.5];
    for (const p of [2, 3, -1]) {
      const { y, grads } = await run(backend, [{ data: x, shape: [3] }], ([t]) => bp.pow(t, p));
      assertClose(`pow(x, ${p})`, y, x.map((v) => v ** p), tol);
      assertClose(`pow(x, ${p}) grad`, grads[0]!, x.map((v) => p * v ** (p - 1)), gradTol);
    }
  });

  test('embedding scatter-add sums the gradient of repeated indices', async () => {
    const table = { data: [1, 2, 3, 4, 5, 6], shape: [3, 2] };
    const dy = [1, 2, 10, 20, 100, 200, 1000, 2000];
    const { y, grads } = await run(backend, [table], ([t]) => bp.embedding(t, [2, 0, 2, 2]), dy);
    expect(y).toEqual([5, 6, 1, 2, 5, 6, 5, 6]);
    expect(grads[0]).toEqual([10, 20, 0, 0, 1101, 2202]);
  });
}

describe('ops: edge cases with known answers [cpu f64]', () => {
  edgeCases(cpu64, { atol: 1e-12, rtol: 1e-12 }, { atol: 1e-12, rtol: 1e-12 });

  test('a reduction over neighbouring axes is one reduce (axes apart: one per run of them)', () => {
    bp.setBackend(cpu64);
    const calls: [number, number, number][] = [];
    const reduce = cpu64.reduce.bind(cpu64);
    cpu64.reduce = (op, x, outer, len, inner) => (calls.push([outer, len, inner]), reduce(op, x, outer, len, inner));
    try {
      const x = bp.tensor(Array.from({ length: 60 }, (_, i) => i), [3, 4, 5], { requiresGrad: true });
      const all = bp.sum(x);
      all.backward();
      expect(calls).toEqual([[1, 60, 1]]);
      calls.length = 0;
      bp.dispose([bp.sum(x, [0, 2]), bp.max(x, [1, 2])]);
      expect(calls).toEqual([[1, 3, 20], [4, 5, 1], [3, 20, 1]]);
      bp.dispose([all, x]);
    } finally {
      cpu64.reduce = reduce;
    }
  });
});

describeWebGPU('ops: edge cases with known answers', (gpu, cpu) => {
  edgeCases(gpu, FORWARD_TOL, GRAD_TOL);

  test('an input disposed while queued work still reads it is not overwritten by a later upload', async () => {
    bp.setBackend(gpu);
    const n = 1000;
    const a = Array.from({ length: n }, (_, i) => (i % 10) / 10);
    const x = bp.tensor(a, [n]);
    const y = bp.exp(x);
    x.dispose(); // its buffer may go back to the pool before exp has run
    const w = bp.tensor(new Array<number>(n).fill(5), [n]); // same size: a pool hit if released early
    const z = bp.mul(w, 2);
    assertClose('exp of the disposed input', Array.from(await y.data()), a.map(Math.exp), FORWARD_TOL);
    expect(Array.from(await z.data()).every((v) => v === 10)).toBe(true);
    bp.dispose([y, w, z]);
  });

  test('dropout masks agree bit for bit with the cpu oracle (same zero positions)', async () => {
    const n = 4099;
    const x = Array.from({ length: n }, (_, i) => 1 + (i % 7));
    for (const [p, seed] of [
      [0.3, 42],
      [0.5, 0xdeadbeef],
      [0.9, 0],
    ]) {
      const masks: boolean[][] = [];
      for (const backend of [cpu, gpu]) {
        const { y } = await run(backend, [{ data: x, shape: [n] }], ([t]) => bp.dropout(t, p, seed));
        masks.push(y.map((v) => v === 0));
      }
      const differing = masks[0].flatMap((z, i) => (z !== masks[1][i] ? [i] : []));
      expect(differing, `dropout p ${p} seed ${seed}: zero positions differ at ${differing.slice(0, 10).join(', ')}`).toEqual([]);
    }
  });
});
