/** Backend selection: WebGPU when an adapter exists, else the CPU backend (with one line on stderr). */
import type { Backend } from './backend.js';
import { CpuBackend } from './cpu/cpu_backend.js';

export interface InitOptions {
  /** 'auto' (default) tries WebGPU and falls back to the CPU; 'webgpu' fails without an adapter. */
  backend?: 'auto' | 'webgpu' | 'cpu';
  /** Precision of the CPU backend; float64 makes it a reference oracle. WebGPU is always float32. */
  precision?: 'f32' | 'f64';
  /** Time every WebGPU dispatch for `kernelTimes()` (webgpu/profiler.ts); slows the run down. */
  profile?: boolean;
}

export async function createBackend(opts: InitOptions = {}): Promise<Backend> {
  const kind = opts.backend ?? 'auto';
  if (kind === 'cpu') return new CpuBackend(opts.precision ?? 'f32');
  const { createWebGPUBackend } = await import('./webgpu/webgpu_backend.js');
  const gpu = await createWebGPUBackend({ profile: opts.profile });
  if (gpu) return gpu;
  if (kind === 'webgpu') {
    throw new Error('initDevice: no WebGPU adapter found (on Linux without a GPU, install a Vulkan driver such as Mesa lavapipe)');
  }
  console.warn('backpropamine: no WebGPU adapter found, using the CPU backend');
  return new CpuBackend(opts.precision ?? 'f32');
}
