/**
 * Uniforms of recorded dispatches, without a buffer per dispatch.
 *
 * Each dispatch writes its `Params` struct into its own 256-byte slot of a CPU-side ArrayBuffer and
 * binds the matching slot of one GPU uniform buffer through a dynamic offset. At submit time the
 * used part is uploaded with a single queue.writeBuffer, which the queue orders before the submit.
 * 256 bytes is WebGPU's default minUniformBufferOffsetAlignment and fits every Params struct.
 */

const SLOT_BYTES = 256;

export class UniformRing {
  readonly buffer: GPUBuffer;
  readonly bindGroup: GPUBindGroup;
  readonly capacity: number;
  readonly #host: ArrayBuffer;
  readonly #views: HostViews;
  #used = 0;

  constructor(device: GPUDevice, layout: GPUBindGroupLayout, capacity: number) {
    this.capacity = capacity;
    this.#host = new ArrayBuffer(capacity * SLOT_BYTES);
    this.#views = { u32: new Uint32Array(this.#host), i32: new Int32Array(this.#host), f32: new Float32Array(this.#host) };
    this.buffer = device.createBuffer({ label: 'uniform ring', size: capacity * SLOT_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.bindGroup = device.createBindGroup({
      label: 'uniform ring',
      layout,
      entries: [{ binding: 0, resource: { buffer: this.buffer, size: SLOT_BYTES } }],
    });
  }

  get full(): boolean {
    return this.#used === this.capacity;
  }

  /** The next free slot, to be filled field by field in the order of the kernel's Params struct. */
  next(): ParamsWriter {
    if (this.full) throw new Error('UniformRing: full; upload() it before recording more dispatches');
    return new ParamsWriter(this.#views, this.#used++ * SLOT_BYTES);
  }

  /** Copies the used slots to the GPU buffer and starts over. Call right before submitting. */
  upload(queue: GPUQueue): void {
    if (this.#used > 0) queue.writeBuffer(this.buffer, 0, this.#host, 0, this.#used * SLOT_BYTES);
    this.#used = 0;
  }
}

interface HostViews {
  u32: Uint32Array;
  i32: Int32Array;
  f32: Float32Array;
}

/**
 * Writes one Params struct. Scalars are 4 bytes; `u32x8` and `i32x8` write an
 * `array<vec4<u32 or i32>, 2>` (16-byte aligned, 8 entries, unused ones 0), which is how shapes and
 * strides of rank ≤ 8 travel.
 */
export class ParamsWriter {
  /** Byte offset of the slot in the ring: the dynamic offset of the dispatch. */
  readonly offset: number;
  readonly #views: HostViews;
  /** Index of the next 4-byte word in the host views (slots are 16-byte aligned). */
  #word: number;

  constructor(views: HostViews, offset: number) {
    this.offset = offset;
    this.#views = views;
    this.#word = offset / 4;
  }

  u32(...values: number[]): this {
    for (const v of values) this.#views.u32[this.#word++] = v;
    return this;
  }

  i32(...values: number[]): this {
    for (const v of values) this.#views.i32[this.#word++] = v;
    return this;
  }

  f32(...values: number[]): this {
    for (const v of values) this.#views.f32[this.#word++] = v;
    return this;
  }

  u32x8(values: readonly number[]): this {
    return this.#array8(this.#views.u32, values);
  }

  i32x8(values: readonly number[]): this {
    return this.#array8(this.#views.i32, values);
  }

  #array8(view: Uint32Array | Int32Array, values: readonly number[]): this {
    this.#word = Math.ceil(this.#word / 4) * 4;
    for (let i = 0; i < 8; i++) view[this.#word + i] = values[i] ?? 0;
    this.#word += 8;
    return this;
  }
}
