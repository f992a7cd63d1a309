/**
 * backpropamine: self-modifying neural networks (Miconi et al., Backpropamine, ICLR 2019) on a
 * from-scratch autograd engine with hand-written WGSL kernels.
 */
import { getBackend, setBackend } from './autograd/index.js';
import type { Backend, MemoryInfo } from './kernels/backend.js';
import { createBackend, type InitOptions } from './kernels/init.js';
import type { KernelTime } from './kernels/webgpu/profiler.js';

export * from './autograd/index.js';
export type { Backend, FloatArray, MemoryInfo } from './kernels/backend.js';
export { CpuBackend } from './kernels/cpu/cpu_backend.js';
export type { InitOptions } from './kernels/init.js';
export type { KernelTime } from './kernels/webgpu/profiler.js';
export { A2CTrainer, a2cLoss, discountedReturns, evaluateEpisodes, rollout, type A2COptions, type IterationStats } from './tasks/a2c.js';
export { CueRewardEnv, type CueRewardConfig } from './tasks/cue_reward.js';
export type { Env, EnvStep } from './tasks/env.js';
export { MazeEnv, type MazeConfig } from './tasks/maze.js';
export { buildEnv, buildNet, defaultConfig, type TaskName, type TrainConfig } from './tasks/presets.js';
export { PlasticRNN, type Plasticity, type PlasticRNNOptions, type PlasticRNNOutput, type PlasticRNNState } from './models/plastic_rnn.js';

/** Creates the device (WebGPU, or the CPU fallback) and makes it the one new tensors live on. */
export async function initDevice(opts: InitOptions = {}): Promise<Backend> {
  const backend = await createBackend(opts);
  setBackend(backend);
  return backend;
}

/** Releases the device so that Node can exit. */
export function destroyDevice(): void {
  getBackend().destroy();
}

/**
 * GPU time per kernel since the last call, most first, on a backend made by
 * `initDevice({ profile: true })` with a WebGPU adapter that has timestamp queries.
 */
export async function kernelTimes(): Promise<KernelTime[]> {
  const backend = getBackend() as Backend & { kernelTimes?: () => Promise<KernelTime[]> };
  if (!backend.kernelTimes) throw new Error(`kernelTimes: the ${backend.name} backend has no profiler (initDevice({ backend: 'webgpu', profile: true }))`);
  return backend.kernelTimes();
}

/** Device memory: bytes in live buffers, bytes allocated (pool included), buffer count. */
export function memory(): MemoryInfo {
  return getBackend().memory();
}
