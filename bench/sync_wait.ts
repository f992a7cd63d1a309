/**
 * What waiting for the device costs: the same recorded work awaited through Dawn's own promise
 * (`queue.onSubmittedWorkDone()`, resolved by the `webgpu` package's setImmediate polling loop) and
 * through `backend.sync()` (device.ts `settleQuietly`: sleeps between the loop's turns).
 *
 *   node scripts/run.mjs bench/sync_wait.ts
 *
 * Two workloads, alternated over 3 rounds: `long`, 100 copies of 16 MB then one wait (device-bound:
 * on lavapipe a busy main thread takes a core from the device's threads), and `short`, 200 times a
 * tiny op then a wait (latency: the sleeps must not lengthen short waits). Prints the median wall ms
 * and process CPU ms per workload and way of waiting.
 */
import { createWebGPUBackend } from '../src/kernels/webgpu/webgpu_backend.js';

const backend = (await createWebGPUBackend()) ?? (() => { throw new Error('sync_wait: no WebGPU adapter'); })();
const big = backend.upload(new Float32Array(4 * 2 ** 20));
const tiny = backend.upload(new Float32Array(4));
const dawnWait = async () => {
  backend.flush();
  await backend.gpu.device.queue.onSubmittedWorkDone();
};
const waits = { dawn: dawnWait, sync: () => backend.sync() };
const workloads = {
  long: async (wait: () => Promise<void>) => {
    for (let i = 0; i < 100; i++) backend.free(backend.copyRaw(big, 4 * 2 ** 20));
    await wait();
  },
  short: async (wait: () => Promise<void>) => {
    for (let i = 0; i < 200; i++) {
      backend.free(backend.copyRaw(tiny, 4));
      await wait();
    }
  },
};
const results = new Map<string, { wall: number[]; cpu: number[] }>();
await backend.sync();
for (let round = 0; round < 3; round++) {
  for (const [work, run] of Object.entries(workloads)) {
    for (const [how, wait] of Object.entries(waits)) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await run(wait);
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const r = results.get(`${work} ${how}`) ?? { wall: [], cpu: [] };
      r.wall.push(wall);
      r.cpu.push((cpu.user + cpu.system) / 1000);
      results.set(`${work} ${how}`, r);
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`# node scripts/run.mjs bench/sync_wait.ts on ${backend.gpu.device.adapterInfo.description}`);
console.log('workload  wait   wall ms  process CPU ms   (median of 3)');
for (const [key, r] of results) {
  const [work, how] = key.split(' ');
  console.log(`${work.padEnd(8)}  ${how.padEnd(5)} ${median(r.wall).toFixed(1).padStart(8)} ${median(r.cpu).toFixed(0).padStart(15)}`);
}
backend.destroy();
