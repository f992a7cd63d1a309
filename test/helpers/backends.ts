/**
 * The backends a test file runs against: the float64 CPU oracle, always, and the WebGPU backend
 * (float32) when an adapter exists. Both are created once per test file (vitest isolates module
 * state per file) and the GPU device is destroyed when the file's tests are done.
 *
 * Set BACKPROPAMINE_REQUIRE_WEBGPU=1 in CI so that a missing adapter fails the run instead of
 * silently skipping every GPU test.
 */
import { existsSync } from 'node:fs';
import { afterAll, describe, test } from 'vitest';
import type { Backend } from '../../src/kernels/backend.js';
import { CpuBackend } from '../../src/kernels/cpu/cpu_backend.js';

export interface TestBackends {
  /** The float64 reference every other backend is compared with. */
  cpu64: CpuBackend;
  /** The WebGPU backend, or null when this machine has no adapter. */
  gpu: Backend | null;
}

const WEBGPU_MODULE = new URL('../../src/kernels/webgpu/webgpu_backend.ts', import.meta.url);

let pending: Promise<TestBackends> | null = null;
let resolved: TestBackends | null = null;

function webgpuRequired(): boolean {
  return process.env.BACKPROPAMINE_REQUIRE_WEBGPU === '1';
}

async function create(): Promise<TestBackends> {
  const cpu64 = new CpuBackend('f64');
  let gpu: Backend | null = null;
  if (existsSync(WEBGPU_MODULE)) {
    // Dawn wants a runtime dir for its Vulkan loader; headless CI machines often lack one.
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    const { createWebGPUBackend } = await import('../../src/kernels/webgpu/webgpu_backend.js');
    gpu = await createWebGPUBackend();
  }
  if (!gpu && webgpuRequired()) {
    throw new Error(
      'BACKPROPAMINE_REQUIRE_WEBGPU=1 but no WebGPU adapter was found ' +
        '(on Linux without a GPU, install Mesa lavapipe and set XDG_RUNTIME_DIR)',
    );
  }
  if (gpu) {
    const device = gpu;
    afterAll(() => device.destroy());
  }
  return { cpu64, gpu };
}

/**
 * The backends for this test file, created on the first call. Await it at the top level of the
 * test file (before any `describe`), so that `describeWebGPU` can decide whether to skip.
 */
export function getTestBackends(): Promise<TestBackends> {
  pending ??= create().then((b) => (resolved = b));
  return pending;
}

/** A describe block that runs only when a WebGPU adapter exists; `fn` receives the backend. */
export function describeWebGPU(name: string, fn: (gpu: Backend, cpu64: CpuBackend) => void): void {
  if (!resolved) throw new Error('describeWebGPU: await getTestBackends() at the top of the test file first');
  const { gpu, cpu64 } = resolved;
  if (gpu) {
    describe(`${name} [webgpu]`, () => fn(gpu, cpu64));
  } else {
    // Still report something, so the skip shows up in the summary instead of vanishing.
    describe.skip(`${name} [webgpu]`, () => {
      test('skipped: no WebGPU adapter on this machine', () => {});
    });
  }
}
