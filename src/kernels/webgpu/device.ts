/**
 * The WebGPU device: adapter and device creation with the adapter's real limits, and the two ways a
 * device fails outside any call: `device.lost` and uncaptured validation errors.
 *
 * A lost device must never leave a caller hanging: pending reads reject with `DeviceLostError`, and
 * every later call throws it at once. Validation errors nobody captured are recorded and thrown at
 * the next flush, so they surface near the code that caused them instead of in Dawn's log only.
 */

/** The device is gone (destroyed, or lost by the driver); nothing more can run on it. */
export class DeviceLostError extends Error {
  override name = 'DeviceLostError';
}

/** The limits we raise from WebGPU's defaults to what the adapter supports. */
const REQUESTED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
] as const;

export interface DeviceOptions {
  /**
   * The `GPU` to request an adapter from. Defaults to `navigator.gpu` in browsers, and in Node to a
   * Dawn instance from the `webgpu` package.
   */
  gpu?: GPU;
  powerPreference?: GPUPowerPreference;
  /**
   * 'adapter' (default) requests the adapter's limits; 'default' keeps WebGPU's defaults (8
   * storage buffers per shader stage), as a conservative browser adapter offers.
   */
  limits?: 'adapter' | 'default';
  /** Request 'timestamp-query' for the kernel profiler (WebGPUBackend.kernelTimes); an adapter without it is an error. */
  profile?: boolean;
  /**
   * Request 'subgroups' where the adapter has it with subgroups of at least SUBGROUP_MIN_SIZE
   * invocations (default true); false keeps every kernel to core WGSL.
   */
  subgroups?: boolean;
}

/**
 * The subgroup size the kernels that use subgroups assume: an 8-invocation workgroup must be one
 * subgroup (plastic_shares_subgroup.wgsl). Smaller subgroups (some mobile GPUs; lavapipe without
 * AVX) run the core-WGSL kernels.
 */
export const SUBGROUP_MIN_SIZE = 8;

export class GpuDevice {
  readonly device: GPUDevice;
  readonly limits: GPUSupportedLimits;
  /**
   * The instance the device came from, held for the device's lifetime: if V8 collects Dawn's
   * instance, Dawn tears it down under in-flight work (SIGSEGV; DESIGN.md, field notes).
   */
  readonly gpu: GPU;
  #lost: DeviceLostError | null = null;
  /** Rejects each guarded promise still pending, once the device is lost. */
  readonly #onLost = new Set<() => void>();
  #uncaptured: GPUError | null = null;
  /** The device has 'subgroups' with subgroups of at least SUBGROUP_MIN_SIZE invocations. */
  readonly subgroups: boolean;

  private constructor(gpu: GPU, device: GPUDevice, subgroups: boolean) {
    this.gpu = gpu;
    this.device = device;
    this.subgroups = subgroups;
    this.limits = device.limits;
    void device.lost.then((info) => this.#markLost(`WebGPU device lost (${info.reason}): ${info.message}`));
    device.addEventListener('uncapturederror', (event) => {
      this.#uncaptured ??= (event as GPUUncapturedErrorEvent).error;
    });
  }

  /** A device on the best adapter, or null when there is none. */
  static async create(opts: DeviceOptions = {}): Promise<GpuDevice | null> {
    const gpu = opts.gpu ?? globalThis.navigator?.gpu ?? (await dawnInstance());
    const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference });
    if (!adapter) return null;
    const requiredLimits: Record<string, number> = {};
    if (opts.limits !== 'default') for (const name of REQUESTED_LIMITS) requiredLimits[name] = adapter.limits[name];
    if (opts.profile && !adapter.features.has('timestamp-query')) {
      throw new Error(`profile: the adapter (${adapter.info.description || adapter.info.vendor}) has no 'timestamp-query' feature`);
    }
    const subgroups = opts.subgroups !== false && adapter.features.has('subgroups') && (adapter.info.subgroupMinSize ?? 0) >= SUBGROUP_MIN_SIZE;
    const requiredFeatures: GPUFeatureName[] = [...(opts.profile ? ['timestamp-query' as const] : []), ...(subgroups ? ['subgroups' as const] : [])];
    return new GpuDevice(gpu, await adapter.requestDevice({ requiredLimits, requiredFeatures }), subgroups);
  }

  /** Throws DeviceLostError if the device is gone. `what` names the call that was attempted. */
  assertAlive(what: string): void {
    if (this.#lost) throw new DeviceLostError(`${what}: ${this.#lost.message}`);
  }

  /** Throws, once, the first validation or memory error no error scope captured. */
  throwUncaptured(): void {
    const error = this.#uncaptured;
    if (!error) return;
    this.#uncaptured = null;
    throw new Error(`WebGPU ${error.constructor.name} in recorded work: ${error.message}`);
  }

  /**
   * `promise`, but rejecting with DeviceLostError as soon as the device is lost; in Node, awaited
   * without Dawn's busy loop (`settleQuietly`).
   */
  guard<T>(what: string, promise: Promise<T>): Promise<T> {
    const guarded = new Promise<T>((resolve, reject) => {
      const onLost = (): void => reject(new DeviceLostError(`${what}: ${this.#lost!.message}`));
      if (this.#lost) return onLost();
      this.#onLost.add(onLost);
      promise.then(
        (value) => {
          this.#onLost.delete(onLost);
          resolve(value);
        },
        (error: unknown) => {
          this.#onLost.delete(onLost);
          // Dawn rejects a pending mapAsync with an empty DOMException when the device goes away.
          if (this.#lost) onLost();
          else reject(error);
        },
      );
    });
    return deviceWait(guarded);
  }

  /** Destroys the device (Node can then exit); every later call throws DeviceLostError. */
  destroy(): void {
    this.#markLost('WebGPU device was destroyed by destroy()');
    this.device.destroy();
  }

  #markLost(message: string): void {
    this.#lost ??= new DeviceLostError(message);
    for (const reject of this.#onLost) reject();
    this.#onLost.clear();
  }
}

const IN_NODE = globalThis.process?.versions?.node !== undefined;
/** What Atomics.wait sleeps on (never notified); made at the first wait (browsers may lack SharedArrayBuffer). */
let sleeper: Int32Array | null = null;
/** How long a wait polls before it first sleeps: most waits for a small step end within it. */
const SPIN_MS = 0.2;

/** `promise` as a device wait should be awaited: in Node through settleQuietly, elsewhere as it is. */
export function deviceWait<T>(promise: Promise<T>): Promise<T> {
  return IN_NODE ? settleQuietly(promise) : promise;
}

/**
 * Awaits a Dawn promise without Dawn's busy loop. The `webgpu` package resolves device promises from
 * a setImmediate loop that polls the instance for as long as one is pending, so awaiting one keeps a
 * core busy; on a CPU device (lavapipe) that core is taken from the device's own threads. Here the
 * main thread instead sleeps between the loop's turns in Atomics.wait, which blocks without running
 * the event loop: 50 µs at first, doubling up to 1 ms, so a short wait stays short and a long one
 * overshoots by at most about 1 ms. Measured with `node scripts/run.mjs bench/sync_wait.ts`.
 */
export async function settleQuietly<T>(promise: Promise<T>): Promise<T> {
  let settled = false;
  const done = (): void => {
    settled = true;
  };
  promise.then(done, done);
  sleeper ??= new Int32Array(new SharedArrayBuffer(4));
  const start = performance.now();
  for (let ms = 0.05; ; ) {
    await new Promise((resolve) => setImmediate(resolve)); // one turn: Dawn polls, callbacks run
    if (settled) return promise;
    if (performance.now() - start < SPIN_MS) continue;
    Atomics.wait(sleeper, 0, 0, ms);
    ms = Math.min(2 * ms, 1);
  }
}

/** Node has no navigator.gpu: use Dawn from the `webgpu` package, with its GPU* globals installed. */
async function dawnInstance(): Promise<GPU> {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  return create([]);
}
