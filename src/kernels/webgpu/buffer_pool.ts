/**
 * A pool of GPU buffers of one usage, bucketed by size class.
 *
 * Creating a GPU buffer is slow next to a dispatch, and a training step frees and allocates the
 * same sizes over and over, so freed buffers wait in free lists for the next request of their
 * class. The lists are capped (per class and in total bytes) and buffers beyond the caps are
 * destroyed, so the pool never hides unbounded growth; `memory()` reports both the bytes handed
 * out and the bytes that exist (tfjs learned to report the second one the hard way).
 *
 * At the byte cap the free buffers released longest ago go first, whatever their class: they
 * belong to sizes the program has stopped using. Destroying the newcomer instead left the cap
 * full of such buffers, and every later op of a new size got a fresh buffer, which Dawn
 * zero-fills on first use: bench:ops, which visits sizes in turn, measured its 20 MB copy at
 * 3 GB/s against 10 when run alone.
 *
 * Free buffers are handed out oldest first (by creation order), not last freed first: then a step
 * that allocates like the one before it gets the same buffers whatever order they were freed in,
 * and the bind-group cache (bind_groups.ts) finds the groups it made for them. A kernel output
 * takes the oldest of the free and the deferred buffers (below) alike, so that where the automatic
 * submits fall in a step does not change its buffers either. A training loop that never submits
 * at step boundaries (trainLm) has them fall elsewhere in every step; a paper-size PTB step of the
 * retroactive model created 453 bind groups 4-7 steps in and still 145 30 steps in, now 29 and 4.
 *
 * Deferred release: a buffer freed while an unsubmitted command encoder may still use it must not
 * be destroyed (the submit would fail) nor handed out for a queue.writeBuffer (which would run
 * before that encoder's work). Such buffers wait in `#pending` until `afterSubmit()`. A kernel
 * output may take one sooner (`acquire(bytes, true)`): its writes are recorded after the reads
 * already in the encoder, and WebGPU orders dispatches. Without that, a batch of 64 dispatches
 * creating 5 MB outputs needed 64 fresh buffers, which Dawn zero-fills on first use.
 */

import type { MemoryInfo } from '../backend.js';

export interface PoolLimits {
  /** Free buffers kept per size class. */
  maxFreePerClass: number;
  /** Bytes of free buffers kept in all, or with `upToPeak` the peak bytes in use if that is more. */
  maxFreeBytes: number;
  /**
   * Let the byte cap rise to the most bytes the program has had in use at once. A training loop
   * frees an episode's tensors together and needs them all again in the next one: a PlasticRNN
   * episode storing every trace (B=30, N=200, T=120, 1.3 GB) ran 1.2x faster than with
   * checkpointing once the pool kept them, and no faster with the fixed 256 MB cap, where each
   * episode's traces were new buffers that Dawn zero-fills (bench:kernels --quick, memory table).
   * Memory then stays at the peak the program reached, as a caching allocator's does.
   */
  upToPeak: boolean;
}

/**
 * An unrolled episode frees thousands of buffers of one class at its backward (120 steps of [B, N]
 * activations); keeping them lets the next episode bind the same ones. The byte cap bounds the pool.
 */
export const DEFAULT_POOL_LIMITS: PoolLimits = { maxFreePerClass: 4096, maxFreeBytes: 256 * 2 ** 20, upToPeak: true };

/**
 * The bytes a request of `bytes` occupies: at least 256 and 256-byte aligned (so every buffer can
 * be read as whole vec4s), then rounded up to the grid 2^e·{1, 1.25, 1.5, 1.75}. The grid bounds
 * the waste at 25% and makes a freed buffer fit many nearby sizes.
 */
export function sizeClass(bytes: number): number {
  const aligned = Math.max(256, Math.ceil(bytes / 256) * 256);
  const step = 2 ** Math.floor(Math.log2(aligned)) / 4;
  return Math.ceil(Math.ceil(aligned / step) * step / 256) * 256;
}

export class BufferPool {
  readonly #device: GPUDevice;
  readonly #usage: GPUBufferUsageFlags;
  readonly #limits: PoolLimits;
  /** Free buffers per size class, newest first, so that pop() gives the oldest. */
  readonly #free = new Map<number, GPUBuffer[]>();
  /** Creation order of every buffer this pool made. */
  readonly #age = new WeakMap<GPUBuffer, number>();
  /** Every free buffer, in the order they were released (a Set iterates in insertion order). */
  readonly #released = new Set<GPUBuffer>();
  #created = 0;
  /** Deferred releases by size class, until the next afterSubmit(); ordered as #free. */
  #pending = new Map<number, GPUBuffer[]>();
  #freeBytes = 0;
  #bytesInUse = 0;
  #peakInUse = 0;
  #bytesAllocated = 0;
  #numBuffers = 0;

  constructor(device: GPUDevice, usage: GPUBufferUsageFlags, limits: PoolLimits = DEFAULT_POOL_LIMITS) {
    this.#device = device;
    this.#usage = usage;
    this.#limits = limits;
  }

  /**
   * A buffer of at least `bytes` bytes (exactly `sizeClass(bytes)`), contents unspecified. With
   * `kernelOutput`, only dispatches recorded from now on will write it (never a queue.writeBuffer),
   * so a buffer whose release still waits for the submit will do when no free one does.
   */
  acquire(bytes: number, kernelOutput = false): GPUBuffer {
    const size = sizeClass(bytes);
    const free = this.#free.get(size);
    const pending = kernelOutput ? this.#pending.get(size) : undefined;
    // The oldest of both lists: which of them a buffer is in depends on where the automatic
    // submits fall, and the choice must not (see the header).
    let buffer: GPUBuffer | undefined;
    if (this.#oldestAge(pending) < this.#oldestAge(free)) {
      buffer = pending!.pop()!;
    } else if ((buffer = free?.pop())) {
      this.#freeBytes -= size;
      this.#released.delete(buffer);
    } else {
      buffer = this.#create(size);
    }
    this.#bytesInUse += size;
    this.#peakInUse = Math.max(this.#peakInUse, this.#bytesInUse);
    return buffer;
  }

  #create(size: number): GPUBuffer {
    const buffer = this.#device.createBuffer({ size, usage: this.#usage });
    this.#age.set(buffer, this.#created++);
    this.#bytesAllocated += size;
    this.#numBuffers++;
    return buffer;
  }

  /**
   * Gives `buffer` back. With `deferred`, it returns to the free lists only at the next
   * `afterSubmit()`, because an encoder not yet submitted may use it.
   */
  release(buffer: GPUBuffer, deferred: boolean): void {
    this.#bytesInUse -= buffer.size;
    if (!deferred) this.#keepOrDestroy(buffer);
    else this.#insertByAge(listOf(this.#pending, buffer.size), buffer);
  }

  /** Call after each submit: buffers released while it was being recorded become reusable. */
  afterSubmit(): void {
    const pending = this.#pending;
    this.#pending = new Map();
    for (const list of pending.values()) for (const buffer of list) this.#keepOrDestroy(buffer);
  }

  memory(): MemoryInfo {
    return { bytesInUse: this.#bytesInUse, bytesAllocated: this.#bytesAllocated, numBuffers: this.#numBuffers };
  }

  #keepOrDestroy(buffer: GPUBuffer): void {
    const size = buffer.size;
    const list = listOf(this.#free, size);
    const cap = this.#limits.upToPeak ? Math.max(this.#limits.maxFreeBytes, this.#peakInUse) : this.#limits.maxFreeBytes;
    if (list.length >= this.#limits.maxFreePerClass || size > cap) {
      this.#destroy(buffer);
      return;
    }
    while (this.#freeBytes + size > cap) this.#evictOldestReleased();
    this.#insertByAge(list, buffer);
    this.#freeBytes += size;
    this.#released.add(buffer);
  }

  /** The age of the oldest buffer of `list` (ordered newest first), or Infinity if it has none. */
  #oldestAge(list: GPUBuffer[] | undefined): number {
    return list?.length ? this.#age.get(list[list.length - 1])! : Infinity;
  }

  /** Inserts `buffer` into `list`, which is ordered by age, newest first (binary search). */
  #insertByAge(list: GPUBuffer[], buffer: GPUBuffer): void {
    const age = this.#age.get(buffer)!;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#age.get(list[mid])! > age) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, buffer);
  }

  #evictOldestReleased(): void {
    const buffer = this.#released.values().next().value!;
    this.#released.delete(buffer);
    const list = this.#free.get(buffer.size)!;
    list.splice(list.indexOf(buffer), 1);
    this.#freeBytes -= buffer.size;
    this.#destroy(buffer);
  }

  #destroy(buffer: GPUBuffer): void {
    buffer.destroy();
    this.#bytesAllocated -= buffer.size;
    this.#numBuffers--;
  }
}

/** The list of size class `size` in `lists`, created empty on first use. */
function listOf(lists: Map<number, GPUBuffer[]>, size: number): GPUBuffer[] {
  let list = lists.get(size);
  if (!list) lists.set(size, (list = []));
  return list;
}
