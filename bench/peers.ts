/**
 * Peer libraries on the same Dawn instance as ours: TF.js (WebGPU, and WASM as a CPU reference)
 * and jax-js (WebGPU). Benchmark-only devDependencies; nothing in src/ imports them.
 *
 * Both find a device only through `navigator.gpu`, which Node 20 lacks, so `installWebGPU` must run
 * before they are loaded; they are imported dynamically for that reason (static imports are hoisted).
 * A peer that fails to load becomes an `Unavailable` with the error text, never a crash.
 */
import type * as TF from '@tensorflow/tfjs';
import type { WebGPUBackend as TfWebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type * as Jax from '@jax-js/jax';
import { randomData, type Case, type ElementwiseOp, type Lib, type Unavailable } from './harness.js';

/**
 * Creates the one Dawn instance of the run and exposes it as `navigator.gpu`, with the GPU* globals
 * the peers expect. The caller keeps the returned object referenced until the end: if V8 collects
 * it, Dawn tears the instance down under in-flight work (DESIGN.md, field notes).
 */
export async function installWebGPU(): Promise<GPU> {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]);
  // Node 21+ defines a read-only `navigator` getter; defineProperty works on every version.
  Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: 'node' }, configurable: true });
  return gpu;
}

/** Loads every peer; each one that fails is reported with its error instead. */
export async function loadPeers(): Promise<(Lib | Unavailable)[]> {
  return [
    await attempt('TF.js-webgpu', async () => tfWebGPULib(await import('@tensorflow/tfjs'))),
    await attempt('TF.js-wasm', async () => tfWasmLib(await import('@tensorflow/tfjs'))),
    await attempt('jax-js-webgpu', jaxLib),
  ];
}

async function attempt(name: string, load: () => Promise<Lib>): Promise<Lib | Unavailable> {
  try {
    return await load();
  } catch (error) {
    return { name, reason: error instanceof Error ? error.message : String(error) };
  }
}

async function tfWebGPULib(tf: typeof TF): Promise<Lib> {
  await import('@tensorflow/tfjs-backend-webgpu');
  // Small ops with host-resident inputs would otherwise run on the CPU, not the device under test.
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  await use(tf, 'webgpu');
  const backend = tf.backend() as TfWebGPUBackend;
  return tfLib(tf, 'webgpu', { name: 'TF.js-webgpu', kind: 'webgpu', adapter: backend.device.adapterInfo.description }, {
    // TF.js batches 15 dispatches per submit; submit the rest (ending an open compute pass).
    flush: () => {
      backend.ensureCommandEncoderReady();
      backend.endComputePassEncoder();
      backend.submitQueue();
    },
    sync: () => backend.device.queue.onSubmittedWorkDone(),
    destroy: () => backend.device.destroy(),
  });
}

/** TF.js on WASM SIMD: not a device peer, but the CPU ceiling that lavapipe's numbers sit under. */
async function tfWasmLib(tf: typeof TF): Promise<Lib> {
  const { getThreadsCount } = await import('@tensorflow/tfjs-backend-wasm');
  await use(tf, 'wasm');
  const about = { name: 'TF.js-wasm', kind: 'cpu', adapter: `wasm, ${getThreadsCount()} thread(s)` } as const;
  return tfLib(tf, 'wasm', about, { flush: () => {}, sync: async () => {}, destroy: () => {} });
}

/** Makes `name` TF.js's active backend; TF.js reports a failed init as `false`, not an error. */
async function use(tf: typeof TF, name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed (see the TF.js warning above)`);
}

function tfLib(
  tf: typeof TF,
  backendName: string,
  about: Pick<Lib, 'name' | 'kind' | 'adapter'>,
  sched: Pick<Lib, 'flush' | 'sync' | 'destroy'>,
): Lib {
  // The two TF libs share one engine, and ops run on its active backend.
  const activate = () => use(tf, backendName);
  const make = async (shapes: number[][], op: (...xs: TF.Tensor[]) => TF.Tensor): Promise<Case> => {
    await activate();
    const xs = shapes.map((s, i) => tf.tensor(randomData(s.reduce((a, b) => a * b, 1), i + 1), s));
    return { run: () => op(...xs).dispose(), dispose: () => tf.dispose(xs) };
  };
  return {
    ...about,
    ...sched,
    activate,
    matmul: (n) => make([[n, n], [n, n]], (a, b) => tf.matMul(a, b)),
    elementwise: (op: ElementwiseOp, n) =>
      op === 'add' ? make([[n], [n]], (a, b) => tf.add(a, b)) : make([[n]], (x) => tf.tanh(x)),
  };
}

async function jaxLib(): Promise<Lib> {
  const jax: typeof Jax = await import('@jax-js/jax');
  const devices = await jax.init('webgpu');
  if (!devices.includes('webgpu')) throw new Error(`jax.init('webgpu') found no WebGPU device (got: ${devices.join(', ') || 'none'})`);
  jax.defaultDevice('webgpu');
  const np = jax.numpy;
  const device = jax.getWebGPUDevice();
  // jax-js arrays are lazy and consume their arguments (`.ref` keeps one alive). gpuBufferSync()
  // submits an output's pending kernel at once and releases the array: a disposed, unsubmitted
  // array would never run, and blockUntilReady on each output would add one readback per op.
  const make = (shapes: number[][], f: (...xs: Jax.Array[]) => Jax.Array): Case => {
    const xs = shapes.map((s, i) => np.array(randomData(s.reduce((a, b) => a * b, 1), i + 1), { shape: s }));
    const fn = jax.jit(f);
    return {
      run: () => void fn(...xs.map((x) => x.ref)).gpuBufferSync(),
      dispose: () => {
        for (const x of xs) x.dispose();
        fn.dispose();
      },
    };
  };
  return {
    name: 'jax-js-webgpu',
    kind: 'webgpu',
    adapter: device.adapterInfo.description,
    flush: () => {},
    sync: () => device.queue.onSubmittedWorkDone(),
    destroy: () => device.destroy(),
    matmul: async (n) => make([[n, n], [n, n]], (a, b) => np.matmul(a, b)),
    elementwise: async (op, n) => (op === 'add' ? make([[n], [n]], (a, b) => np.add(a, b)) : make([[n]], (x) => np.tanh(x))),
  };
}
