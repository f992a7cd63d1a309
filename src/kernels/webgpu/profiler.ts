/**
 * GPU time per kernel, from timestamp queries (the optional 'timestamp-query' feature): with
 * `createWebGPUBackend({ profile: true })` every dispatch runs in a compute pass of its own whose
 * beginning and end write timestamps, and `WebGPUBackend.kernelTimes()` sums them by kernel name.
 *
 * A pass per dispatch costs time of its own, so a profiled run is slower than a plain one: use the
 * shares, not the totals. The timestamps of each submit are resolved into a buffer, copied to a
 * mappable one and read without blocking; kernelTimes() waits for the reads still in flight.
 */
import { deviceWait } from './device.js';

/** Dispatches timed per submit: the backend submits before a query set would overflow. */
export const PROFILED_DISPATCHES = 1024;

export interface KernelTime {
  kernel: string;
  dispatches: number;
  /** Summed GPU time between each dispatch's pass beginning and end. */
  ms: number;
}

export class KernelProfiler {
  readonly #device: GPUDevice;
  readonly #querySet: GPUQuerySet;
  /** Kernel names of the dispatches timed in the encoder being recorded, by query pair. */
  #names: string[] = [];
  readonly #totals = new Map<string, { dispatches: number; ns: bigint }>();
  readonly #reads: Promise<void>[] = [];

  constructor(device: GPUDevice) {
    this.#device = device;
    this.#querySet = device.createQuerySet({ type: 'timestamp', count: 2 * PROFILED_DISPATCHES });
  }

  get full(): boolean {
    return this.#names.length === PROFILED_DISPATCHES;
  }

  /** The descriptor of the pass that will hold the next dispatch, of `kernel`. */
  pass(kernel: string): GPUComputePassDescriptor {
    const slot = this.#names.push(kernel) - 1;
    return { timestampWrites: { querySet: this.#querySet, beginningOfPassWriteIndex: 2 * slot, endOfPassWriteIndex: 2 * slot + 1 } };
  }

  /** Before `encoder` is finished: resolves its timestamps and schedules their readback (after submit). */
  resolve(encoder: GPUCommandEncoder): () => void {
    const names = this.#names;
    this.#names = [];
    if (names.length === 0) return () => {};
    const bytes = 16 * names.length;
    const resolved = this.#device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const staging = this.#device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.resolveQuerySet(this.#querySet, 0, 2 * names.length, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, staging, 0, bytes);
    return () => {
      const read = staging.mapAsync(GPUMapMode.READ).then(() => {
        const t = new BigInt64Array(staging.getMappedRange());
        names.forEach((kernel, i) => {
          const total = this.#totals.get(kernel) ?? { dispatches: 0, ns: 0n };
          total.dispatches++;
          total.ns += t[2 * i + 1] - t[2 * i];
          this.#totals.set(kernel, total);
        });
        staging.destroy();
        resolved.destroy();
      });
      this.#reads.push(read);
    };
  }

  /** Totals so far, most time first; `reset` starts over. */
  async times(reset: boolean): Promise<KernelTime[]> {
    await deviceWait(Promise.all(this.#reads.splice(0)));
    const out = [...this.#totals].map(([kernel, t]) => ({ kernel, dispatches: t.dispatches, ms: Number(t.ns) / 1e6 }));
    if (reset) this.#totals.clear();
    return out.sort((a, b) => b.ms - a.ms);
  }

  destroy(): void {
    this.#querySet.destroy();
  }
}
