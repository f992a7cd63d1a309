/**
 * Evaluation of a saved agent: N fresh episodes with the trained policy (actions sampled from π, no
 * gradients, no parameter updates; within each episode the plastic networks still adapt, which is
 * what meta-training taught them).
 */
import { Rng } from '../autograd/index.js';
import { evaluateEpisodes } from './a2c.js';
import { buildEnv, buildNet, type TrainConfig } from './presets.js';
import { loadRunCheckpoint } from './run_checkpoint.js';

export interface EvaluateOptions {
  episodes: number;
  /** Seeds the episodes and the action sampling (independent of the training seed). */
  seed: number;
  /** Episodes run in parallel; defaults to the training batch size. */
  batchSize?: number;
  signal?: AbortSignal;
}

export interface EvaluateResult {
  config: TrainConfig;
  /** Training iterations the agent had completed. */
  iteration: number;
  /** Total reward of each episode. */
  rewards: Float64Array;
  mean: number;
  /** Standard deviation across episodes and the standard error of the mean. */
  std: number;
  sem: number;
}

export async function evaluate(checkpointPath: string, opts: EvaluateOptions): Promise<EvaluateResult> {
  if (!(Number.isInteger(opts.episodes) && opts.episodes >= 1)) throw new RangeError(`evaluate: episodes must be a positive integer, got ${opts.episodes}`);
  const saved = await loadRunCheckpoint(checkpointPath);
  const { config } = saved;
  const rng = new Rng(opts.seed);
  const env = buildEnv(config, Math.min(opts.batchSize ?? config.batchSize, opts.episodes), rng);
  const net = buildNet(config, env, new Rng(config.seed));
  try {
    net.loadStateDict(saved.model);
    const rewards = await evaluateEpisodes(net, env, rng, opts.episodes, opts.signal);
    const n = rewards.length;
    const mean = rewards.reduce((a, b) => a + b, 0) / n;
    const std = Math.sqrt(rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / Math.max(1, n - 1));
    return { config, iteration: saved.iteration, rewards, mean, std, sem: std / Math.sqrt(n) };
  } finally {
    net.dispose();
  }
}
