/**
 * The CPU backend: the whole kernel interface in plain TypeScript loops.
 *
 * In float64 it is the oracle every WGSL kernel is tested against; in float32 it is the fallback
 * when no GPU adapter exists. Each loop is written for clarity first: it defines the semantics.
 */
import {
  broadcastStrides,
  checkAddN,
  checkDhParts,
  checkLstmCell,
  checkModulator,
  checkPadCrop,
  sizeOf,
  type AdamParams,
  type Backend,
  type BinaryOp,
  type Buf,
  type FloatArray,
  type MatmulGeometry,
  type MemoryInfo,
  type ModulatorFan,
  type PlasticGeometry,
  type PlasticStepGrads,
  type PlasticStepInputs,
  type ReduceOp,
  type SgdParams,
  type UnaryOp,
  type View,
} from '../backend.js';
import { hashUniform } from '../hash.js';
import * as plastic from './plastic.js';

class CpuBuf implements Buf {
  freed = false;
  constructor(readonly data: FloatArray) {}
  get length(): number {
    return this.data.length;
  }
}

/** Stable tanh: sign(x)·(1−e)/(1+e) with e = exp(−2|x|), so ±100 gives ±1, never NaN. */
export function stableTanh(x: number): number {
  const e = Math.exp(-2 * Math.abs(x));
  return Math.sign(x) * ((1 - e) / (1 + e));
}

/** Stable sigmoid: never evaluates exp of a large positive number. */
export function stableSigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

function unaryFn(op: UnaryOp, p0: number, p1: number): (x: number) => number {
  switch (op) {
    case 'neg': return (x) => -x;
    case 'exp': return Math.exp;
    case 'log': return Math.log;
    case 'sqrt': return Math.sqrt;
    case 'tanh': return stableTanh;
    case 'sigmoid': return stableSigmoid;
    case 'relu': return (x) => (x > 0 ? x : 0);
    case 'abs': return Math.abs;
    case 'sign': return Math.sign;
    case 'square': return (x) => x * x;
    case 'reciprocal': return (x) => 1 / x;
    case 'pow': return (x) => Math.pow(x, p0);
    case 'clamp': return (x) => Math.min(Math.max(x, p0), p1);
    case 'affine': return (x) => x * p0 + p1;
    case 'step': return (x) => (x > p0 ? 1 : 0);
  }
}

function binaryFn(op: BinaryOp, p0: number, p1: number): (a: number, b: number) => number {
  switch (op) {
    case 'add': return (a, b) => a + b;
    case 'sub': return (a, b) => a - b;
    case 'mul': return (a, b) => a * b;
    case 'div': return (a, b) => a / b;
    case 'max': return (a, b) => Math.max(a, b);
    case 'min': return (a, b) => Math.min(a, b);
    case 'eq': return (a, b) => (a === b ? 1 : 0);
    case 'gt': return (a, b) => (a > b ? 1 : 0);
    case 'ge': return (a, b) => (a >= b ? 1 : 0);
    case 'lt': return (a, b) => (a < b ? 1 : 0);
    case 'le': return (a, b) => (a <= b ? 1 : 0);
    case 'tanh_grad': return (dy, y) => dy * (1 - y * y);
    case 'sigmoid_grad': return (dy, y) => dy * y * (1 - y);
    case 'relu_grad': return (dy, x) => (x > 0 ? dy : 0);
    case 'clamp_grad': return (dy, x) => (x >= p0 && x <= p1 ? dy : 0);
  }
}

/** Calls fn(outIndex, offsets...) for every index of outShape, with one strided offset per view. */
function forEachIndex(shape: readonly number[], views: readonly View[], fn: (i: number, offs: number[]) => void): void {
  const n = sizeOf(shape);
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  const offs = views.map((v) => v.offset);
  for (let i = 0; i < n; i++) {
    fn(i, offs);
    // Odometer increment, updating every view's offset incrementally.
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      for (let v = 0; v < views.length; v++) offs[v] += views[v].strides[d];
      if (idx[d] < shape[d]) break;
      for (let v = 0; v < views.length; v++) offs[v] -= views[v].strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

/** Index arrays come from the host; a bad one is caught here, before any loop runs. */
function checkIndices(op: string, idx: Int32Array, rows: number): void {
  for (let r = 0; r < idx.length; r++) {
    const v = idx[r];
    if (!Number.isInteger(v) || v < 0 || v >= rows) {
      throw new RangeError(`${op}: index ${v} at position ${r} is out of range [0, ${rows})`);
    }
  }
}

export class CpuBackend implements Backend {
  readonly name = 'cpu';
  readonly fusedPlastic = true;
  #bytesInUse = 0;
  #numBuffers = 0;
  readonly #bytesPerElement: number;

  constructor(readonly precision: 'f32' | 'f64' = 'f32') {
    this.#bytesPerElement = precision === 'f64' ? 8 : 4;
  }

  #new(n: number): CpuBuf {
    return this.#wrap(this.#newArray(n));
  }

  #get(buf: Buf): FloatArray {
    const b = buf as CpuBuf;
    if (b.freed) throw new Error('cpu backend: buffer used after it was freed');
    return b.data;
  }

  alloc(n: number): Buf {
    return this.#new(n);
  }

  upload(data: ArrayLike<number>): Buf {
    const b = this.#new(data.length);
    b.data.set(data);
    return b;
  }

  fill(n: number, value: number): Buf {
    const b = this.#new(n);
    b.data.fill(value);
    return b;
  }

  async read(buf: Buf, n: number): Promise<FloatArray> {
    return this.#get(buf).slice(0, n);
  }

  free(buf: Buf): void {
    const b = buf as CpuBuf;
    if (b.freed) throw new Error('cpu backend: buffer freed twice');
    b.freed = true;
    this.#bytesInUse -= b.data.length * this.#bytesPerElement;
    this.#numBuffers--;
  }

  memory(): MemoryInfo {
    return { bytesInUse: this.#bytesInUse, bytesAllocated: this.#bytesInUse, numBuffers: this.#numBuffers };
  }

  flush(): void {}
  async sync(): Promise<void> {}
  destroy(): void {}

  unary(op: UnaryOp, x: Buf, n: number, p0 = 0, p1 = 0): Buf {
    const f = unaryFn(op, p0, p1);
    const xs = this.#get(x);
    const out = this.#new(n);
    for (let i = 0; i < n; i++) out.data[i] = f(xs[i]);
    return out;
  }

  binary(op: BinaryOp, a: Buf, aShape: readonly number[], b: Buf, bShape: readonly number[], outShape: readonly number[], p0 = 0, p1 = 0): Buf {
    const f = binaryFn(op, p0, p1);
    const as = this.#get(a);
    const bs = this.#get(b);
    const out = this.#new(sizeOf(outShape));
    const views = [
      { offset: 0, strides: broadcastStrides(aShape, outShape) },
      { offset: 0, strides: broadcastStrides(bShape, outShape) },
    ];
    forEachIndex(outShape, views, (i, [ia, ib]) => {
      out.data[i] = f(as[ia], bs[ib]);
    });
    return out;
  }

  addN(xs: readonly Buf[], n: number): Buf {
    checkAddN(xs, n);
    const ins = xs.map((x) => this.#get(x));
    const out = this.#new(n);
    for (const x of ins) for (let i = 0; i < n; i++) out.data[i] += x[i];
    return out;
  }

  lstmCell(gates: Buf, width: number, g: Buf | null, cPrev: Buf, batch: number, n: number): { h: Buf; c: Buf } {
    checkLstmCell('lstmCell', width, g, batch, n);
    const [h, c] = [this.#new(batch * n), this.#new(batch * n)];
    const cell = this.#lstmCell(gates, width, g, cPrev, n);
    for (let t = 0; t < batch * n; t++) {
      const u = cell(t);
      c.data[t] = u.c;
      h.data[t] = u.o * Math.tanh(u.c);
    }
    return { h, c };
  }

  lstmCellBackward(gates: Buf, width: number, g: Buf | null, cPrev: Buf, dh: Buf | null, dc: Buf | null, batch: number, n: number) {
    checkLstmCell('lstmCellBackward', width, g, batch, n);
    const [dhs, dcs] = [dh && this.#get(dh), dc && this.#get(dc)];
    const [dgates, dg, dcPrev] = [this.#new(batch * width), g && this.#new(batch * n), this.#new(batch * n)];
    const cell = this.#lstmCell(gates, width, g, cPrev, n);
    for (let t = 0; t < batch * n; t++) {
      const u = cell(t);
      const tc = Math.tanh(u.c);
      const dht = dhs ? dhs[t] : 0;
      const dct = dht * u.o * (1 - tc * tc) + (dcs ? dcs[t] : 0);
      const row = Math.floor(t / n) * width + (t % n);
      dgates.data[row] = dct * u.g * u.i * (1 - u.i);
      dgates.data[row + n] = dct * u.cp * u.f * (1 - u.f);
      dgates.data[row + 2 * n] = dht * tc * u.o * (1 - u.o);
      if (dg) dg.data[t] = dct * u.i;
      else dgates.data[row + 3 * n] = dct * u.i * (1 - u.g * u.g);
      dcPrev.data[t] = dct * u.f;
    }
    return { dgates, dg, dcPrev };
  }

  modulator(h: Buf, w: Buf, b: Buf, fan: ModulatorFan | null, rows: number, n: number): { m: Buf; eta: Buf | null } {
    checkModulator('modulator', fan, rows, n);
    const [hs, ws, bias] = [this.#get(h), this.#get(w), this.#get(b)[0]];
    const m = this.#new(rows);
    for (let r = 0; r < rows; r++) {
      let s = bias;
      for (let j = 0; j < n; j++) s += hs[r * n + j] * ws[j];
      m.data[r] = Math.tanh(s);
    }
    if (!fan) return { m, eta: null };
    const [fw, fb] = [this.#get(fan.w), this.#get(fan.b)];
    const eta = this.#new(rows * fan.k);
    for (let r = 0; r < rows; r++) for (let q = 0; q < fan.k; q++) eta.data[r * fan.k + q] = m.data[r] * fw[q] + fb[q];
    return { m, eta };
  }

  modulatorBackward(h: Buf, w: Buf, fan: Omit<ModulatorFan, 'b'> | null, m: Buf, dm: Buf | null, deta: Buf | null, rows: number, n: number) {
    checkModulator('modulatorBackward', fan, rows, n);
    const [hs, ws, ms] = [this.#get(h), this.#get(w), this.#get(m)];
    const [dms, detas] = [dm && this.#get(dm), deta && this.#get(deta)];
    const fw = fan && this.#get(fan.w);
    const k = fan?.k ?? 0;
    const [dh, dw, db] = [this.#new(rows * n), this.#new(n), this.#new(1)];
    const [dfw, dfb] = fan ? [this.#new(k), this.#new(k)] : [null, null];
    for (let r = 0; r < rows; r++) {
      let g = dms ? dms[r] : 0;
      for (let q = 0; q < k && detas; q++) {
        const d = detas[r * k + q];
        g += d * fw![q];
        dfw!.data[q] += d * ms[r];
        dfb!.data[q] += d;
      }
      const dpre = g * (1 - ms[r] * ms[r]);
      db.data[0] += dpre;
      for (let j = 0; j < n; j++) {
        dh.data[r * n + j] = dpre * ws[j];
        dw.data[j] += dpre * hs[r * n + j];
      }
    }
    return { dh, dw, db, dfw, dfb };
  }

  /** Unit t = b·n + j of an LSTM cell: its gates, cell input, previous and new cell state. */
  #lstmCell(gates: Buf, width: number, g: Buf | null, cPrev: Buf, n: number) {
    const [gs, gIn, cp] = [this.#get(gates), g && this.#get(g), this.#get(cPrev)];
    const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
    return (t: number) => {
      const row = Math.floor(t / n) * width + (t % n);
      const [i, f, o] = [sigmoid(gs[row]), sigmoid(gs[row + n]), sigmoid(gs[row + 2 * n])];
      const gt = gIn ? gIn[t] : Math.tanh(gs[row + 3 * n]);
      return { i, f, o, g: gt, cp: cp[t], c: f * cp[t] + i * gt };
    };
  }

  where(cond: Buf, condShape: readonly number[], a: Buf, aShape: readonly number[], b: Buf, bShape: readonly number[], outShape: readonly number[]): Buf {
    const cs = this.#get(cond);
    const as = this.#get(a);
    const bs = this.#get(b);
    const out = this.#new(sizeOf(outShape));
    const views = [condShape, aShape, bShape].map((s) => ({ offset: 0, strides: broadcastStrides(s, outShape) }));
    forEachIndex(outShape, views, (i, [ic, ia, ib]) => {
      out.data[i] = cs[ic] !== 0 ? as[ia] : bs[ib];
    });
    return out;
  }

  reduce(op: ReduceOp, x: Buf, outer: number, len: number, inner: number): Buf {
    const xs = this.#get(x);
    const out = this.#new(outer * inner);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let acc = op === 'sum' ? 0 : -Infinity;
        for (let l = 0; l < len; l++) {
          const v = xs[(o * len + l) * inner + i];
          acc = op === 'sum' ? acc + v : Math.max(acc, v);
        }
        out.data[o * inner + i] = acc;
      }
    }
    return out;
  }

  matmul(a: Buf, b: Buf, g: MatmulGeometry, bias?: Buf | null, activation?: 'tanh' | null): Buf {
    const as = this.#get(a);
    const bs = this.#get(b);
    const biasValues = bias ? this.#get(bias) : null;
    const { batch, m, k, n } = g;
    const out = this.#new(batch * m * n);
    // A[i, p] sits at i·sam + p·sak within its batch matrix; likewise B[p, j].
    const [sam, sak] = g.transA ? [1, m] : [k, 1];
    const [sbk, sbn] = g.transB ? [1, k] : [n, 1];
    for (let bi = 0; bi < batch; bi++) {
      const a0 = bi * g.aBatchStride;
      const b0 = bi * g.bBatchStride;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let acc = biasValues ? biasValues[j] : 0;
          for (let p = 0; p < k; p++) acc += as[a0 + i * sam + p * sak] * bs[b0 + p * sbk + j * sbn];
          out.data[(bi * m + i) * n + j] = activation === 'tanh' ? Math.tanh(acc) : acc;
        }
      }
    }
    return out;
  }

  padCrop(src: Buf, batch: number, srcRows: number, srcCols: number, dstRows: number, dstCols: number): Buf {
    checkPadCrop(src, [batch, srcRows, srcCols, dstRows, dstCols]);
    const xs = this.#get(src);
    const out = this.#new(batch * dstRows * dstCols);
    const [rows, cols] = [Math.min(srcRows, dstRows), Math.min(srcCols, dstCols)];
    for (let b = 0; b < batch; b++) {
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < cols; j++) out.data[(b * dstRows + r) * dstCols + j] = xs[(b * srcRows + r) * srcCols + j];
      }
    }
    return out;
  }

  copyStrided(src: Buf, srcView: View, dst: Buf, dstView: View, shape: readonly number[]): void {
    const ss = this.#get(src);
    const ds = this.#get(dst);
    forEachIndex(shape, [srcView, dstView], (_, [is, id]) => {
      ds[id] = ss[is];
    });
  }

  gatherRows(table: Buf, rows: number, cols: number, idx: Int32Array): Buf {
    checkIndices('gatherRows', idx, rows);
    const ts = this.#get(table);
    const out = this.#new(idx.length * cols);
    for (let r = 0; r < idx.length; r++) out.data.set(ts.subarray(idx[r] * cols, (idx[r] + 1) * cols), r * cols);
    return out;
  }

  scatterAddRows(dy: Buf, rows: number, cols: number, idx: Int32Array): Buf {
    checkIndices('scatterAddRows', idx, rows);
    const ds = this.#get(dy);
    const out = this.#new(rows * cols);
    for (let r = 0; r < idx.length; r++) {
      for (let c = 0; c < cols; c++) out.data[idx[r] * cols + c] += ds[r * cols + c];
    }
    return out;
  }

  softmax(x: Buf, rows: number, cols: number, log: boolean): Buf {
    const xs = this.#get(x);
    const out = this.#new(rows * cols);
    for (let r = 0; r < rows; r++) {
      const lse = logSumExp(xs, r * cols, cols);
      for (let c = 0; c < cols; c++) {
        const lp = xs[r * cols + c] - lse;
        out.data[r * cols + c] = log ? lp : Math.exp(lp);
      }
    }
    return out;
  }

  crossEntropy(logits: Buf, rows: number, cols: number, targets: Int32Array): Buf {
    checkIndices('crossEntropy', targets, cols);
    const xs = this.#get(logits);
    const out = this.#new(rows);
    for (let r = 0; r < rows; r++) out.data[r] = logSumExp(xs, r * cols, cols) - xs[r * cols + targets[r]];
    return out;
  }

  crossEntropyBackward(logits: Buf, dy: Buf, rows: number, cols: number, targets: Int32Array): Buf {
    checkIndices('crossEntropyBackward', targets, cols);
    const xs = this.#get(logits);
    const ds = this.#get(dy);
    const out = this.#new(rows * cols);
    for (let r = 0; r < rows; r++) {
      const lse = logSumExp(xs, r * cols, cols);
      for (let c = 0; c < cols; c++) {
        const p = Math.exp(xs[r * cols + c] - lse);
        out.data[r * cols + c] = ds[r] * (p - (c === targets[r] ? 1 : 0));
      }
    }
    return out;
  }

  dropout(x: Buf, n: number, p: number, seed: number): Buf {
    const xs = this.#get(x);
    const out = this.#new(n);
    const scale = 1 / (1 - p);
    for (let i = 0; i < n; i++) out.data[i] = hashUniform(seed, i) >= p ? xs[i] * scale : 0;
    return out;
  }

  #arrays(inp: PlasticStepInputs): plastic.PlasticArrays {
    const get = (b: Buf | null) => (b ? this.#get(b) : null);
    return {
      hebb: this.#get(inp.hebb), elig: get(inp.elig), pre: this.#get(inp.pre), post: this.#get(inp.post),
      mod: this.#get(inp.mod), eta: get(inp.eta), x: this.#get(inp.x), drive: this.#get(inp.drive),
      w: this.#get(inp.w), alpha: this.#get(inp.alpha),
    };
  }

  #wrap(a: FloatArray): CpuBuf {
    this.#bytesInUse += a.length * this.#bytesPerElement;
    this.#numBuffers++;
    return new CpuBuf(a);
  }

  #newArray = (n: number): FloatArray => (this.precision === 'f64' ? new Float64Array(n) : new Float32Array(n));

  hebbUpdate(g: PlasticGeometry, hebb: Buf, elig: Buf | null, pre: Buf, post: Buf, mod: Buf, eta: Buf | null): { hebb: Buf; elig: Buf | null } {
    const get = (b: Buf | null) => (b ? this.#get(b) : null);
    const a = { hebb: this.#get(hebb), elig: get(elig), pre: this.#get(pre), post: this.#get(post), mod: this.#get(mod), eta: get(eta) };
    const out = plastic.hebbUpdate(g, a, this.#newArray);
    return { hebb: this.#wrap(out.hebb), elig: out.elig && this.#wrap(out.elig) };
  }

  plasticStep(g: PlasticGeometry, inp: PlasticStepInputs): { h: Buf; hebb: Buf; elig: Buf | null } {
    const out = plastic.plasticStep(g, this.#arrays(inp), this.#newArray);
    return { h: this.#wrap(out.h), hebb: this.#wrap(out.hebb), elig: out.elig && this.#wrap(out.elig) };
  }

  plasticStepBackward(g: PlasticGeometry, inp: PlasticStepInputs, h: Buf, dh: readonly Buf[], dhebb: Buf | null, delig: Buf | null): PlasticStepGrads {
    const get = (b: Buf | null) => (b ? this.#get(b) : null);
    checkDhParts(dh, g.batch * g.n);
    const dhSum = dh.length > 1 ? this.addN(dh, g.batch * g.n) : null;
    const d = plastic.plasticStepBackward(g, this.#arrays(inp), this.#get(h), get(dhSum ?? dh[0] ?? null), get(dhebb), get(delig), this.#newArray);
    if (dhSum) this.free(dhSum);
    return {
      hebb: this.#wrap(d.hebb), elig: d.elig && this.#wrap(d.elig), pre: this.#wrap(d.pre), post: this.#wrap(d.post),
      mod: this.#wrap(d.mod), eta: d.eta && this.#wrap(d.eta), x: this.#wrap(d.x), drive: this.#wrap(d.drive),
      w: this.#wrap(d.w), alpha: this.#wrap(d.alpha),
    };
  }

  adamStep(param: Buf, grad: Buf, m: Buf, v: Buf, n: number, p: AdamParams): void {
    const ps = this.#get(param);
    const gs = this.#get(grad);
    const ms = this.#get(m);
    const vs = this.#get(v);
    const bc1 = 1 - Math.pow(p.beta1, p.step);
    const bc2 = 1 - Math.pow(p.beta2, p.step);
    for (let i = 0; i < n; i++) {
      const g = gs[i] + p.weightDecay * ps[i];
      ms[i] = p.beta1 * ms[i] + (1 - p.beta1) * g;
      vs[i] = p.beta2 * vs[i] + (1 - p.beta2) * g * g;
      ps[i] -= (p.lr * (ms[i] / bc1)) / (Math.sqrt(vs[i] / bc2) + p.eps);
    }
  }

  sgdStep(param: Buf, grad: Buf, mom: Buf | null, n: number, p: SgdParams): void {
    const ps = this.#get(param);
    const gs = this.#get(grad);
    const bs = mom ? this.#get(mom) : null;
    for (let i = 0; i < n; i++) {
      let g = gs[i] + p.weightDecay * ps[i];
      if (bs) {
        bs[i] = p.firstStep ? g : p.momentum * bs[i] + g;
        g = bs[i];
      }
      ps[i] -= p.lr * g;
    }
  }
}

function logSumExp(xs: FloatArray, start: number, n: number): number {
  let max = -Infinity;
  for (let c = 0; c < n; c++) max = Math.max(max, xs[start + c]);
  let sum = 0;
  for (let c = 0; c < n; c++) sum += Math.exp(xs[start + c] - max);
  return max + Math.log(sum);
}

