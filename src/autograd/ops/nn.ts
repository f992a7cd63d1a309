/** Neural-net ops: softmax family, fused cross-entropy, dropout, embedding, per-row gather, the LSTM cell, the neuromodulator. */
import { fmtShape, ShapeError } from '../errors.js';
import { runOp, type OpDef } from '../graph.js';
import { fromBuffer, Tensor } from '../tensor.js';
import { exp, mul, sub } from './elementwise.js';
import { reshape } from './movement.js';
import { mean, sum } from './reduce.js';

/** Rows × cols view of a tensor whose last axis is the class axis. */
function rowsCols(x: Tensor): [number, number] {
  const cols = x.shape[x.rank - 1];
  return [x.size / cols, cols];
}

function checkLastAxis(op: string, x: Tensor, axis: number): void {
  if (x.rank === 0) throw new ShapeError(`${op}: x must have at least 1 dim, got ${fmtShape(x.shape)}`);
  if (axis !== -1 && axis !== x.rank - 1) throw new RangeError(`${op}: only the last axis is supported, got axis ${axis} for ${fmtShape(x.shape)}`);
}

const softmaxDef: OpDef<{ log: boolean }> = {
  name: 'softmax',
  forward: (k, [x], { log }) => [{ buf: k.softmax(x.buf, ...rowsCols(x), log), shape: x.shape }],
  save: (_, [y]) => [y],
  backward: ([dy], { attrs: { log }, saved: [y] }) =>
    log
      ? // d logsoftmax: dx = dy − softmax·Σdy
        [sub(dy!, mul(exp(y), sum(dy!, -1, true)))]
      : // d softmax: dx = y ⊙ (dy − Σ dy⊙y)
        [mul(y, sub(dy!, sum(mul(dy!, y), -1, true)))],
};

/** Softmax over the last axis (numerically stable). */
export function softmax(x: Tensor, axis = -1): Tensor {
  checkLastAxis('softmax', x, axis);
  return runOp(softmaxDef, [x], { log: false })[0];
}

/** log(softmax(x)) over the last axis, computed stably in one kernel. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  checkLastAxis('logSoftmax', x, axis);
  return runOp(softmaxDef, [x], { log: true })[0];
}

function toIndices(op: string, arg: string, idx: ArrayLike<number>, bound: number): Int32Array {
  const out = Int32Array.from(idx);
  for (let i = 0; i < out.length; i++) {
    if (out[i] !== idx[i] || out[i] < 0 || out[i] >= bound) {
      throw new RangeError(`${op}: ${arg}[${i}] = ${idx[i]} is not an integer in [0, ${bound})`);
    }
  }
  return out;
}

const crossEntropyDef: OpDef<{ targets: Int32Array }> = {
  name: 'crossEntropy',
  forward: (k, [x], { targets }) => [{ buf: k.crossEntropy(x.buf, ...rowsCols(x), targets), shape: x.shape.slice(0, -1) }],
  save: ([x]) => [x],
  // d loss_r / d x[r, c] = softmax(x)[r, c] − [c = target_r], recomputed from the logits in one kernel
  backward: ([dy], { attrs: { targets }, saved: [x] }) => {
    const [rows, cols] = rowsCols(x);
    return [runOp(xentBackwardDef, [x, dy!], { targets, rows, cols })[0]];
  },
};

const xentBackwardDef: OpDef<{ targets: Int32Array; rows: number; cols: number }> = {
  name: 'crossEntropyBackward',
  forward: (k, [x, dy], { targets, rows, cols }) => [{ buf: k.crossEntropyBackward(x.buf, dy.buf, rows, cols, targets), shape: x.shape }],
};

export interface CrossEntropyOptions {
  reduction?: 'mean' | 'sum' | 'none';
}

/**
 * Cross-entropy between logits [..., C] and integer class targets (one per row), fused with a
 * stable log-softmax: loss = logsumexp(x) − x[target].
 */
export function crossEntropy(logits: Tensor, targets: ArrayLike<number>, opts: CrossEntropyOptions = {}): Tensor {
  checkLastAxis('crossEntropy', logits, -1);
  const [rows, cols] = rowsCols(logits);
  if (targets.length !== rows) {
    throw new ShapeError(`crossEntropy: targets has ${targets.length} entries but logits ${fmtShape(logits.shape)} has ${rows} rows`);
  }
  const losses = runOp(crossEntropyDef, [logits], { targets: toIndices('crossEntropy', 'targets', targets, cols) })[0];
  const reduction = opts.reduction ?? 'mean';
  return reduction === 'none' ? losses : reduction === 'sum' ? sum(losses) : mean(losses);
}

const dropoutDef: OpDef<{ p: number; seed: number }> = {
  name: 'dropout',
  forward: (k, [x], { p, seed }) => [{ buf: k.dropout(x.buf, x.size, p, seed), shape: x.shape }],
  // The mask is a hash of (seed, index): the backward regenerates it instead of saving it.
  backward: ([dy], { attrs }) => [runOp(dropoutDef, [dy!], attrs)[0]],
};

/**
 * Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1−p).
 * `seed` (a u32) fixes the mask; draw it from a seeded `Rng` for reproducible runs.
 */
export function dropout(x: Tensor, p: number, seed: number): Tensor {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout: p must be in [0, 1), got ${p}`);
  if (p === 0) return reshape(x, x.shape);
  return runOp(dropoutDef, [x], { p, seed: seed >>> 0 })[0];
}

const gatherRowsDef: OpDef<{ idx: Int32Array }> = {
  name: 'gatherRows',
  forward: (k, [table], { idx }) => {
    const [rows, cols] = table.shape;
    return [{ buf: k.gatherRows(table.buf, rows, cols, idx), shape: [idx.length, cols] }];
  },
  // d table[v] = Σ_{r: idx[r] = v} dy[r]: a deterministic scatter-add (WGSL has no float atomics)
  backward: ([dy], { attrs: { idx }, inputShapes }) => [runOp(scatterAddRowsDef, [dy!], { idx, rows: inputShapes[0][0] })[0]],
};

const scatterAddRowsDef: OpDef<{ idx: Int32Array; rows: number }> = {
  name: 'scatterAddRows',
  forward: (k, [dy], { idx, rows }) => {
    const cols = dy.shape[1];
    return [{ buf: k.scatterAddRows(dy.buf, rows, cols, idx), shape: [rows, cols] }];
  },
  backward: ([d], { attrs: { idx } }) => [runOp(gatherRowsDef, [d!], { idx })[0]],
};

/** Rows of `table` [V, D] at the given indices: out [n, D]. Its backward is a scatter-add. */
export function embedding(table: Tensor, indices: ArrayLike<number>): Tensor {
  if (table.rank !== 2) throw new ShapeError(`embedding: table must be [V, D], got ${fmtShape(table.shape)}`);
  return runOp(gatherRowsDef, [table], { idx: toIndices('embedding', 'indices', indices, table.shape[0]) })[0];
}

/** Picks one entry per row of x [..., C]: out[r] = x[r, indices[r]], shape x.shape[:-1]. */
export function gather(x: Tensor, indices: ArrayLike<number>): Tensor {
  checkLastAxis('gather', x, -1);
  const [rows, cols] = rowsCols(x);
  if (indices.length !== rows) {
    throw new ShapeError(`gather: indices has ${indices.length} entries but x ${fmtShape(x.shape)} has ${rows} rows`);
  }
  const idx = toIndices('gather', 'indices', indices, cols).map((c, r) => r * cols + c);
  return reshape(embedding(reshape(x, [rows * cols, 1]), idx), x.shape.slice(0, -1));
}

// ---------------------------------------------------------------- LSTM cell

const lstmCellDef: OpDef<{ n: number }> = {
  name: 'lstmCell',
  forward: (k, [gates, cPrev, g], { n }) => {
    const batch = gates.shape[0];
    const { h, c } = k.lstmCell(gates.buf, gates.shape[1], g?.buf ?? null, cPrev.buf, batch, n);
    return [
      { buf: h, shape: [batch, n] },
      { buf: c, shape: [batch, n] },
    ];
  },
  save: (inputs) => inputs,
  backward: ([dh, dc], { saved: [gates, cPrev, g], attrs: { n } }) => {
    const k = gates.backend;
    const d = k.lstmCellBackward(gates.buf, gates.shape[1], g?.buf ?? null, cPrev.buf, dh?.buf ?? null, dc?.buf ?? null, gates.shape[0], n);
    const wrap = (buf: typeof d.dgates, like: Tensor) => fromBuffer(k, buf, like.shape);
    return [wrap(d.dgates, gates), wrap(d.dcPrev, cPrev), ...(g ? [wrap(d.dg!, g)] : [])];
  },
};

/**
 * The LSTM state update in one kernel each way: i, f, o = σ of the gate pre-activations' column
 * blocks 0, 1, 2 of N; the cell input g = tanh(block 3), or `g` when given (then gates has 3N
 * columns); c = f⊙cPrev + i⊙g, h = o⊙tanh(c). gates [B, 4N] or [B, 3N]; cPrev, g, h, c [B, N].
 */
export function lstmCell(gates: Tensor, cPrev: Tensor, g?: Tensor): { h: Tensor; c: Tensor } {
  const [batch, n] = cPrev.shape;
  const width = (g ? 3 : 4) * n;
  const bad = (arg: string, x: Tensor, want: number[]) => x.rank !== 2 || x.shape[0] !== want[0] || x.shape[1] !== want[1] ? `${arg} ${fmtShape(x.shape)} (expected ${fmtShape(want)})` : null;
  const problems = [cPrev.rank === 2 ? null : `cPrev ${fmtShape(cPrev.shape)} (expected [B, N])`, bad('gates', gates, [batch, width]), g ? bad('g', g, [batch, n]) : null].filter((x) => x);
  if (problems.length) throw new ShapeError(`lstmCell: ${problems.join(', ')}`);
  const [h, c] = runOp(lstmCellDef, g ? [gates, cPrev, g] : [gates, cPrev], { n });
  return { h, c };
}

// ---------------------------------------------------------------- neuromodulator

const modulatorDef: OpDef<{ n: number; k: number }> = {
  name: 'modulator',
  forward: (backend, [h, w, b, fw, fb], { n, k }) => {
    const rows = h.size / n;
    const { m, eta } = backend.modulator(h.buf, w.buf, b.buf, fw ? { w: fw.buf, b: fb.buf, k } : null, rows, n);
    return [{ buf: m, shape: [rows, 1] }, ...(eta ? [{ buf: eta, shape: [rows, k] }] : [])];
  },
  save: ([h, w, , fw], [m]) => (fw ? [h, w, m, fw] : [h, w, m]),
  backward: ([dm, deta], { saved: [h, w, m, fw], attrs: { n, k } }) => {
    const backend = h.backend;
    const rows = m.shape[0];
    const d = backend.modulatorBackward(h.buf, w.buf, fw ? { w: fw.buf, k } : null, m.buf, dm?.buf ?? null, deta?.buf ?? null, rows, n);
    const wrap = (buf: typeof d.dh, shape: readonly number[]) => fromBuffer(backend, buf, shape);
    const fan = fw ? [wrap(d.dfw!, fw.shape), wrap(d.dfb!, [k])] : [];
    return [wrap(d.dh, h.shape), wrap(d.dw, w.shape), wrap(d.db, [1]), ...fan];
  },
};

/**
 * The neuromodulator of the plastic networks in one kernel each way (two backward on a device that
 * binds only 8 storage buffers), where a Linear to one unit, its tanh and the fan-out Linear took
 * two matmuls forward and seven dispatches backward (PAPER.md §1.6, §2.3: the authors' h2DA or h2mod, and modfanout):
 *   m = tanh(h·wᵀ + b) [R, 1],   eta = m·fwᵀ + fb [R, K]
 * for h [R, N] and the parameters as nn.Linear keeps them: w [1, N], b [1], and for the fan-out
 * fw [K, 1], fb [K]. eta is null without the fan-out.
 */
export function modulator(h: Tensor, w: Tensor, b: Tensor, fan?: { weight: Tensor; bias: Tensor }): { m: Tensor; eta: Tensor | null } {
  const n = h.shape[h.rank - 1];
  const k = fan?.weight.shape[0] ?? 0;
  const bad = (arg: string, x: Tensor, want: number[]) => (x.rank !== want.length || x.shape.some((s, d) => s !== want[d]) ? `${arg} ${fmtShape(x.shape)} (expected ${fmtShape(want)})` : null);
  const problems = [
    h.rank === 2 ? null : `h ${fmtShape(h.shape)} (expected [R, N])`,
    bad('w', w, [1, n]),
    bad('b', b, [1]),
    fan ? bad('fan-out weight', fan.weight, [k, 1]) : null,
    fan ? bad('fan-out bias', fan.bias, [k]) : null,
  ].filter((x) => x);
  if (problems.length) throw new ShapeError(`modulator: ${problems.join(', ')}`);
  const out = runOp(modulatorDef, fan ? [h, w, b, fan.weight, fan.bias] : [h, w, b], { n, k });
  return { m: out[0], eta: out[1] ?? null };
}
