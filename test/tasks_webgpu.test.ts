/**
 * A2C meta-training on WebGPU (float32) against the float64 CPU oracle: for each of the four
 * networks, the same seed gives the same episodes (same sampled actions, same rewards) and losses
 * and gradient norms within float32 rounding, over a few iterations with Adam steps in between;
 * and the training loop holds device memory steady.
 */
import { expect, test } from 'vitest';
import * as bp from '../src/autograd/index.js';
import type { Backend, MemoryInfo } from '../src/kernels/backend.js';
import type { Plasticity } from '../src/models/plastic_rnn.js';
import { A2CTrainer, type IterationStats } from '../src/tasks/a2c.js';
import { buildEnv, buildNet, defaultConfig } from '../src/tasks/presets.js';
import { describeWebGPU, getTestBackends } from './helpers/backends.js';

await getTestBackends();

/** Three iterations (or `iterations`), after each of which `after(i)` may inspect the backend. */
async function train(backend: Backend, task: 'cue-reward' | 'maze', plasticity: Plasticity, iterations = 3, after?: (i: number) => Promise<void>): Promise<IterationStats[]> {
  bp.setBackend(backend);
  const cfg = defaultConfig(task, plasticity, 'code', 2);
  cfg.net.hiddenSize = 12;
  cfg.env.episodeLength = 15;
  cfg.a2c.burnIn = 0;
  cfg.adam.lr = 1e-2;
  const rng = new bp.Rng(cfg.seed);
  const env = buildEnv(cfg, 4, rng);
  const net = buildNet(cfg, env, rng);
  const opt = new bp.Adam(net.parameters(), cfg.adam);
  const trainer = new A2CTrainer(net, env, opt, rng, cfg.a2c);
  const stats: IterationStats[] = [];
  for (let i = 0; i < iterations; i++) {
    stats.push(await trainer.iteration(i));
    await after?.(i);
  }
  opt.dispose();
  net.dispose();
  return stats;
}

describeWebGPU('A2C', (gpu, cpu64) => {
  for (const task of ['cue-reward', 'maze'] as const) {
    test(`${task}: every network trains on WebGPU as on the float64 CPU backend`, async () => {
      for (const plasticity of ['none', 'hebbian', 'neuromodulated', 'retroactive'] as Plasticity[]) {
        const [onGpu, onCpu] = [await train(gpu, task, plasticity), await train(cpu64, task, plasticity)];
        for (const [i, s] of onGpu.entries()) {
          const ref = onCpu[i];
          expect(s.reward, `${plasticity} iteration ${i}`).toBe(ref.reward);
          expect(Math.abs(s.loss - ref.loss), `${plasticity} loss`).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref.loss)));
          expect(Math.abs(s.gradNorm - ref.gradNorm) / ref.gradNorm, `${plasticity} gradNorm`).toBeLessThan(1e-3);
        }
      }
    });
  }

  test('device memory holds steady over 6 iterations', async () => {
    const seen: MemoryInfo[] = [];
    await train(gpu, 'cue-reward', 'retroactive', 6, async () => {
      await gpu.sync();
      seen.push(gpu.memory());
    });
    // Live bytes never change; the pool settles once the second iteration (the first with
    // gradients left over from a previous one) has shown it every buffer size.
    for (const m of seen) expect(m.bytesInUse).toBe(seen[0].bytesInUse);
    for (const m of seen.slice(2)) expect(m).toEqual(seen[1]);
  });
});
