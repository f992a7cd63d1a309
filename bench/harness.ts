/**
 * Benchmark harness: times batches of device work, prints tables, and writes results as JSON next
 * to the machine they came from.
 *
 * Every library under test is a `Lib` and every measured operation a `Case`, so ours and the peers
 * go through the same loop: record `count` operations back to back, submit, wait once, and divide.
 * Timings on lavapipe are only meaningful as ratios within one run (DESIGN.md, performance model).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

/** One operation of one library with its inputs allocated; nothing recorded yet. */
export interface Case {
  /** Records (enqueues) one operation and releases its output. */
  run(): void;
  /** Frees the inputs. */
  dispose(): void;
}

export type ElementwiseOp = 'add' | 'tanh';

/** A library under test. */
export interface Lib {
  readonly name: string;
  /** Where it computes: a WebGPU device (lavapipe here) or the host CPU. */
  readonly kind: 'webgpu' | 'cpu';
  /** The WebGPU adapter's description, or what runs on the CPU. */
  readonly adapter: string;
  matmul(n: number): Promise<Case>;
  elementwise(op: ElementwiseOp, n: number): Promise<Case>;
  /** Submits recorded work without waiting (a no-op where every op is submitted at once). */
  flush(): void;
  /** Resolves when all recorded work has finished. */
  sync(): Promise<void>;
  /** Releases the device, so that Node can exit. */
  destroy(): void;
  /** Makes the library current where libraries share global state (TF.js's one active backend). */
  activate?(): Promise<void>;
}

/** A library that could not be loaded, and why. */
export interface Unavailable {
  readonly name: string;
  readonly reason: string;
}

export interface TimeOptions {
  /** Operations per batch; by default enough for a batch of about `minBatchMs`. */
  count?: number;
  minBatchMs?: number;
  /** Timed batches; the median is reported. */
  reps?: number;
  /**
   * Untimed batches per case after calibration (default 0, on top of the three it always runs):
   * for work whose host side settles only over several steps (a training step's bind groups are
   * found in the cache once the buffer pool hands out the same buffers again).
   */
  warmup?: number;
  /**
   * Sleep through most of the device time expected after recording before awaiting `sync()`.
   * While Node awaits a `webgpu` promise its main thread spins and takes a core from lavapipe
   * (DESIGN.md, field notes); measured here, sleeping made device-bound batches 1.4x faster. Our
   * backend's own waits sleep between polls (device.ts settleQuietly); the peers' do not, so every
   * library gets this sleep.
   */
  idle?: boolean;
}

export interface Timing {
  msPerOp: number;
  /** Host time spent recording, per op: what bounds tiny ops when it exceeds the device's share. */
  recordMsPerOp: number;
  count: number;
  /** Wall time of each timed batch, ms. */
  batchesMs: number[];
}

/** The most operations in one batch. */
const MAX_COUNT = 10_000;

/** The fraction of the expected device time that a batch sleeps before it awaits the device. */
const IDLE_FRACTION = 0.8;

/** What the timing loop needs of a library: how to make it current, submit its work and wait. */
export type Scheduler = Pick<Lib, 'activate' | 'flush' | 'sync'>;

/** A case to time on its library. */
export interface Entry {
  lib: Scheduler;
  c: Case;
}

/**
 * Times several cases with their batches interleaved (round-robin), so that load drifting on the
 * machine (another job on the second core halves lavapipe's speed) hits every case alike and their
 * ratios stay meaningful. Per case: one warm-up op (pipeline compiles), calibration of the batch
 * size, two warm-up batches of that size (they fill the buffer pools and measure how long the
 * device stays busy after recording), `warmup` more, then `reps` timed batches; the median is
 * reported. A case
 * that throws yields its Error; the others go on.
 */
export async function timeCases(entries: readonly Entry[], opts: TimeOptions = {}): Promise<(Timing | Error)[]> {
  const { minBatchMs = 100, reps = 5, idle = true, warmup = 0 } = opts;
  const trials = entries.map((e) => new Trial(e));
  for (const t of trials) await t.guard(() => t.prepare(opts.count, minBatchMs));
  for (let r = 0; r < warmup; r++) for (const t of trials) await t.guard(() => t.warm());
  for (let r = 0; r < reps; r++) for (const t of trials) await t.guard(() => t.timed(idle));
  return trials.map((t) => t.result());
}

interface Batch {
  /** Wall time: recording, submit, and waiting for the device. */
  ms: number;
  /** Host time recording and submitting. */
  recordMs: number;
  /** Time from the submit until the device was done (including any idle sleep). */
  waitMs: number;
}

class Trial {
  #count = 1;
  /** Shortest wait seen after a batch of #count: how long the device stays busy after recording. */
  #waitMs = Infinity;
  #error: Error | null = null;
  readonly #batches: Batch[] = [];

  constructor(readonly entry: Entry) {}

  async guard(step: () => Promise<void>): Promise<void> {
    if (this.#error) return;
    try {
      await step();
    } catch (error) {
      this.#error = error instanceof Error ? error : new Error(String(error));
    }
  }

  async prepare(count: number | undefined, minBatchMs: number): Promise<void> {
    await this.#batch(1, 0);
    if (count === undefined) {
      // Batches growing 4x until one is long enough to scale from: a single op's time is mostly
      // submit latency and noise.
      count = 1;
      let { ms } = await this.#batch(count, 0);
      while (ms < minBatchMs / 4 && count < MAX_COUNT) ({ ms } = await this.#batch((count *= 4), 0));
      count = Math.max(1, Math.min(MAX_COUNT, Math.round((count * minBatchMs) / ms)));
    }
    this.#count = count;
    for (let i = 0; i < 2; i++) this.#waitMs = Math.min(this.#waitMs, (await this.#batch(count, 0)).waitMs);
  }

  async warm(): Promise<void> {
    await this.#batch(this.#count, 0);
  }

  async timed(idle: boolean): Promise<void> {
    const batch = await this.#batch(this.#count, idle ? IDLE_FRACTION * this.#waitMs : 0);
    this.#batches.push(batch);
    this.#waitMs = Math.min(this.#waitMs, batch.waitMs);
  }

  result(): Timing | Error {
    if (this.#error) return this.#error;
    const count = this.#count;
    return {
      msPerOp: median(this.#batches.map((b) => b.ms)) / count,
      recordMsPerOp: median(this.#batches.map((b) => b.recordMs)) / count,
      count,
      batchesMs: this.#batches.map((b) => b.ms),
    };
  }

  /** Records `count` ops, submits them, sleeps `sleepMs` (where over 1 ms), then awaits the device. */
  async #batch(count: number, sleepMs: number): Promise<Batch> {
    const { lib, c } = this.entry;
    await lib.activate?.();
    const t0 = performance.now();
    for (let i = 0; i < count; i++) c.run();
    lib.flush();
    const t1 = performance.now();
    if (sleepMs > 1) await sleep(sleepMs);
    await lib.sync();
    const t2 = performance.now();
    return { ms: t2 - t0, recordMs: t1 - t0, waitMs: t2 - t1 };
  }
}

/**
 * The median over rounds of a's time per op over b's, pairing the batches that timeCases ran in the
 * same round (moments apart). Load that drifts between rounds scales both alike and cancels, so
 * this holds steadier than the ratio of the two medians when the machine's speed wanders.
 */
export function pairedRatio(a: Timing, b: Timing): number {
  const rounds = Math.min(a.batchesMs.length, b.batchesMs.length);
  return median(Array.from({ length: rounds }, (_, r) => a.batchesMs[r] / a.count / (b.batchesMs[r] / b.count)));
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Deterministic inputs in [−1, 1) (a 32-bit LCG), so every library multiplies the same numbers. */
export function randomData(n: number, seed = 1): Float32Array<ArrayBuffer> {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** A table cell: numbers print with 3 significant digits, NaN (not measured) as '–'. */
export type Cell = string | number;

export interface Table {
  title: string;
  header: string[];
  rows: Cell[][];
}

/** Prints a titled table with right-aligned columns (the first one left-aligned). */
export function printTable({ title, header, rows }: Table): void {
  const text = rows.map((r) => r.map(fmt));
  const widths = header.map((h, c) => Math.max(h.length, ...text.map((r) => r[c].length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  console.log(`\n${title}\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of text) console.log(line(r));
}

/** Kernels listed by name in a profile table; the rest are summed in one row. */
const PROFILE_ROWS = 12;

/**
 * Prints GPU time by kernel (WebGPUBackend.kernelTimes of a profiled backend) over `steps` steps:
 * dispatches, dispatches per step, ms, ms per step and share, the PROFILE_ROWS costliest by name.
 */
export function printProfile(title: string, kernels: readonly { kernel: string; dispatches: number; ms: number }[], steps: number): void {
  const gpuMs = kernels.reduce((a, k) => a + k.ms, 0);
  const rest = kernels.slice(PROFILE_ROWS);
  const row = (name: string, dispatches: number, ms: number): Cell[] => [name, dispatches, dispatches / steps, ms, ms / steps, `${((100 * ms) / gpuMs).toFixed(1)}%`];
  printTable({
    title,
    header: ['kernel', 'dispatches', 'per step', 'ms', 'ms/step', 'share'],
    rows: [
      ...kernels.slice(0, PROFILE_ROWS).map((k) => row(k.kernel, k.dispatches, k.ms)),
      ...(rest.length ? [row(`${rest.length} others`, rest.reduce((a, k) => a + k.dispatches, 0), rest.reduce((a, k) => a + k.ms, 0))] : []),
    ],
  });
}

function fmt(x: Cell): string {
  if (typeof x === 'string') return x;
  if (!Number.isFinite(x)) return '–';
  return x >= 100 ? x.toFixed(0) : x.toPrecision(3);
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  /** One-minute load average at the start: another busy job halves lavapipe's ceilings. */
  loadavg1: number;
  node: string;
  adapter: string;
  date: string;
}

export function machineInfo(adapter: string): MachineInfo {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    loadavg1: loadavg()[0],
    node: process.version,
    adapter,
    date: new Date().toISOString(),
  };
}

/** Writes `data` to bench/results/<name>.json (relative to the repository root, the cwd of npm run). */
export function writeResults(name: string, data: unknown): string {
  const path = `bench/results/${name}.json`;
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
  return path;
}
