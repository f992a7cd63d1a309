/**
 * The WebGPU backend: the kernel interface of backend.ts on hand-written WGSL (float32).
 *
 * Dispatch is cheap only in bulk (an empty dispatch costs 13-25 µs on lavapipe, a submit-and-wait
 * 80-90 µs; DESIGN.md), so calls are recorded into one command encoder and one compute pass and
 * submitted every `batchSize` dispatches, or when a read or sync needs the results. Each dispatch's
 * uniforms go to a slot of the uniform ring, its bind group comes from a cache, outputs come from
 * the buffer pool, and buffers freed while the open encoder may still use them are released only
 * after it is submitted. Arguments are checked before anything is recorded.
 */
import {
  ADD_N_MAX,
  broadcastStrides,
  checkAddN,
  checkLstmCell,
  checkModulator,
  checkPadCrop,
  sizeOf,
  type AdamParams,
  type Backend,
  type BinaryOp,
  type Buf,
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
import { BindGroupCache } from './bind_groups.js';
import { BufferPool, DEFAULT_POOL_LIMITS, sizeClass, type PoolLimits } from './buffer_pool.js';
import { GpuDevice, type DeviceOptions } from './device.js';
import { compileKernelNow, compileKernels, paramsLayout, storageBufferCount, wgslFiles, type Kernel, type KernelSource } from './pipelines.js';
import { PLASTIC_STORAGE_BUFFERS, plasticSources, plasticSourcesOnFirstUse, WebGPUPlastic, type PlasticKernelName } from './plastic.js';
import { KernelProfiler, type KernelTime } from './profiler.js';
import { checkBroadcast, checkCount, checkIndices, checkShape, checkView, groupRows, mergeDims } from './prepare.js';
import { UniformRing, type ParamsWriter } from './uniform_ring.js';
import adam from '../../../shaders/adam.wgsl';
import add_n from '../../../shaders/add_n.wgsl';
import binary from '../../../shaders/binary.wgsl';
import copy from '../../../shaders/copy.wgsl';
import copy_strided from '../../../shaders/copy_strided.wgsl';
import cross_entropy from '../../../shaders/cross_entropy.wgsl';
import cross_entropy_bwd from '../../../shaders/cross_entropy_bwd.wgsl';
import dropout from '../../../shaders/dropout.wgsl';
import fill from '../../../shaders/fill.wgsl';
import gather_rows from '../../../shaders/gather_rows.wgsl';
import lstm_cell from '../../../shaders/lstm_cell.wgsl';
import lstm_cell_bwd from '../../../shaders/lstm_cell_bwd.wgsl';
import modulator from '../../../shaders/modulator.wgsl';
import modulator_bwd from '../../../shaders/modulator_bwd.wgsl';
import modulator_bwd_cols from '../../../shaders/modulator_bwd_cols.wgsl';
import modulator_bwd_rows from '../../../shaders/modulator_bwd_rows.wgsl';
import modulatorColGrad from '../../../shaders/modulator_col_grad.wgsl';
import modulatorCommon from '../../../shaders/modulator_common.wgsl';
import modulatorRowGrad from '../../../shaders/modulator_row_grad.wgsl';
import lstmCommon from '../../../shaders/lstm_common.wgsl';
import matmul from '../../../shaders/matmul.wgsl';
import matmul_vec4 from '../../../shaders/matmul_vec4.wgsl';
import pad_crop from '../../../shaders/pad_crop.wgsl';
import reduce from '../../../shaders/reduce.wgsl';
import chunkF32 from '../../../shaders/chunk_f32.wgsl';
import chunkVec4 from '../../../shaders/chunk_vec4.wgsl';
import rowLogsumexp from '../../../shaders/row_logsumexp.wgsl';
import scatter_add_rows from '../../../shaders/scatter_add_rows.wgsl';
import sgd from '../../../shaders/sgd.wgsl';
import softmax from '../../../shaders/softmax.wgsl';
import unary from '../../../shaders/unary.wgsl';
import where from '../../../shaders/where.wgsl';

/** Position in these lists = the op number: unary.wgsl's OP constant, binary.wgsl's `op`. */
const UNARY_OPS: readonly UnaryOp[] = [
  'neg', 'exp', 'log', 'sqrt', 'tanh', 'sigmoid', 'relu', 'abs', 'sign', 'square', 'reciprocal', 'pow', 'clamp', 'affine', 'step',
];
const BINARY_OPS: readonly BinaryOp[] = [
  'add', 'sub', 'mul', 'div', 'max', 'min', 'eq', 'gt', 'ge', 'lt', 'le', 'tanh_grad', 'sigmoid_grad', 'relu_grad', 'clamp_grad',
];

/** `file` specialised for each of `ops` by its override constant OP, the op's index (unary.wgsl, binary.wgsl). */
function perOp<F extends string, O extends string>(file: F, text: string, ops: readonly O[]): Record<`${F}_${O}`, KernelSource> {
  const entries = ops.map((op, i): [string, KernelSource] => [`${file}_${op}`, { files: wgslFiles([file, text]), constants: { OP: i } }]);
  return Object.fromEntries(entries) as Record<`${F}_${O}`, KernelSource>;
}
const UNARY_KERNELS = perOp('unary', unary, UNARY_OPS);
const BINARY_KERNELS = perOp('binary', binary, BINARY_OPS);

/** A kernel file followed by the files it appends (see KernelSource). */
const withFiles = (...files: [string, string][]): KernelSource => ({ files: wgslFiles(...files) });

const SOURCES = {
  adam,
  add_n,
  copy,
  copy_strided,
  cross_entropy: withFiles(['cross_entropy', cross_entropy], ['row_logsumexp', rowLogsumexp]),
  cross_entropy_bwd: withFiles(['cross_entropy_bwd', cross_entropy_bwd], ['row_logsumexp', rowLogsumexp]),
  dropout,
  fill,
  gather_rows,
  lstm_cell: withFiles(['lstm_cell', lstm_cell], ['lstm_common', lstmCommon]),
  lstm_cell_bwd: withFiles(['lstm_cell_bwd', lstm_cell_bwd], ['lstm_common', lstmCommon]),
  matmul,
  matmul_vec4,
  modulator: withFiles(['modulator', modulator], ['modulator_common', modulatorCommon]),
  modulator_bwd_cols: withFiles(['modulator_bwd_cols', modulator_bwd_cols], ['modulator_col_grad', modulatorColGrad], ['modulator_common', modulatorCommon]),
  modulator_bwd_rows: withFiles(['modulator_bwd_rows', modulator_bwd_rows], ['modulator_row_grad', modulatorRowGrad], ['modulator_common', modulatorCommon]),
  pad_crop,
  reduce: withFiles(['reduce', reduce], ['chunk_f32', chunkF32]),
  reduce_vec4: withFiles(['reduce', reduce], ['chunk_vec4', chunkVec4]),
  scatter_add_rows,
  sgd,
  softmax: withFiles(['softmax', softmax], ['row_logsumexp', rowLogsumexp]),
  where,
  ...UNARY_KERNELS,
  ...BINARY_KERNELS,
};
/** Kernels that bind more than WebGPU's default 8 storage buffers, compiled where the device binds them all. */
const WIDE_SOURCES = {
  modulator_bwd: withFiles(
    ['modulator_bwd', modulator_bwd],
    ['modulator_row_grad', modulatorRowGrad],
    ['modulator_col_grad', modulatorColGrad],
    ['modulator_common', modulatorCommon],
  ),
};
type KernelName = keyof typeof SOURCES | keyof typeof WIDE_SOURCES | PlasticKernelName;
const REDUCE_OPS: readonly ReduceOp[] = ['sum', 'max'];

/** Threads per workgroup: WG in common.wgsl. */
const WG = 64;
/** vec4s per thread of the element-wise kernels: VEC4S_PER_THREAD in common.wgsl. */
const VEC4S_PER_THREAD = 4;
/**
 * Elements up to which a fill is a queue write instead of a dispatch. On lavapipe every dispatch
 * waits for the driver's threads to wake (20-100 µs, whatever its size) while a write of a few KB
 * takes a few µs: a B = 1 episode's zero states and backward seed were 4 of its 72 dispatches.
 */
const SMALL_FILL = 16_384;
/** Dispatches recorded before an automatic submit. */
const DEFAULT_BATCH_SIZE = 64;
/** Uniform ring slots; a batch that outgrows them is submitted early. */
const UNIFORM_SLOTS = 1024;
/** A reduction with fewer outputs than this splits long rows across threads (two passes). */
const REDUCE_MIN_THREADS = 4096;
/** Shortest run of a split reduction. */
const REDUCE_MIN_CHUNK = 256;
/**
 * Multiply-adds from which a matmul with dims not multiples of 4 pads its operands for the vec4
 * kernel. Below it the copies' dispatches cost more than they save (lavapipe: 128×63×128 took
 * 0.49 ms scalar and 0.63 ms padded).
 */
export const PAD_MIN_MACS = 2 ** 22;

export interface WebGPUBackendOptions extends DeviceOptions {
  /** Dispatches recorded before an automatic submit (default 64). */
  batchSize?: number;
  /** Caps of the buffer pool's free lists. */
  pool?: Partial<PoolLimits>;
}

class GpuBuf implements Buf {
  constructor(
    readonly length: number,
    /** null once freed. */
    public buffer: GPUBuffer | null,
  ) {}
}

/**
 * The WebGPU backend, or null when the machine has no WebGPU adapter. Compiles every kernel first,
 * but for the plastic backward's rarer variants (plasticSourcesOnFirstUse).
 */
export async function createWebGPUBackend(opts: WebGPUBackendOptions = {}): Promise<WebGPUBackend | null> {
  const gpu = await GpuDevice.create(opts);
  if (!gpu) return null;
  try {
    const params = paramsLayout(gpu.device);
    // Some kernels bind more storage buffers than WebGPU's default 8 (browsers offer 8-16): without
    // the plastic ones the models run the reference composition (Backend.fusedPlastic), without
    // modulator_bwd the modulator's backward takes its two passes of 8 or fewer.
    const limit = gpu.limits.maxStorageBuffersPerShaderStage;
    const wide = limit >= Math.max(...Object.values<KernelSource>(WIDE_SOURCES).map(storageBufferCount)) ? WIDE_SOURCES : {};
    const fused = limit >= PLASTIC_STORAGE_BUFFERS;
    const plastic = fused ? plasticSources(gpu.subgroups) : {};
    const kernels: Map<KernelName, Kernel> = await compileKernels(gpu.device, { ...SOURCES, ...wide, ...plastic }, params);
    return new WebGPUBackend(gpu, kernels, fused ? plasticSourcesOnFirstUse(gpu.subgroups) : {}, params, opts);
  } catch (error) {
    gpu.destroy();
    throw error;
  }
}

export class WebGPUBackend implements Backend {
  readonly name = 'webgpu';
  readonly precision = 'f32';
  readonly fusedPlastic: boolean;
  /** The device, for benchmarks and tests that time or compile on it. */
  readonly gpu: GpuDevice;
  readonly #device: GPUDevice;
  readonly #kernels: Map<KernelName, Kernel>;
  /** Kernels compiled where first used, and then added to #kernels. */
  readonly #onFirstUse: Partial<Record<KernelName, KernelSource>>;
  readonly #params: GPUBindGroupLayout;
  readonly #pool: BufferPool;
  /** MAP_READ buffers for readback. */
  readonly #staging: BufferPool;
  readonly #ring: UniformRing;
  readonly #bindGroups: BindGroupCache;
  /**
   * Bound where a kernel leaves a binding unread or unwritten (sgd without momentum, matmul without
   * bias, an output a variant does not produce): a binding cannot be left empty. Two, as one
   * dispatch may leave two writable bindings unwritten and those may not alias.
   */
  readonly #standIns: readonly [GPUBuffer, GPUBuffer];
  readonly #batchSize: number;
  /** With `profile`: every dispatch in a timed pass of its own (profiler.ts). */
  readonly #profiler: KernelProfiler | null;
  readonly #plastic: WebGPUPlastic;
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #dispatches = 0;

  /** Use createWebGPUBackend(). */
  constructor(
    gpu: GpuDevice,
    kernels: Map<KernelName, Kernel>,
    onFirstUse: Partial<Record<KernelName, KernelSource>>,
    params: GPUBindGroupLayout,
    opts: WebGPUBackendOptions = {},
  ) {
    this.#batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
    checkCount('createWebGPUBackend', 'batchSize', this.#batchSize);
    this.gpu = gpu;
    this.#device = gpu.device;
    this.#kernels = kernels;
    this.#onFirstUse = onFirstUse;
    this.#params = params;
    const limits = { ...DEFAULT_POOL_LIMITS, ...opts.pool };
    this.#pool = new BufferPool(this.#device, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, limits);
    this.#staging = new BufferPool(this.#device, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, limits);
    this.#ring = new UniformRing(this.#device, params, UNIFORM_SLOTS);
    this.#bindGroups = new BindGroupCache(this.#device);
    const standIn = (k: number) => this.#device.createBuffer({ label: `stand-in ${k}`, size: 256, usage: GPUBufferUsage.STORAGE });
    this.#standIns = [standIn(0), standIn(1)];
    this.fusedPlastic = kernels.has('plastic_step_bwd_prep');
    this.#profiler = opts.profile ? new KernelProfiler(this.#device) : null;
    this.#plastic = new WebGPUPlastic({
      backend: this,
      subgroups: gpu.subgroups,
      standIn: (k) => this.#standIns[k],
      buffer: (op, arg, buf, need) => this.#get(op, arg, buf, need),
      output: (op, n) => {
        const out = this.#new(op, n);
        return { buf: out, buffer: out.buffer! };
      },
      run: (name, buffers, workgroups) => this.#run(name, buffers, workgroups * WG),
    });
  }

  // ---------------------------------------------------------------- memory

  alloc(n: number): Buf {
    return this.#new('alloc', n);
  }

  upload(data: ArrayLike<number>): Buf {
    return this.#write('upload', data instanceof Float32Array ? data : Float32Array.from(data));
  }

  /** A fresh buffer holding `values`, by a queue write (no dispatch). */
  #write(op: string, values: Float32Array): GpuBuf {
    const out = this.#new(op, values.length, false);
    if (values.length > 0) this.#device.queue.writeBuffer(out.buffer!, 0, values);
    return out;
  }

  fill(n: number, value: number): Buf {
    return this.#fill('fill', n, value);
  }

  async read(buf: Buf, n: number): Promise<Float32Array> {
    checkCount('read', 'n', n);
    const src = this.#get('read', 'buf', buf, n);
    this.gpu.assertAlive('read');
    if (n === 0) return new Float32Array(0);
    const bytes = n * 4;
    const staging = this.#staging.acquire(bytes);
    try {
      this.#encoderOutsidePass().copyBufferToBuffer(src, 0, staging, 0, bytes);
      this.flush();
      await this.gpu.guard('read', staging.mapAsync(GPUMapMode.READ, 0, bytes));
      return new Float32Array(staging.getMappedRange(0, bytes).slice(0));
    } finally {
      if (staging.mapState === 'mapped') staging.unmap();
      this.#staging.release(staging, false);
    }
  }

  free(buf: Buf): void {
    const buffer = this.#get('free', 'buf', buf, 0);
    (buf as GpuBuf).buffer = null;
    this.#pool.release(buffer, this.#encoder !== null);
  }

  /** Storage and staging pools, plus the uniform ring and the stand-in buffers. */
  memory(): MemoryInfo {
    const pool = this.#pool.memory();
    const staging = this.#staging.memory();
    return {
      bytesInUse: pool.bytesInUse + staging.bytesInUse,
      bytesAllocated: pool.bytesAllocated + staging.bytesAllocated + this.#ring.buffer.size + this.#standIns[0].size + this.#standIns[1].size,
      numBuffers: pool.numBuffers + staging.numBuffers + 1 + this.#standIns.length,
    };
  }

  flush(): void {
    this.gpu.assertAlive('flush');
    if (this.#encoder) {
      this.#endPass();
      const readTimes = this.#profiler?.resolve(this.#encoder);
      this.#ring.upload(this.#device.queue);
      this.#device.queue.submit([this.#encoder.finish()]);
      readTimes?.();
      this.#encoder = null;
      this.#dispatches = 0;
      this.#pool.afterSubmit();
    }
    this.gpu.throwUncaptured();
  }

  async sync(): Promise<void> {
    this.flush();
    await this.gpu.guard('sync', this.#device.queue.onSubmittedWorkDone());
  }

  /** Destroys the device, dropping unsubmitted work; Node can exit afterwards. */
  destroy(): void {
    this.#encoder = null;
    this.#pass = null;
    this.#profiler?.destroy();
    this.gpu.destroy();
  }

  /**
   * GPU time per kernel since the last call (or since creation), most first: needs
   * `createWebGPUBackend({ profile: true })`. Submits what is recorded and waits for its timings.
   */
  async kernelTimes(): Promise<KernelTime[]> {
    if (!this.#profiler) throw new Error('kernelTimes: the backend was created without { profile: true }');
    this.flush();
    return this.#profiler.times(true);
  }

  /** A plain copy of the first n elements: the bandwidth floor the benchmarks compare against. */
  copyRaw(src: Buf, n: number): Buf {
    const s = this.#get('copyRaw', 'src', src, n);
    const out = this.#new('copyRaw', n);
    const n4 = Math.ceil(n / 4);
    this.#run('copy', [s, out.buffer!], Math.ceil(n4 / VEC4S_PER_THREAD)).u32(n4);
    return out;
  }

  // ---------------------------------------------------------------- element-wise

  unary(op: UnaryOp, x: Buf, n: number, p0 = 0, p1 = 0): Buf {
    opCode('unary', UNARY_OPS, op);
    const xb = this.#get('unary', 'x', x, n);
    const out = this.#new('unary', n);
    const n4 = Math.ceil(n / 4);
    this.#run(`unary_${op}`, [xb, out.buffer!], Math.ceil(n4 / VEC4S_PER_THREAD)).u32(n4).f32(p0, p1);
    return out;
  }

  addN(xs: readonly Buf[], n: number): Buf {
    checkAddN(xs, n);
    const ins = xs.map((x, k) => this.#get('addN', `buffer ${k}`, x, n));
    const out = this.#new('addN', n);
    // Bindings past the count repeat the first input; the kernel never reads them.
    const bound = Array.from({ length: ADD_N_MAX }, (_, k) => ins[k] ?? ins[0]);
    const n4 = Math.ceil(n / 4);
    this.#run('add_n', [...bound, out.buffer!], Math.ceil(n4 / VEC4S_PER_THREAD)).u32(n4, xs.length);
    return out;
  }

  lstmCell(gates: Buf, width: number, g: Buf | null, cPrev: Buf, batch: number, n: number): { h: Buf; c: Buf } {
    const op = 'lstmCell';
    const [gb, gIn, cp] = this.#lstmInputs(op, gates, width, g, cPrev, batch, n);
    const [h, c] = [this.#new(op, batch * n), this.#new(op, batch * n)];
    this.#run('lstm_cell', [gb, gIn, cp, h.buffer!, c.buffer!], batch * n).u32(batch, n, width, g ? 1 : 0);
    return { h, c };
  }

  lstmCellBackward(gates: Buf, width: number, g: Buf | null, cPrev: Buf, dh: Buf | null, dc: Buf | null, batch: number, n: number) {
    const op = 'lstmCellBackward';
    const [gb, gIn, cp] = this.#lstmInputs(op, gates, width, g, cPrev, batch, n);
    const dhb = dh ? this.#get(op, 'dh', dh, batch * n) : cp;
    const dcb = dc ? this.#get(op, 'dc', dc, batch * n) : cp;
    const dgates = this.#new(op, batch * width);
    const dg = g ? this.#new(op, batch * n) : null;
    const dcPrev = this.#new(op, batch * n);
    this.#run('lstm_cell_bwd', [gb, gIn, cp, dhb, dcb, dgates.buffer!, dg?.buffer ?? this.#standIns[0], dcPrev.buffer!], batch * n)
      .u32(batch, n, width, g ? 1 : 0, dh ? 1 : 0, dc ? 1 : 0);
    return { dgates, dg, dcPrev };
  }

  modulator(h: Buf, w: Buf, b: Buf, fan: ModulatorFan | null, rows: number, n: number): { m: Buf; eta: Buf | null } {
    const op = 'modulator';
    checkModulator(op, fan, rows, n);
    const [hb, wb, bb] = [this.#get(op, 'h', h, rows * n), this.#get(op, 'w', w, n), this.#get(op, 'b', b, 1)];
    const k = fan?.k ?? 0;
    // Without a fan-out, w stands in for fw and fb (never read), a stand-in for eta.
    const [fw, fb] = fan ? [this.#get(op, 'fw', fan.w, k), this.#get(op, 'fb', fan.b, k)] : [wb, wb];
    const m = this.#new(op, rows);
    const eta = fan ? this.#new(op, rows * k) : null;
    this.#run('modulator', [hb, wb, bb, fw, fb, m.buffer!, eta?.buffer ?? this.#standIns[0]], rows).u32(rows, n, k, fan ? 1 : 0);
    return { m, eta };
  }

  modulatorBackward(h: Buf, w: Buf, fan: Omit<ModulatorFan, 'b'> | null, m: Buf, dm: Buf | null, deta: Buf | null, rows: number, n: number) {
    const op = 'modulatorBackward';
    checkModulator(op, fan, rows, n);
    const k = fan?.k ?? 0;
    const [hb, wb, mb] = [this.#get(op, 'h', h, rows * n), this.#get(op, 'w', w, n), this.#get(op, 'm', m, rows)];
    const dmb = dm && this.#get(op, 'dm', dm, rows);
    const detab = fan && deta ? this.#get(op, 'deta', deta, rows * k) : null;
    const fw = fan ? this.#get(op, 'fw', fan.w, k) : wb;
    const flags = [fan ? 1 : 0, dmb ? 1 : 0, detab ? 1 : 0];
    // Absent inputs are bound to m (never read); without a fan-out, the stand-ins take dfw and dfb
    // (never written).
    const dpre = this.#new(op, rows);
    const [dh, dw, db] = [this.#new(op, rows * n), this.#new(op, n), this.#new(op, 1)];
    const [dfw, dfb] = fan ? [this.#new(op, k), this.#new(op, k)] : [null, null];
    const [reads, fanOut] = [[mb, dmb ?? mb, detab ?? mb], [dfw?.buffer ?? this.#standIns[0], dfb?.buffer ?? this.#standIns[1]]];
    if (this.#kernels.has('modulator_bwd')) {
      // One dispatch where the device binds 12 storage buffers (a paper-size PTB step 0.975x the
      // time of the two passes, retroactive; a B = 1 PlasticRNN step 0.94-0.96x).
      this.#run('modulator_bwd', [hb, wb, fw, ...reads, dpre.buffer!, dh.buffer!, dw.buffer!, db.buffer!, ...fanOut], 1).u32(rows, n, k, ...flags);
    } else {
      this.#run('modulator_bwd_rows', [wb, fw, ...reads, dpre.buffer!, dh.buffer!], rows).u32(rows, n, k, ...flags);
      this.#run('modulator_bwd_cols', [hb, mb, dpre.buffer!, detab ?? mb, dw.buffer!, db.buffer!, ...fanOut], n + 1 + k).u32(rows, n, k, ...flags);
    }
    this.free(dpre);
    return { dh, dw, db, dfw, dfb };
  }

  /** lstmCell's checked inputs; the first input stands in for an absent g (never read). */
  #lstmInputs(op: string, gates: Buf, width: number, g: Buf | null, cPrev: Buf, batch: number, n: number): GPUBuffer[] {
    checkLstmCell(op, width, g, batch, n);
    const gb = this.#get(op, 'gates', gates, batch * width);
    return [gb, g ? this.#get(op, 'g', g, batch * n) : gb, this.#get(op, 'cPrev', cPrev, batch * n)];
  }

  binary(
    op: BinaryOp,
    a: Buf,
    aShape: readonly number[],
    b: Buf,
    bShape: readonly number[],
    outShape: readonly number[],
    p0 = 0,
    p1 = 0,
  ): Buf {
    opCode('binary', BINARY_OPS, op);
    checkShape('binary', 'outShape', outShape);
    checkBroadcast('binary', 'a', aShape, outShape);
    checkBroadcast('binary', 'b', bShape, outShape);
    const ab = this.#get('binary', 'a', a, sizeOf(aShape));
    const bb = this.#get('binary', 'b', b, sizeOf(bShape));
    const n = sizeOf(outShape);
    const out = this.#new('binary', n);
    const dims = mergeDims('binary', outShape, [broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
    this.#run(`binary_${op}`, [ab, bb, out.buffer!], Math.ceil(n / 4 / VEC4S_PER_THREAD))
      .u32(n, binaryMode(sizeOf(aShape), sizeOf(bShape), n, dims), dims.shape.length)
      .f32(p0, p1)
      .u32x8(dims.shape)
      .i32x8(dims.strides[0])
      .i32x8(dims.strides[1]);
    return out;
  }

  where(
    cond: Buf,
    condShape: readonly number[],
    a: Buf,
    aShape: readonly number[],
    b: Buf,
    bShape: readonly number[],
    outShape: readonly number[],
  ): Buf {
    checkShape('where', 'outShape', outShape);
    const shapes = [condShape, aShape, bShape];
    const names = ['cond', 'a', 'b'];
    shapes.forEach((s, i) => checkBroadcast('where', names[i], s, outShape));
    const buffers = [cond, a, b].map((buf, i) => this.#get('where', names[i], buf, sizeOf(shapes[i])));
    const n = sizeOf(outShape);
    const out = this.#new('where', n);
    const mode = shapes.every((s) => sizeOf(s) === n) ? 0 : 1;
    const dims = mergeDims('where', outShape, shapes.map((s) => broadcastStrides(s, outShape)));
    this.#run('where', [...buffers, out.buffer!], Math.ceil(n / 4))
      .u32(n, mode, dims.shape.length)
      .u32x8(dims.shape)
      .i32x8(dims.strides[0])
      .i32x8(dims.strides[1])
      .i32x8(dims.strides[2]);
    return out;
  }

  // ---------------------------------------------------------------- reductions

  reduce(op: ReduceOp, x: Buf, outer: number, len: number, inner: number): Buf {
    const code = opCode('reduce', REDUCE_OPS, op);
    checkCount('reduce', 'outer', outer);
    checkCount('reduce', 'len', len);
    checkCount('reduce', 'inner', inner);
    const xb = this.#get('reduce', 'x', x, outer * len * inner);
    const outputs = outer * inner;
    if (len === 0) return this.#fill('reduce', outputs, op === 'sum' ? 0 : -Infinity);
    // Few outputs with long rows would leave most threads idle (a sum of 1M elements would be one
    // thread's loop): split each row into chunks, reduce them in parallel, then the partials.
    const chunks =
      outputs > 0 && outputs < REDUCE_MIN_THREADS && len >= 2 * REDUCE_MIN_CHUNK
        ? Math.min(Math.ceil(len / REDUCE_MIN_CHUNK), Math.ceil(REDUCE_MIN_THREADS / outputs))
        : 1;
    const chunkLen = Math.ceil(len / chunks);
    const used = Math.ceil(len / chunkLen);
    const out = this.#new('reduce', outer * used * inner);
    // Four neighbouring columns per thread where rows allow (reduce.wgsl): 2.3x faster on lavapipe.
    const cw = inner % 4 === 0 ? 4 : 1;
    this.#run(cw === 4 ? 'reduce_vec4' : 'reduce', [xb, out.buffer!], (outer * used * inner) / cw).u32(outer, len, inner / cw, used, chunkLen, code);
    if (used === 1) return out;
    const result = this.reduce(op, out, outer, used, inner);
    this.free(out);
    return result;
  }

  // ---------------------------------------------------------------- linear algebra

  matmul(a: Buf, b: Buf, g: MatmulGeometry, bias?: Buf | null, activation?: 'tanh' | null): Buf {
    const { batch, m, k, n, transA, transB, aBatchStride, bBatchStride } = g;
    for (const key of ['batch', 'm', 'k', 'n', 'aBatchStride', 'bBatchStride'] as const) checkCount('matmul', key, g[key]);
    const geometry = `batch ${batch}, m ${m}, k ${k}, n ${n}`;
    const ab = this.#get('matmul', `a (${geometry})`, a, batch && m * k && (batch - 1) * aBatchStride + m * k);
    const bb = this.#get('matmul', `b (${geometry})`, b, batch && k * n && (batch - 1) * bBatchStride + k * n);
    const biasb = bias ? this.#get('matmul', `bias (${geometry})`, bias, n) : this.#standIns[0];
    if (batch * m * n === 0) return this.#new('matmul', batch * m * n);
    const mode = transA ? (transB ? -1 : 2) : transB ? 1 : 0;
    // The vec4 kernel reads whole vec4s along rows of every operand (see matmul_vec4.wgsl).
    const vec4 =
      mode >= 0 && n % 4 === 0 && (mode === 2 ? m % 4 === 0 : k % 4 === 0) && aBatchStride % 4 === 0 && bBatchStride % 4 === 0;
    const tanhOut = activation === 'tanh';
    if (vec4) return this.#matmulVec4(ab, bb, biasb, bias != null, tanhOut, g, mode);
    if (mode >= 0 && batch * m * n * k >= PAD_MIN_MACS) return this.#matmulPadded(a, b, bias ?? null, tanhOut, g, mode);
    const out = this.#new('matmul', batch * m * n);
    const rowBlocks = Math.ceil(m / 4);
    const colBlocks = Math.ceil(n / 4);
    const [aSi, aSk] = transA ? [1, m] : [k, 1];
    const [bSk, bSj] = transB ? [1, k] : [n, 1];
    this.#run('matmul', [ab, bb, biasb, out.buffer!], batch * rowBlocks * colBlocks)
      .u32(batch, m, k, n, rowBlocks, colBlocks, aBatchStride, aSi, aSk, bBatchStride, bSk, bSj, bias ? 1 : 0, tanhOut ? 1 : 0);
    return out;
  }

  #matmulVec4(ab: GPUBuffer, bb: GPUBuffer, biasb: GPUBuffer, hasBias: boolean, tanhOut: boolean, g: MatmulGeometry, mode: number): Buf {
    const { batch, m, k, n, aBatchStride, bBatchStride } = g;
    const out = this.#new('matmul', batch * m * n);
    const rowBlocks = Math.ceil(m / 4);
    this.#run('matmul_vec4', [ab, bb, biasb, out.buffer!], batch * rowBlocks * (n / 4))
      .u32(batch, m, k, n, rowBlocks, mode, aBatchStride, bBatchStride, hasBias ? 1 : 0, tanhOut ? 1 : 0);
    return out;
  }

  /**
   * A large matmul whose dims are not multiples of 4, run by the vec4 kernel on copies of the
   * operands zero-padded to multiples of 4 (n, and k, or m when A is transposed), then cut back: the
   * scalar kernel ran at 55-65% of the vec4 one's GFLOP/s (bench:lm, hidden 195 against 200), and
   * the copies are O(size) against the product's O(m·k·n).
   */
  #matmulPadded(a: Buf, b: Buf, bias: Buf | null, tanhOut: boolean, g: MatmulGeometry, mode: number): Buf {
    const { batch, m, k, n, transA, transB, aBatchStride, bBatchStride } = g;
    const up = (x: number) => Math.ceil(x / 4) * 4;
    const [m4, k4, n4] = mode === 2 ? [up(m), k, up(n)] : [m, up(k), up(n)];
    // Operand [rows, cols] per batch matrix as stored, padded to [rows4, cols4] with zeros (the
    // padding of k must be zero in both; padded rows and columns of C are cut off).
    const pad = (x: Buf, stride: number, rows: number, cols: number, rows4: number, cols4: number): Buf => {
      if (rows4 === rows && cols4 === cols && stride % 4 === 0) return x; // already whole vec4s
      return this.#padCrop(this.#get('matmul', 'operand', x, 0), stride === 0 ? 1 : batch, stride, cols, rows, cols, rows4, cols4);
    };
    const ap = transA ? pad(a, aBatchStride, k, m, k4, m4) : pad(a, aBatchStride, m, k, m, k4);
    const bp = transB ? pad(b, bBatchStride, n, k, n4, k4) : pad(b, bBatchStride, k, n, k4, n4);
    const biasp = bias && n4 !== n ? pad(bias, 0, 1, n, 1, n4) : bias;
    const strideOf = (x: Buf, padded: Buf, stride: number, size: number) => (padded === x || stride === 0 ? stride : size);
    const padded = this.#matmulVec4(
      this.#get('matmul', 'a', ap, 0),
      this.#get('matmul', 'b', bp, 0),
      biasp ? this.#get('matmul', 'bias', biasp, 0) : this.#standIns[0],
      biasp !== null,
      tanhOut,
      { batch, m: m4, k: k4, n: n4, transA, transB, aBatchStride: strideOf(a, ap, aBatchStride, m4 * k4), bBatchStride: strideOf(b, bp, bBatchStride, k4 * n4) },
      mode,
    );
    for (const [x, orig] of [[ap, a], [bp, b], [biasp, bias]] as const) if (x && x !== orig) this.free(x);
    if (m4 === m && n4 === n) return padded;
    const out = this.#padCrop(this.#get('matmul', 'padded', padded, 0), batch, m4 * n4, n4, m, n, m, n);
    this.free(padded);
    return out;
  }

  /**
   * [batch, dstRows, dstCols] from the matrices [rows, cols] of src (strides srcBatch and srcRow):
   * each cropped to the destination and zero-padded to it (pad_crop.wgsl).
   */
  #padCrop(src: GPUBuffer, batch: number, srcBatch: number, srcRow: number, rows: number, cols: number, dstRows: number, dstCols: number): GpuBuf {
    const n = batch * dstRows * dstCols;
    const out = this.#new('padCrop', n);
    const n4 = Math.ceil(n / 4);
    this.#run('pad_crop', [src, out.buffer!], n4).u32(n, n4, dstRows, dstCols, rows, cols, srcBatch, srcRow);
    return out;
  }

  // ---------------------------------------------------------------- movement

  padCrop(src: Buf, batch: number, srcRows: number, srcCols: number, dstRows: number, dstCols: number): Buf {
    checkPadCrop(src, [batch, srcRows, srcCols, dstRows, dstCols]);
    const sb = this.#get('padCrop', 'src', src, 0);
    return this.#padCrop(sb, batch, srcRows * srcCols, srcCols, Math.min(srcRows, dstRows), Math.min(srcCols, dstCols), dstRows, dstCols);
  }

  copyStrided(src: Buf, srcView: View, dst: Buf, dstView: View, shape: readonly number[]): void {
    checkShape('copyStrided', 'shape', shape);
    const sb = this.#get('copyStrided', 'src', src, 0);
    const db = this.#get('copyStrided', 'dst', dst, 0);
    const n = sizeOf(shape);
    if (n === 0) return;
    checkView('copyStrided', 'srcView', srcView.offset, srcView.strides, shape, src.length);
    checkView('copyStrided', 'dstView', dstView.offset, dstView.strides, shape, dst.length);
    if (src === dst) {
      // A buffer cannot be bound for reading and writing in one dispatch: copy the source first.
      const tmp = this.copyRaw(src, src.length);
      this.copyStrided(tmp, srcView, dst, dstView, shape);
      this.free(tmp);
      return;
    }
    const dims = mergeDims('copyStrided', shape, [srcView.strides, dstView.strides]);
    if (dims.shape.length === 1 && dims.strides[0][0] === 1 && dims.strides[1][0] === 1) {
      // One contiguous run on both sides (a split or concat along the first axis): a buffer copy,
      // no kernel. copy_strided moves floats one at a time, which lavapipe prices per access.
      this.#copyBuffer(sb, srcView.offset, db, dstView.offset, n);
      return;
    }
    const rowLen = dims.shape[dims.shape.length - 1];
    const threads = (n / rowLen) * Math.ceil(rowLen / 4);
    this.#run('copy_strided', [sb, db], threads)
      .u32(threads, dims.shape.length, rowLen, Math.ceil(rowLen / 4))
      .i32(srcView.offset, dstView.offset)
      .u32x8(dims.shape)
      .i32x8(dims.strides[0])
      .i32x8(dims.strides[1]);
  }

  gatherRows(table: Buf, rows: number, cols: number, idx: Int32Array): Buf {
    checkCount('gatherRows', 'rows', rows);
    checkCount('gatherRows', 'cols', cols);
    checkIndices('gatherRows', 'idx', idx, rows);
    const tb = this.#get('gatherRows', 'table', table, rows * cols);
    const n = idx.length * cols;
    const out = this.#new('gatherRows', n);
    if (n === 0) return out;
    const ib = this.#uploadIndices(new Uint32Array(idx));
    this.#run('gather_rows', [tb, ib, out.buffer!], n).u32(n, cols);
    this.#pool.release(ib, true);
    return out;
  }

  scatterAddRows(dy: Buf, rows: number, cols: number, idx: Int32Array): Buf {
    checkCount('scatterAddRows', 'rows', rows);
    checkCount('scatterAddRows', 'cols', cols);
    checkIndices('scatterAddRows', 'idx', idx, rows);
    const db = this.#get('scatterAddRows', 'dy', dy, idx.length * cols);
    const out = this.#fill('scatterAddRows', rows * cols, 0);
    if (idx.length * cols === 0) return out;
    const { groups, segments } = groupRows(idx);
    const gb = this.#uploadIndices(groups);
    this.#run('scatter_add_rows', [db, gb, out.buffer!], segments * cols).u32(segments, cols, segments + 1, 2 * segments + 1);
    this.#pool.release(gb, true);
    return out;
  }

  // ---------------------------------------------------------------- softmax family

  softmax(x: Buf, rows: number, cols: number, log: boolean): Buf {
    checkCount('softmax', 'rows', rows);
    checkCount('softmax', 'cols', cols);
    const xb = this.#get('softmax', 'x', x, rows * cols);
    const out = this.#new('softmax', rows * cols);
    if (cols > 0) this.#run('softmax', [xb, out.buffer!], rows).u32(rows, cols, log ? 1 : 0);
    return out;
  }

  crossEntropy(logits: Buf, rows: number, cols: number, targets: Int32Array): Buf {
    const [xb, tb] = this.#lossArgs('crossEntropy', logits, rows, cols, targets);
    const out = this.#new('crossEntropy', rows);
    if (rows > 0) {
      this.#run('cross_entropy', [xb, tb, out.buffer!], rows).u32(rows, cols);
      this.#pool.release(tb, true);
    }
    return out;
  }

  crossEntropyBackward(logits: Buf, dy: Buf, rows: number, cols: number, targets: Int32Array): Buf {
    const [xb, tb] = this.#lossArgs('crossEntropyBackward', logits, rows, cols, targets);
    const db = this.#get('crossEntropyBackward', 'dy', dy, rows);
    const out = this.#new('crossEntropyBackward', rows * cols);
    if (rows > 0) {
      this.#run('cross_entropy_bwd', [xb, db, tb, out.buffer!], rows).u32(rows, cols);
      this.#pool.release(tb, true);
    }
    return out;
  }

  // ---------------------------------------------------------------- randomness

  dropout(x: Buf, n: number, p: number, seed: number): Buf {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout: p must lie in [0, 1], got ${p}`);
    const xb = this.#get('dropout', 'x', x, n);
    const out = this.#new('dropout', n);
    const n4 = Math.ceil(n / 4);
    // hashUniform's values are multiples of 2^-24, so u >= p exactly when u >= p rounded up to
    // that grid, which f32 holds exactly: the GPU keeps the same elements as the f64 CPU.
    const threshold = Math.ceil(p * 2 ** 24) / 2 ** 24;
    this.#run('dropout', [xb, out.buffer!], n4)
      .u32(n4, seed >>> 0)
      .f32(threshold, p < 1 ? 1 / (1 - p) : 0);
    return out;
  }

  // ---------------------------------------------------------------- optimizers

  adamStep(param: Buf, grad: Buf, m: Buf, v: Buf, n: number, p: AdamParams): void {
    assertDistinct('adamStep', { param, grad, m, v });
    const buffers = [grad, param, m, v].map((buf, i) => this.#get('adamStep', ['grad', 'param', 'm', 'v'][i], buf, n));
    this.#run('adam', buffers, Math.ceil(n / 4))
      .u32(n)
      .f32(p.lr, p.beta1, p.beta2, p.eps, p.weightDecay, 1 - p.beta1 ** p.step, 1 - p.beta2 ** p.step);
  }

  /** Uses (and updates) `mom` whenever it is given, as the CPU backend does. */
  sgdStep(param: Buf, grad: Buf, mom: Buf | null, n: number, p: SgdParams): void {
    assertDistinct('sgdStep', { param, grad, mom });
    const gb = this.#get('sgdStep', 'grad', grad, n);
    const pb = this.#get('sgdStep', 'param', param, n);
    const mb = mom ? this.#get('sgdStep', 'mom', mom, n) : this.#standIns[0];
    this.#run('sgd', [gb, pb, mb], Math.ceil(n / 4))
      .u32(n)
      .f32(p.lr, p.momentum, p.weightDecay)
      .u32(mom ? 1 : 0, p.firstStep ? 1 : 0);
  }

  // ---------------------------------------------------------------- plastic kernels (plastic.ts)

  hebbUpdate(g: PlasticGeometry, hebb: Buf, elig: Buf | null, pre: Buf, post: Buf, mod: Buf, eta: Buf | null): { hebb: Buf; elig: Buf | null } {
    return this.#fused('hebbUpdate').hebbUpdate(g, hebb, elig, pre, post, mod, eta);
  }

  plasticStep(g: PlasticGeometry, inp: PlasticStepInputs): { h: Buf; hebb: Buf; elig: Buf | null } {
    return this.#fused('plasticStep').plasticStep(g, inp);
  }

  plasticStepBackward(g: PlasticGeometry, inp: PlasticStepInputs, h: Buf, dh: readonly Buf[], dhebb: Buf | null, delig: Buf | null): PlasticStepGrads {
    return this.#fused('plasticStepBackward').plasticStepBackward(g, inp, h, dh, dhebb, delig);
  }

  #fused(op: string): WebGPUPlastic {
    if (!this.fusedPlastic) {
      const have = this.#device.limits.maxStorageBuffersPerShaderStage;
      throw new Error(`${op}: the fused plastic kernels bind ${PLASTIC_STORAGE_BUFFERS} storage buffers per shader stage and this device offers ${have}; run the reference composition (kernel: 'reference')`);
    }
    return this.#plastic;
  }

  // ---------------------------------------------------------------- internals

  /** A fresh buffer of `n` elements from the pool; `kernelOutput` false if a queue.writeBuffer will fill it (BufferPool.acquire). */
  #new(op: string, n: number, kernelOutput = true): GpuBuf {
    checkCount(op, 'element count', n);
    this.gpu.assertAlive(op);
    const limit = this.gpu.limits.maxStorageBufferBindingSize;
    if (sizeClass(n * 4) > limit) {
      throw new RangeError(`${op}: ${n} elements (${n * 4} bytes) exceed the device's largest storage binding (${limit} bytes)`);
    }
    return new GpuBuf(n, this.#pool.acquire(n * 4, kernelOutput));
  }

  #fill(op: string, n: number, value: number): GpuBuf {
    checkCount(op, 'element count', n); // before the array below is sized by it
    if (n <= SMALL_FILL) return this.#write(op, new Float32Array(n).fill(value));
    const out = this.#new(op, n);
    // Zeros (a plastic network's initial traces) by the encoder's clear: 0.17-0.24 ms for 4.8 MB on
    // lavapipe against 0.42-0.46 for the fill kernel (a scratch timing, 9 batches each). Not -0.
    if (Object.is(value, 0)) {
      this.#encoderOutsidePass().clearBuffer(out.buffer!, 0, n * 4);
      return out;
    }
    const n4 = Math.ceil(n / 4);
    this.#run('fill', [out.buffer!], Math.ceil(n4 / VEC4S_PER_THREAD)).u32(n4).f32(value);
    return out;
  }

  /** The GPU buffer behind `buf`, checked to be live and to hold at least `need` elements. */
  #get(op: string, arg: string, buf: Buf, need: number): GPUBuffer {
    if (!(buf instanceof GpuBuf)) throw new TypeError(`${op}: ${arg} is not a buffer of the WebGPU backend`);
    if (!buf.buffer) throw new Error(`${op}: ${arg} was already freed`);
    if (buf.length < need) throw new RangeError(`${op}: ${arg} holds ${buf.length} elements, needs ${need}`);
    return buf.buffer;
  }

  /** Checks a loss's arguments and uploads its targets. */
  #lossArgs(op: string, logits: Buf, rows: number, cols: number, targets: Int32Array): [GPUBuffer, GPUBuffer] {
    checkCount(op, 'rows', rows);
    checkCount(op, 'cols', cols);
    if (targets.length !== rows) throw new RangeError(`${op}: targets has ${targets.length} entries for ${rows} rows`);
    checkIndices(op, 'targets', targets, cols);
    const xb = this.#get(op, 'logits', logits, rows * cols);
    return [xb, this.#uploadIndices(new Uint32Array(targets))];
  }

  /** A pooled buffer holding `values`; the caller releases it (deferred) after its dispatch. */
  #uploadIndices(values: Uint32Array): GPUBuffer {
    this.gpu.assertAlive('upload');
    const buffer = this.#pool.acquire(values.byteLength);
    this.#device.queue.writeBuffer(buffer, 0, values);
    return buffer;
  }

  /**
   * Records one dispatch of `threads` threads and returns its uniform slot, which the caller
   * fills at once (a batch is submitted only at the start of a later dispatch or in flush()).
   */
  #run(name: KernelName, buffers: readonly GPUBuffer[], threads: number): ParamsWriter {
    this.gpu.assertAlive(name);
    if (this.#dispatches >= this.#batchSize || this.#ring.full || this.#profiler?.full) this.flush();
    const params = this.#ring.next();
    if (threads === 0) return params;
    const kernel = this.#kernels.get(name) ?? this.#compileNow(name);
    const bindGroup = this.#bindGroups.get(kernel, buffers);
    this.#encoder ??= this.#device.createCommandEncoder();
    if (this.#profiler) {
      this.#endPass();
      this.#pass = this.#encoder.beginComputePass(this.#profiler.pass(name));
    }
    this.#pass ??= this.#encoder.beginComputePass();
    this.#pass.setPipeline(kernel.pipeline);
    this.#pass.setBindGroup(0, bindGroup);
    this.#pass.setBindGroup(1, this.#ring.bindGroup, [params.offset]);
    this.#pass.dispatchWorkgroups(...this.#grid(name, threads));
    if (this.#profiler) this.#endPass();
    this.#dispatches++;
    return params;
  }

  #compileNow(name: KernelName): Kernel {
    const source = this.#onFirstUse[name];
    if (!source) throw new Error(`WebGPU backend: no kernel '${name}'`);
    const kernel = compileKernelNow(this.#device, name, source, this.#params);
    this.#kernels.set(name, kernel);
    return kernel;
  }

  /** Workgroups for `threads` threads as a 2-D grid: one dimension holds at most 65535 of them. */
  #grid(name: string, threads: number): [number, number] {
    const groups = Math.ceil(threads / WG);
    const maxDim = this.gpu.limits.maxComputeWorkgroupsPerDimension;
    const y = Math.ceil(groups / maxDim);
    if (y > maxDim) throw new RangeError(`${name}: ${threads} threads exceed the dispatch grid`);
    return [Math.ceil(groups / y), y];
  }

  /** Records copyBufferToBuffer of n floats, in order with the dispatches around it (between their passes). */
  #copyBuffer(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, n: number): void {
    this.gpu.assertAlive('copyStrided');
    if (this.#dispatches >= this.#batchSize) this.flush();
    this.#encoderOutsidePass().copyBufferToBuffer(src, srcOffset * 4, dst, dstOffset * 4, n * 4);
    this.#dispatches++;
  }

  /** The open command encoder (created if none) with no compute pass open: for copies. */
  #encoderOutsidePass(): GPUCommandEncoder {
    this.#endPass();
    return (this.#encoder ??= this.#device.createCommandEncoder());
  }

  #endPass(): void {
    this.#pass?.end();
    this.#pass = null;
  }
}

/**
 * binary.wgsl's mode: 0 same layouts, 1 or 2 one operand a scalar, 3 rows (the merged last
 * dimension is whole vec4s that each operand reads along with stride 1 from an aligned start, or
 * repeats with stride 0), 4 anything else.
 */
function binaryMode(aSize: number, bSize: number, n: number, dims: { shape: number[]; strides: number[][] }): number {
  if (aSize === n && bSize === n) return 0;
  if (aSize === 1 && bSize === n) return 1;
  if (bSize === 1 && aSize === n) return 2;
  const last = dims.shape.length - 1;
  const rows =
    dims.shape[last] % 4 === 0 &&
    dims.strides.every((s) => s[last] === 0 || (s[last] === 1 && s.every((stride, d) => d === last || stride % 4 === 0)));
  return rows ? 3 : 4;
}

function opCode<T extends string>(kernel: string, ops: readonly T[], op: T): number {
  const code = ops.indexOf(op);
  if (code < 0) throw new RangeError(`${kernel}: unknown op '${op}' (expected one of ${ops.join(', ')})`);
  return code;
}

/** In-place kernels write some of their arguments; a buffer passed twice would alias a write. */
function assertDistinct(op: string, args: Record<string, Buf | null>): void {
  const seen = new Map<Buf, string>();
  for (const [name, buf] of Object.entries(args)) {
    if (!buf) continue;
    const other = seen.get(buf);
    if (other) throw new Error(`${op}: ${name} and ${other} are the same buffer`);
    seen.set(buf, name);
  }
}
