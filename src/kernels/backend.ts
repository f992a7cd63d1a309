/**
 * The kernel interface: everything the autograd layer may ask of a device.
 *
 * Two implementations exist: `WebGPUBackend` (hand-written WGSL, float32) and `CpuBackend`
 * (TypeScript loops, float32 or float64). The CPU backend in float64 is the oracle every WGSL
 * kernel is tested against, so each method's contract below is the single source of truth for
 * both. Buffers are flat, row-major, batch first; shapes travel beside them as plain arrays.
 *
 * Ownership: every method that returns a `Buf` allocates it; the caller owns it and must `free` it.
 * Nothing here knows about graphs or gradients.
 */

/** The most buffers one Backend.addN sums: WebGPU's default limit of 8 storage buffers per shader stage, less the output. */
export const ADD_N_MAX = 7;

/** The most parts of h's gradient plasticStepBackward adds up: what the autograd walk holds at once (it sums every ADD_N_MAX). */
export const PLASTIC_DH_PARTS = ADD_N_MAX - 1;

/** An opaque device buffer of float elements. */
export interface Buf {
  /** Number of float elements the buffer holds (at least). */
  readonly length: number;
}

export type FloatArray = Float32Array | Float64Array;

/** Element-wise unary ops. `p0`, `p1` are scalar parameters where the op takes them. */
export type UnaryOp =
  | 'neg'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'tanh' // stable for |x| >= 100: sign(x)·(1-e)/(1+e), e = exp(-2|x|)
  | 'sigmoid' // stable: computed from exp(-|x|)
  | 'relu'
  | 'abs'
  | 'sign'
  | 'square'
  | 'reciprocal'
  | 'pow' // x^p0 (PyTorch semantics for negative x with integer p0)
  | 'clamp' // min(max(x, p0), p1)
  | 'affine' // x·p0 + p1
  | 'step'; // x > p0 ? 1 : 0

/**
 * Element-wise binary ops with NumPy broadcasting. Comparison ops return 1 or 0.
 * Gradient helpers fuse a backward rule into one pass:
 * - tanh_grad(dy, y)    = dy·(1 − y²)
 * - sigmoid_grad(dy, y) = dy·y·(1 − y)
 * - relu_grad(dy, x)    = x > 0 ? dy : 0
 * - clamp_grad(dy, x)   = p0 <= x <= p1 ? dy : 0   (bounds included, as in PyTorch)
 */
export type BinaryOp =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'max'
  | 'min'
  | 'eq'
  | 'gt'
  | 'ge'
  | 'lt'
  | 'le'
  | 'tanh_grad'
  | 'sigmoid_grad'
  | 'relu_grad'
  | 'clamp_grad';

export type ReduceOp = 'sum' | 'max';

/** Batched matmul geometry: C[b] = op(A[b]) · op(B[b]), C is [batch, m, n] contiguous. */
export interface MatmulGeometry {
  batch: number;
  m: number;
  k: number;
  n: number;
  /** A is stored [batch, k, m] (read transposed) instead of [batch, m, k]. */
  transA: boolean;
  /** B is stored [batch, n, k] (read transposed) instead of [batch, k, n]. */
  transB: boolean;
  /** Elements between consecutive batch matrices of A; 0 broadcasts one matrix to every batch. */
  aBatchStride: number;
  /** Likewise for B. */
  bBatchStride: number;
}

/** A strided view of a flat buffer: element at index (i0..ir) sits at offset + Σ i_d·strides[d]. */
export interface View {
  offset: number;
  strides: readonly number[];
}

export interface AdamParams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count, for bias correction. */
  step: number;
}

export interface SgdParams {
  lr: number;
  momentum: number;
  weightDecay: number;
  /** True on the first step with momentum: the buffer is set to the gradient (PyTorch). */
  firstStep: boolean;
}

export interface MemoryInfo {
  /** Bytes held by live buffers (handed out and not yet freed). */
  bytesInUse: number;
  /** Bytes of every device buffer that exists, pooled ones included. */
  bytesAllocated: number;
  /** Number of device buffers that exist. */
  numBuffers: number;
}

/**
 * The Hebbian trace rules of PAPER.md §1 and §5.1, one kernel family. With Δ[b,i,j] = post[b,i]·pre[b,j]
 * (rows postsynaptic, as the authors' RL code) and m the modulation broadcast to [B, N, 1]:
 * - hebbian:     H' = clip(H + m·Δ)                          (Eq. 2 with m = η; Eq. 3 with m = M(t))
 * - decay:       H' = (1 − m)·H + m·Δ                        (2018 form; never clipped)
 * - oja:         H' = H + m·post_i·(pre_j − post_i·H_ij)     (never clipped)
 * - retroactive: H' = clip(H + m·E);  E' = (1 − η)·E + η·Δ  (Eqs. 4-5; E before this step's update)
 */
export type PlasticRule = 'hebbian' | 'decay' | 'oja' | 'retroactive';

/**
 * - hard: clamp(u, −c, c);
 * - soft (the code's addpw=2, scaled to c): clamp(H + max(d,0)·(1 − H/c) + min(d,0)·(1 + H/c), −c, c)
 *   where d is the increment (m·Δ, or m·E for retroactive);
 * - none: unbounded.
 */
export type ClipKind = 'hard' | 'soft' | 'none';

export interface PlasticGeometry {
  batch: number;
  n: number;
  rule: PlasticRule;
  clip: ClipKind;
  clipValue: number;
  /** Shape of the modulation m: 'global' [1] (a learned η), 'episode' [B] (M(t)), 'neuron' [B, N] (fan-out). */
  modKind: 'global' | 'episode' | 'neuron';
  /** Shape of alpha: 'full' [N, N], 'neuron' [N] (per postsynaptic neuron), 'scalar' [1]. */
  alphaKind: 'full' | 'neuron' | 'scalar';
}

/** Inputs of the fused plastic step; vectors are [B, N], traces [B, N, N]. */
export interface PlasticStepInputs {
  hebb: Buf;
  /** Eligibility trace (retroactive only, else null). */
  elig: Buf | null;
  /** Presynaptic and postsynaptic activity of the pending update. */
  pre: Buf;
  post: Buf;
  mod: Buf;
  /** Eligibility-trace rate η (retroactive only, a [1] buffer, else null). */
  eta: Buf | null;
  /** The cell's input vector (the RNN's h_t; the LSTM's h_t). */
  x: Buf;
  /** The cell's non-plastic drive (W_in·input + b). */
  drive: Buf;
  w: Buf;
  alpha: Buf;
}

export interface PlasticStepGrads {
  hebb: Buf;
  elig: Buf | null;
  pre: Buf;
  post: Buf;
  /** Reduced to the modulation's shape (modKind). */
  mod: Buf;
  eta: Buf | null;
  x: Buf;
  drive: Buf;
  w: Buf;
  /** Reduced to alpha's shape (alphaKind). */
  alpha: Buf;
}

/** Everything the autograd layer may ask of a device: the general kernels and the plastic ones. */
export interface Backend extends PlasticKernels {
  readonly name: 'webgpu' | 'cpu';
  readonly precision: 'f32' | 'f64';
  /**
   * Whether the fused plastic kernels (PlasticKernels) run here: false on a WebGPU device with
   * fewer storage buffers per shader stage than they bind. The plasticStep and hebbUpdate ops then
   * run the reference composition of primitive ops.
   */
  readonly fusedPlastic: boolean;

  // ---- memory ----
  /** A buffer of `n` elements with unspecified contents. */
  alloc(n: number): Buf;
  /** A buffer holding a copy of `data`. */
  upload(data: ArrayLike<number>): Buf;
  /** A buffer of `n` copies of `value`. */
  fill(n: number, value: number): Buf;
  /** The first `n` elements of `buf`, copied to the host (waits for pending work). */
  read(buf: Buf, n: number): Promise<FloatArray>;
  /** Returns the buffer to the device; using it afterwards is an error. */
  free(buf: Buf): void;
  memory(): MemoryInfo;
  /** Submits recorded work without waiting. */
  flush(): void;
  /** Resolves when all submitted work has finished. */
  sync(): Promise<void>;
  destroy(): void;

  // ---- element-wise ----
  /** out[i] = op(x[i]) for i < n. */
  unary(op: UnaryOp, x: Buf, n: number, p0?: number, p1?: number): Buf;
  /** out = op(a, b) with broadcasting of aShape and bShape to outShape (right-aligned, size-1 dims). */
  binary(
    op: BinaryOp,
    a: Buf,
    aShape: readonly number[],
    b: Buf,
    bShape: readonly number[],
    outShape: readonly number[],
    p0?: number,
    p1?: number,
  ): Buf;
  /** out[i] = Σ_k xs[k][i] for i < n, for 2 to ADD_N_MAX buffers of n elements, in one pass. */
  addN(xs: readonly Buf[], n: number): Buf;
  /** out = cond != 0 ? a : b, all three broadcast to outShape. */
  where(
    cond: Buf,
    condShape: readonly number[],
    a: Buf,
    aShape: readonly number[],
    b: Buf,
    bShape: readonly number[],
    outShape: readonly number[],
  ): Buf;

  // ---- recurrent cells ----
  /**
   * The LSTM state update from gate pre-activations (lstm_cell.wgsl): i, f, o = σ of gates' column
   * blocks 0, 1, 2 of n; the cell input g = tanh(block 3), or the given `g`; c = f·cPrev + i·g,
   * h = o·tanh(c). gates is [batch, width]: width 4n, or 3n with `g` [batch, n].
   */
  lstmCell(gates: Buf, width: number, g: Buf | null, cPrev: Buf, batch: number, n: number): { h: Buf; c: Buf };
  /** lstmCell's backward from dh and/or dc (null: zero): the gradients of gates, of `g` if given, and of cPrev. */
  lstmCellBackward(
    gates: Buf,
    width: number,
    g: Buf | null,
    cPrev: Buf,
    dh: Buf | null,
    dc: Buf | null,
    batch: number,
    n: number,
  ): { dgates: Buf; dg: Buf | null; dcPrev: Buf };

  /**
   * The neuromodulator of the plastic networks (modulator*.wgsl): a Linear to one unit with its
   * tanh, and optionally its fan-out (the authors' h2DA or h2mod, and modfanout; PAPER.md §1.6, §2.3):
   *   m[r] = tanh(Σ_j h[r, j]·w[j] + b[0]),   eta[r, q] = m[r]·fw[q] + fb[q]
   * for h [rows, n], w [n], b [1], and with `fan` fw, fb [k]: m [rows] and eta [rows, k] (null
   * without `fan`).
   */
  modulator(h: Buf, w: Buf, b: Buf, fan: ModulatorFan | null, rows: number, n: number): { m: Buf; eta: Buf | null };
  /**
   * modulator's backward from dm [rows] and/or deta [rows, k] (null: zero), given its output m:
   * the gradients of h, w, b, and of fw, fb with `fan`.
   */
  modulatorBackward(
    h: Buf,
    w: Buf,
    fan: Omit<ModulatorFan, 'b'> | null,
    m: Buf,
    dm: Buf | null,
    deta: Buf | null,
    rows: number,
    n: number,
  ): { dh: Buf; dw: Buf; db: Buf; dfw: Buf | null; dfb: Buf | null };

  // ---- reductions ----
  /** x viewed as [outer, len, inner]; out[o, i] = op over l of x[o, l, i]; out is [outer, inner]. */
  reduce(op: ReduceOp, x: Buf, outer: number, len: number, inner: number): Buf;

  // ---- linear algebra ----
  /**
   * With `bias` ([n]), adds bias[j] to every row of C: the fused Linear. With `activation` 'tanh',
   * C is then mapped through tanh in the same pass (a Linear followed by tanh, as the modulator's).
   */
  matmul(a: Buf, b: Buf, g: MatmulGeometry, bias?: Buf | null, activation?: 'tanh' | null): Buf;

  // ---- movement ----
  /** dst[dstView(idx)] = src[srcView(idx)] for every index idx of `shape`. Writes into `dst`. */
  copyStrided(src: Buf, srcView: View, dst: Buf, dstView: View, shape: readonly number[]): void;
  /**
   * Each matrix of src [batch, srcRows, srcCols] as the leading block of a matrix of
   * [batch, dstRows, dstCols]: out[b, r, j] = src[b, r, j] where r < srcRows and j < srcCols, else
   * 0; a pad at the ends, a crop from the start, or both.
   */
  padCrop(src: Buf, batch: number, srcRows: number, srcCols: number, dstRows: number, dstCols: number): Buf;
  /** out[r, :] = table[idx[r], :]; table is [rows, cols], out is [idx.length, cols]. */
  gatherRows(table: Buf, rows: number, cols: number, idx: Int32Array): Buf;
  /**
   * The backward of gatherRows: out[v, :] = Σ_{r: idx[r] = v} dy[r, :]; out is [rows, cols].
   * Deterministic (no float atomics: WGSL has none): rows are grouped on the host.
   */
  scatterAddRows(dy: Buf, rows: number, cols: number, idx: Int32Array): Buf;

  // ---- softmax family (over the last axis of x viewed as [rows, cols]) ----
  softmax(x: Buf, rows: number, cols: number, log: boolean): Buf;
  /** loss[r] = logsumexp(x[r, :]) − x[r, target[r]]; out is [rows]. */
  crossEntropy(logits: Buf, rows: number, cols: number, targets: Int32Array): Buf;
  /** dx[r, c] = dy[r]·(softmax(x)[r, c] − [c = target[r]]). */
  crossEntropyBackward(logits: Buf, dy: Buf, rows: number, cols: number, targets: Int32Array): Buf;

  // ---- randomness ----
  /**
   * Inverted dropout: out[i] = keep(seed, i) ? x[i] / (1 − p) : 0, where keep(seed, i) is
   * `hashUniform(seed, i) >= p` (see src/kernels/hash.ts; the WGSL copy must agree bit for bit).
   * Applying it to dy with the same seed is its backward.
   */
  dropout(x: Buf, n: number, p: number, seed: number): Buf;

  // ---- optimizers (in place, PyTorch semantics) ----
  /** Adam with L2 weight decay added to the gradient (torch.optim.Adam). Updates param, m, v. */
  adamStep(param: Buf, grad: Buf, m: Buf, v: Buf, n: number, p: AdamParams): void;
  /** SGD with momentum and L2 weight decay (torch.optim.SGD, dampening 0). Updates param, mom. */
  sgdStep(param: Buf, grad: Buf, mom: Buf | null, n: number, p: SgdParams): void;
}

/** Contiguous row-major strides of a shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

/**
 * Strides that read a tensor of `shape` as if broadcast to `outShape` (right-aligned): size-1
 * and missing dimensions get stride 0.
 */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const own = contiguousStrides(shape);
  const lead = outShape.length - shape.length;
  return outShape.map((_, d) => (d < lead || shape[d - lead] === 1 ? 0 : own[d - lead]));
}

/** The checks every backend's addN makes: 2 to ADD_N_MAX buffers, each of at least n elements. */
export function checkAddN(xs: readonly Buf[], n: number): void {
  if (xs.length < 2 || xs.length > ADD_N_MAX) throw new RangeError(`addN: takes 2 to ${ADD_N_MAX} buffers, got ${xs.length}`);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`addN: n must be a non-negative integer, got ${n}`);
  for (const [k, x] of xs.entries()) {
    if (x.length < n) throw new RangeError(`addN: buffer ${k} holds ${x.length} elements, fewer than n = ${n}`);
  }
}

/** The checks every backend's plasticStepBackward makes of h's gradient parts: at most PLASTIC_DH_PARTS, each of `rows` elements. */
export function checkDhParts(dh: readonly Buf[], rows: number): void {
  if (dh.length > PLASTIC_DH_PARTS) throw new RangeError(`plasticStepBackward: dh takes at most ${PLASTIC_DH_PARTS} parts, got ${dh.length}`);
  for (const [k, x] of dh.entries()) {
    if (x.length < rows) throw new RangeError(`plasticStepBackward: dh[${k}] holds ${x.length} elements, needs ${rows}`);
  }
}

/** The checks every backend's padCrop makes: non-negative integer dims, and src long enough. */
export function checkPadCrop(src: Buf, dims: readonly number[]): void {
  const names = ['batch', 'srcRows', 'srcCols', 'dstRows', 'dstCols'];
  for (const [i, v] of dims.entries()) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`padCrop: ${names[i]} must be a non-negative integer, got ${v}`);
  }
  const [batch, rows, cols] = dims;
  if (src.length < batch * rows * cols) throw new RangeError(`padCrop: src holds ${src.length} elements, fewer than [${batch}, ${rows}, ${cols}]`);
}

/** modulator's fan-out: weights fw and biases fb of k units each. */
export interface ModulatorFan {
  w: Buf;
  b: Buf;
  k: number;
}

/** The checks every backend's modulator makes on its geometry. */
export function checkModulator(op: string, fan: { k: number } | null, rows: number, n: number): void {
  for (const [arg, v] of [['rows', rows], ['n', n], ...(fan ? [['k', fan.k] as const] : [])] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${op}: ${arg} must be a positive integer, got ${v}`);
  }
}

/** The checks every backend's lstmCell makes on its geometry: width 4n without g, 3n with it. */
export function checkLstmCell(op: string, width: number, g: Buf | null, batch: number, n: number): void {
  for (const [arg, v] of [['batch', batch], ['n', n]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${op}: ${arg} must be a positive integer, got ${v}`);
  }
  const want = g ? 3 * n : 4 * n;
  if (width !== want) throw new RangeError(`${op}: gates of width ${width} for n = ${n} ${g ? 'with' : 'without'} g (expected ${want})`);
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** The plastic kernels (the fused heart of the library; see PlasticRule). */
export interface PlasticKernels {
  /** Applies the pending trace update: returns H' (and E' for the retroactive rule). */
  hebbUpdate(g: PlasticGeometry, hebb: Buf, elig: Buf | null, pre: Buf, post: Buf, mod: Buf, eta: Buf | null): { hebb: Buf; elig: Buf | null };
  /**
   * The fused plastic step: the pending update, then the plastic cell reading the new trace
   * (never materialising w + α⊙H as a [B, N, N] tensor):
   *   (H', E') = hebbUpdate(H, E, pre, post, m, η);  h[b,i] = tanh(drive[b,i] + Σ_j (w[i,j] + α[i,j]·H'[b,i,j])·x[b,j])
   * Returns h [B, N] and the new traces.
   */
  plasticStep(g: PlasticGeometry, inp: PlasticStepInputs): { h: Buf; hebb: Buf; elig: Buf | null };
  /**
   * Backward of plasticStep from the saved inputs and output h, given the gradients of h, H' and E'
   * (null: zero). h's gradient comes as parts to add up (none: zero; at most PLASTIC_DH_PARTS): a
   * recurrent state's gradient arrives from several consumers, and the sum is one dispatch fewer
   * inside the backward than before it. One pass over (b, i, j) reads the saved trace and dH',
   * writes dH.
   */
  plasticStepBackward(g: PlasticGeometry, inp: PlasticStepInputs, h: Buf, dh: readonly Buf[], dhebb: Buf | null, delig: Buf | null): PlasticStepGrads;
}
