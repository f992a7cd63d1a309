/**
 * A training run on disk: A2C meta-training (./a2c.ts) with a JSON-lines log, periodic atomic
 * checkpoints, exact resume and clean interruption.
 *
 * The run directory holds `config.json` (for people and plotting scripts), `log.jsonl` (one line per
 * iteration: iteration, mean episode reward, loss, gradient norm) and `checkpoint.safetensors` (the
 * latest checkpoint). Resuming restores parameters, Adam state, the Rng state and the iteration
 * count, and drops log lines past the checkpoint, so an interrupted and resumed run leaves the same
 * parameters and the same log as an uninterrupted run with the same seed.
 */
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Adam, findNonFinite, Rng } from '../autograd/index.js';
import { A2CTrainer, type IterationStats } from './a2c.js';
import { buildEnv, buildNet, checkConfig, type TrainConfig } from './presets.js';
import { loadRunCheckpoint, saveRunCheckpoint } from './run_checkpoint.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const LOG_FILE = 'log.jsonl';
export const CONFIG_FILE = 'config.json';

export interface TrainRunOptions {
  /** The run directory (created if missing). */
  out: string;
  /** Total iterations of the run, those done before a resume included. */
  iterations: number;
  /** Continue the checkpoint in `out` (its configuration must equal `config`). */
  resume?: boolean;
  /** Save a checkpoint every this many iterations (and always at the end). */
  checkpointEvery: number;
  /** Aborting stops the run within one environment step and saves a checkpoint. */
  signal?: AbortSignal;
  /** Called after every iteration (progress display); `start` is the first iteration of this session. */
  onIteration?(stats: IterationStats, start: number): void;
}

export interface TrainResult {
  /** Iterations completed (the checkpoint's). */
  iterations: number;
  interrupted: boolean;
  checkpoint: string;
}

/** Names of the settings where `a` and `b` differ, e.g. `a2c.gradClip (2 vs 4)`. */
export function configDiff(a: unknown, b: unknown, prefix = ''): string[] {
  if (typeof a === 'object' && a && typeof b === 'object' && b) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => configDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${prefix}${k}.`));
  }
  return a === b ? [] : [`${prefix.slice(0, -1)} (${JSON.stringify(a)} vs ${JSON.stringify(b)})`];
}

export async function train(config: TrainConfig, opts: TrainRunOptions): Promise<TrainResult> {
  checkConfig(config);
  if (!(Number.isInteger(opts.iterations) && opts.iterations >= 0)) throw new RangeError(`train: iterations must be an integer >= 0, got ${opts.iterations}`);
  if (!(Number.isInteger(opts.checkpointEvery) && opts.checkpointEvery >= 1)) {
    throw new RangeError(`train: checkpointEvery must be a positive integer, got ${opts.checkpointEvery}`);
  }
  const checkpoint = join(opts.out, CHECKPOINT_FILE);
  const logPath = join(opts.out, LOG_FILE);
  const saved = opts.resume ? await loadRunCheckpoint(checkpoint) : null;
  if (saved) {
    const diff = configDiff(saved.config, config);
    if (diff.length) throw new Error(`train: the configuration differs from the checkpoint ${checkpoint}: ${diff.join(', ')}`);
  } else if (existsSync(checkpoint)) {
    throw new Error(`train: ${checkpoint} exists: resume it (--resume) or choose another output directory`);
  }

  const rng = new Rng(config.seed);
  const env = buildEnv(config, config.batchSize, rng);
  const net = buildNet(config, env, rng);
  const optimizer = new Adam(net.parameters(), config.adam);
  let iteration = 0;
  try {
    if (saved) {
      net.loadStateDict(saved.model);
      optimizer.loadStateDict(saved.optim);
      rng.setState(saved.rng);
      iteration = saved.iteration;
      await truncateLog(logPath, iteration);
    } else {
      await mkdir(opts.out, { recursive: true });
      await writeFile(join(opts.out, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
      await writeFile(logPath, '');
    }
    const trainer = new A2CTrainer(net, env, optimizer, rng, config.a2c);
    const save = async () => {
      await findNonFinite(net.namedParameters(), { step: iteration });
      await saveRunCheckpoint(checkpoint, { config, iteration, net, optimizer, rng });
    };
    const start = iteration;
    while (iteration < opts.iterations) {
      const rngState = rng.getState();
      let stats: IterationStats;
      try {
        stats = await trainer.iteration(iteration, opts.signal);
      } catch (e) {
        if (!opts.signal?.aborted) throw e;
        // Stopped inside the episodes, before any parameter changed: rewind the random stream so
        // that the checkpoint sits exactly at the start of this iteration.
        rng.setState(rngState);
        await save();
        return { iterations: iteration, interrupted: true, checkpoint };
      }
      iteration++;
      const { reward, loss, gradNorm } = stats;
      await appendFile(logPath, JSON.stringify({ iteration: stats.iteration, reward, loss, gradNorm }) + '\n');
      opts.onIteration?.(stats, start);
      const interrupted = opts.signal?.aborted ?? false;
      if (interrupted || iteration % opts.checkpointEvery === 0 || iteration === opts.iterations) await save();
      if (interrupted) return { iterations: iteration, interrupted, checkpoint };
    }
    if (iteration === start && !saved) await save();
    return { iterations: iteration, interrupted: false, checkpoint };
  } finally {
    optimizer.dispose();
    net.dispose();
  }
}

/** Keeps the log lines of iterations before `iteration` (a run may have logged past its last checkpoint). */
async function truncateLog(path: string, iteration: number): Promise<void> {
  const text = existsSync(path) ? await readFile(path, 'utf8') : '';
  const kept = text.split('\n').filter((line) => line && (JSON.parse(line) as { iteration: number }).iteration < iteration);
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, kept.map((l) => l + '\n').join(''));
  await rename(tmp, path);
}
