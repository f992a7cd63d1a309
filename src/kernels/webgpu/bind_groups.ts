/**
 * Storage bind groups, cached by kernel and buffer identities.
 *
 * createBindGroup costs 7-13 µs in Dawn on lavapipe, about a third of the time it takes to record
 * a dispatch, while a training loop binds the same pooled buffers to the same kernels step after
 * step. The cache is bounded: when it is full it starts over, which also drops entries of buffers
 * the pool has destroyed since. The bound holds an A2C iteration's groups (about 7,400 at B=30,
 * N=200, T=120: each step's activations are live buffers of their own until the backward).
 */
import type { Kernel } from './pipelines.js';

const MAX_ENTRIES = 16384;

export class BindGroupCache {
  readonly #device: GPUDevice;
  readonly #ids = new WeakMap<GPUBuffer, number>();
  readonly #groups = new Map<string, GPUBindGroup>();
  #nextId = 0;

  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** The bind group of `kernel`'s storage layout with `buffers` at bindings 0, 1, 2, ... */
  get(kernel: Kernel, buffers: readonly GPUBuffer[]): GPUBindGroup {
    let key = kernel.name;
    for (const buffer of buffers) key += `,${this.#id(buffer)}`;
    let group = this.#groups.get(key);
    if (!group) {
      if (this.#groups.size >= MAX_ENTRIES) this.#groups.clear();
      group = this.#device.createBindGroup({
        layout: kernel.storageLayout,
        entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      this.#groups.set(key, group);
    }
    return group;
  }

  #id(buffer: GPUBuffer): number {
    let id = this.#ids.get(buffer);
    if (id === undefined) {
      id = this.#nextId++;
      this.#ids.set(buffer, id);
    }
    return id;
  }
}
