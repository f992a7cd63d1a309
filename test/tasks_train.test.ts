/**
 * Training runs on disk (DESIGN.md, Reliability): a run interrupted in the middle of an episode, or
 * crashed after logging past its last checkpoint, and then resumed, leaves exactly the parameters,
 * optimizer state and log of an uninterrupted run with the same seed. CPU backend in float64, tiny sizes.
 */
import { copyFileSync } from 'node:fs';
import { copyFile, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import * as bp from '../src/autograd/index.js';
import { CpuBackend } from '../src/kernels/cpu/cpu_backend.js';
import { defaultConfig, type TrainConfig } from '../src/tasks/presets.js';
import { CHECKPOINT_FORMAT, loadRunCheckpoint } from '../src/tasks/run_checkpoint.js';
import { CHECKPOINT_FILE, configDiff, LOG_FILE, train, type TrainRunOptions } from '../src/tasks/train.js';

beforeAll(() => bp.setBackend(new CpuBackend('f64')));

const STEPS = 10;

function tinyConfig(): TrainConfig {
  const cfg = defaultConfig('cue-reward', 'retroactive', 'code', 7);
  cfg.batchSize = 3;
  cfg.net.hiddenSize = 8;
  cfg.env.episodeLength = STEPS;
  cfg.a2c.burnIn = 1;
  cfg.adam.lr = 1e-2;
  return cfg;
}

const newDir = () => mkdtemp(join(tmpdir(), 'bp-train-'));
const run = (out: string, extra: Partial<TrainRunOptions> = {}, cfg = tinyConfig()) => train(cfg, { out, iterations: 8, checkpointEvery: 3, ...extra });
const files = async (dir: string) => [await readFile(join(dir, LOG_FILE), 'utf8'), await readFile(join(dir, CHECKPOINT_FILE))] as const;

/** A signal that aborts on its (n+1)-th `throwIfAborted` check: the rollout checks once per step. */
function abortAfterChecks(n: number): AbortSignal {
  const controller = new AbortController();
  let left = n;
  return {
    get aborted() {
      return controller.signal.aborted;
    },
    throwIfAborted() {
      if (left-- <= 0) controller.abort();
      controller.signal.throwIfAborted();
    },
  } as AbortSignal;
}

describe('train: checkpoints and resume', () => {
  // The uninterrupted run every other run must reproduce.
  let reference: readonly [string, Buffer];
  beforeAll(async () => {
    const dir = await newDir();
    expect(await run(dir)).toMatchObject({ iterations: 8, interrupted: false });
    reference = await files(dir);
  });

  test('the log has one JSON line per iteration: iteration, mean episode reward, loss, gradient norm', () => {
    const lines = reference[0].trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.iteration)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const l of lines) {
      expect(Object.keys(l)).toEqual(['iteration', 'reward', 'loss', 'gradNorm']);
      expect(Number.isFinite(l.reward) && Number.isFinite(l.loss) && l.gradNorm > 0).toBe(true);
    }
  });

  test('interrupted in the middle of an episode, then resumed: the same log and the same checkpoint, byte for byte', async () => {
    const dir = await newDir();
    // Abort at step 6 of iteration 4: iterations 0-3 are done and the checkpoint rewinds the Rng to iteration 4's start.
    const stopped = await run(dir, { signal: abortAfterChecks(4 * STEPS + 6) });
    expect(stopped).toMatchObject({ iterations: 4, interrupted: true });
    expect((await loadRunCheckpoint(join(dir, CHECKPOINT_FILE))).iteration).toBe(4);
    expect((await readFile(join(dir, LOG_FILE), 'utf8')).trim().split('\n')).toHaveLength(4);
    const resumed = await run(dir, { resume: true });
    expect(resumed).toMatchObject({ iterations: 8, interrupted: false });
    expect(await files(dir)).toEqual(reference);
  });

  test('interrupted between iterations, then resumed: the same', async () => {
    const dir = await newDir();
    const controller = new AbortController();
    const stopped = await run(dir, { signal: controller.signal, onIteration: (s) => s.iteration === 4 && controller.abort() });
    expect(stopped).toMatchObject({ iterations: 5, interrupted: true });
    await run(dir, { resume: true });
    expect(await files(dir)).toEqual(reference);
  });

  test('crashed after logging past the last checkpoint: resuming drops the extra log lines and redoes them', async () => {
    const dir = await newDir();
    const backup = join(dir, 'at3.safetensors');
    // The checkpoint of iteration 3 exists while iteration 4 finishes; keep it and put it back at the end.
    await run(dir, { onIteration: (s) => s.iteration === 4 && copyFileSync(join(dir, CHECKPOINT_FILE), backup) });
    await copyFile(backup, join(dir, CHECKPOINT_FILE));
    await run(dir, { resume: true });
    expect(await files(dir)).toEqual(reference);
  });

  test('the checkpoint holds parameters, Adam state, Rng state, iteration and configuration', async () => {
    const dir = await newDir();
    await run(dir, { iterations: 5 });
    const { tensors, metadata } = await bp.loadCheckpoint(join(dir, CHECKPOINT_FILE));
    expect(metadata.format).toBe(CHECKPOINT_FORMAT);
    expect(metadata.iteration).toBe('5');
    expect(JSON.parse(metadata.config)).toEqual(tinyConfig());
    expect(JSON.parse(metadata.rng).s).toHaveLength(4);
    const names = ['i2h.weight', 'i2h.bias', 'w', 'alpha', 'eta', 'etaet', 'h2DA.weight', 'h2DA.bias', 'h2o.weight', 'h2o.bias', 'h2v.weight', 'h2v.bias'];
    expect(Object.keys(tensors).filter((k) => k.startsWith('model.')).sort()).toEqual(names.map((n) => `model.${n}`).sort());
    // Adam stepped in iterations 1-4 (burn-in 1); the unused η of the modulated net has no state.
    const optim = JSON.parse(metadata.optim);
    expect(optim.options).toMatchObject({ lr: 1e-2, eps: 1e-6 });
    expect(Object.values(optim.steps)).toEqual(Array(names.length - 1).fill(4));
    expect(Object.keys(tensors).filter((k) => k.startsWith('optim.'))).toHaveLength(2 * (names.length - 1));
  });

  test('refuses to overwrite a run, to resume with other settings, or to resume nothing', async () => {
    const dir = await newDir();
    await run(dir, { iterations: 1 });
    await expect(run(dir, { iterations: 2 })).rejects.toThrow(/checkpoint\.safetensors exists/);
    const other = tinyConfig();
    other.a2c.gradClip = 4;
    await expect(run(dir, { iterations: 2, resume: true }, other)).rejects.toThrow(/differs from the checkpoint .*a2c\.gradClip \(2 vs 4\)/);
    await expect(run(await newDir(), { resume: true })).rejects.toThrow(/ENOENT/);
    expect(configDiff({ a: { b: 1, c: [1, 2] } }, { a: { b: 1, c: [1, 3] } })).toEqual(['a.c.1 (2 vs 3)']);
  });
});
