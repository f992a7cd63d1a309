/**
 * Tensor: a float32 (float64 on the CPU oracle) array on a backend, with an optional autograd node.
 *
 * Storage is reference counted so that views (reshape) and tensors saved for backward share one
 * device buffer; the buffer goes back to the pool when the last reference is released.
 */
import { sizeOf, type Backend, type Buf, type FloatArray } from '../kernels/backend.js';
import { DisposedError, fmtShape, shapeError } from './errors.js';
import type { Node } from './graph.js';
import { track } from './scope.js';

let current: Backend | null = null;

/** Makes `backend` the one new tensors are created on. */
export function setBackend(backend: Backend): void {
  current = backend;
}

export function getBackend(): Backend {
  if (!current) throw new Error('no backend: call initDevice() first');
  return current;
}

export class Storage {
  #refs = 1;
  constructor(
    readonly backend: Backend,
    readonly buf: Buf,
  ) {}
  retain(): this {
    this.#refs++;
    return this;
  }
  release(): void {
    if (--this.#refs === 0) this.backend.free(this.buf);
  }
}

export interface TensorOptions {
  requiresGrad?: boolean;
  /** A name for error messages and state dicts. */
  name?: string;
}

export class Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  requiresGrad: boolean;
  /** Accumulated gradient of a leaf tensor after `backward()`. */
  grad: Tensor | null = null;
  /** The node that produced this tensor, or null for a leaf. */
  creator: Node | null = null;
  name: string | undefined;
  #storage: Storage | null;

  /** Internal: wraps a storage the caller hands over (one reference). Use `tensor()` to create. */
  constructor(storage: Storage, shape: readonly number[], opts: TensorOptions = {}) {
    this.#storage = storage;
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    this.requiresGrad = opts.requiresGrad ?? false;
    this.name = opts.name;
    track(this);
  }

  get storage(): Storage {
    if (!this.#storage) {
      throw new DisposedError(`tensor${this.name ? ` '${this.name}'` : ''} ${fmtShape(this.shape)} was used after dispose()`);
    }
    return this.#storage;
  }

  get buf(): Buf {
    return this.storage.buf;
  }

  get backend(): Backend {
    return this.storage.backend;
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.#storage === null;
  }

  /** Copies the values to the host. */
  async data(): Promise<FloatArray> {
    return this.backend.read(this.buf, this.size);
  }

  /** The value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw shapeError('item', 'tensor', 'one element', this.shape);
    return (await this.data())[0];
  }

  /** Releases the device memory. Further use throws; disposing twice is harmless. */
  dispose(): void {
    if (!this.#storage) return;
    this.#storage.release();
    this.#storage = null;
    this.creator?.releaseOutput();
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  toString(): string {
    return `Tensor(${fmtShape(this.shape)}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}

/** The same values, sharing storage, cut from the graph: no gradient flows through the result. */
export function detach(t: Tensor): Tensor {
  return new Tensor(t.storage.retain(), t.shape);
}

/** A tensor that owns `buf`, a buffer of `backend` (freed with the tensor's storage). */
export function fromBuffer(backend: Backend, buf: Buf, shape: readonly number[], opts?: TensorOptions): Tensor {
  return new Tensor(new Storage(backend, buf), shape, opts);
}

/** A new tensor from host data (row-major). `shape` defaults to [data.length]. */
export function tensor(data: ArrayLike<number>, shape?: readonly number[], opts?: TensorOptions): Tensor {
  const s = shape ?? [data.length];
  if (sizeOf(s) !== data.length) {
    throw new RangeError(`tensor: data has ${data.length} elements but shape ${fmtShape(s)} needs ${sizeOf(s)}`);
  }
  const backend = getBackend();
  return fromBuffer(backend, backend.upload(data), s, opts);
}

export function full(shape: readonly number[], value: number, opts?: TensorOptions): Tensor {
  const backend = getBackend();
  return fromBuffer(backend, backend.fill(sizeOf(shape), value), shape, opts);
}

export function zeros(shape: readonly number[], opts?: TensorOptions): Tensor {
  return full(shape, 0, opts);
}

export function ones(shape: readonly number[], opts?: TensorOptions): Tensor {
  return full(shape, 1, opts);
}

/** A scalar (shape []) tensor. */
export function scalar(value: number, opts?: TensorOptions): Tensor {
  return full([], value, opts);
}
