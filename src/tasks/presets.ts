/**
 * Per-task training configurations: the authors' settings by default (PAPER.md §2.1 and §2.2,
 * "Code (authority)"), the paper text's as a variant, and the builders that turn a configuration
 * into an environment and a network. A configuration is plain JSON, so checkpoints carry it.
 */
import type { ClipKind, Rng } from '../autograd/index.js';
import { PlasticRNN, type Plasticity } from '../models/plastic_rnn.js';
import type { A2COptions } from './a2c.js';
import { CUE_REWARD_DEFAULTS, CueRewardEnv, type CueRewardConfig } from './cue_reward.js';
import type { Env } from './env.js';
import { MAZE_DEFAULTS, MazeEnv, type MazeConfig } from './maze.js';

export type TaskName = 'cue-reward' | 'maze';
export const TASKS: readonly TaskName[] = ['cue-reward', 'maze'];
export const PLASTICITIES: readonly Plasticity[] = ['none', 'hebbian', 'neuromodulated', 'retroactive'];

/** 'code': the released code's runs (default); 'paper': the paper text's settings where they differ. */
export type Variant = 'code' | 'paper';

export interface NetConfig {
  plasticity: Plasticity;
  hiddenSize: number;
  /** Initial η (hebbian) and η_et (retroactive). */
  etaInit: number;
  /** Hebbian trace clip: 'hard' (every RL paper run) or 'soft' (the appendix control, the code's addpw=2). */
  hebbClip: ClipKind;
  /** Keep every k-th plastic trace for backward and recompute the rest (1 = keep all; memory vs time). */
  traceCheckpoint: number;
}

interface CommonConfig {
  seed: number;
  /** Episodes per iteration (the code's `bs`). */
  batchSize: number;
  net: NetConfig;
  a2c: A2COptions;
  adam: { lr: number; eps: number };
}

export type TrainConfig = CommonConfig & ({ task: 'cue-reward'; env: CueRewardConfig } | { task: 'maze'; env: MazeConfig });

/** Iterations of the authors' runs (`--nbiter`). */
export const PAPER_ITERATIONS: Record<TaskName, number> = { 'cue-reward': 200_000, maze: 200_002 };

/**
 * Recurrent neurons: 200 for every cue-reward network; in the maze 100 for the modulated networks,
 * and the parameter-matched controls of the code's requests: plastic 101, non-plastic 139 (the other
 * non-plastic control, 100 neurons, is `hiddenSize: 100`).
 */
export function defaultHiddenSize(task: TaskName, plasticity: Plasticity): number {
  if (task === 'cue-reward') return 200;
  return { none: 139, hebbian: 101, neuromodulated: 100, retroactive: 100 }[plasticity];
}

export function defaultConfig(task: TaskName, plasticity: Plasticity, variant: Variant = 'code', seed = 0): TrainConfig {
  const net: NetConfig = { plasticity, hiddenSize: defaultHiddenSize(task, plasticity), etaInit: 0.1, hebbClip: 'hard', traceCheckpoint: 10 };
  const a2c: A2COptions = { gamma: 0.9, entropyCoef: 0.1, valueCoef: 0.1, gradClip: 2.0, burnIn: 101, baseline: 'own' };
  if (task === 'cue-reward') {
    // `srbatch.py --eplen 120 --hs 200 --lr 1e-4 --bent 0.1 --rew 1 --wp 0 --eps 1e-6 --bs 30 --gc 2.0`;
    // the paper text: 200 steps, 24 inputs, gradient clip 7.0 (PAPER.md §4).
    const env: CueRewardConfig = variant === 'paper' ? { ...CUE_REWARD_DEFAULTS, layout: 'paper', episodeLength: 200 } : { ...CUE_REWARD_DEFAULTS };
    if (variant === 'paper') a2c.gradClip = 7.0;
    return { task, seed, batchSize: 30, net, a2c, adam: { lr: 1e-4, eps: 1e-6 }, env };
  }
  // `batch.py --eplen 200 --hs 100 --lr 1e-4 --bent 0.03 --rew 10 --msize 13 --wp 0 --bs 30 --gc 4.0`,
  // Adam eps 1e-4 and η init 0.01 in `batch.py`; the paper text's 9×9 maze is msize 11.
  const env: MazeConfig = { ...MAZE_DEFAULTS, size: variant === 'paper' ? 11 : MAZE_DEFAULTS.size };
  return {
    task, seed, batchSize: 30, net: { ...net, etaInit: 0.01 }, a2c: { ...a2c, entropyCoef: 0.03, gradClip: 4.0 }, adam: { lr: 1e-4, eps: 1e-4 }, env,
  };
}

/** Throws a RangeError naming the first setting out of range (the environments check their own). */
export function checkConfig(cfg: TrainConfig): void {
  const bad = (name: string, v: unknown, want: string) => new RangeError(`config: ${name} must be ${want}, got ${JSON.stringify(v)}`);
  const posInt = (v: number) => Number.isInteger(v) && v >= 1;
  if (!TASKS.includes(cfg.task)) throw bad('task', cfg.task, TASKS.join(' or '));
  if (!Number.isSafeInteger(cfg.seed)) throw bad('seed', cfg.seed, 'an integer');
  if (!posInt(cfg.batchSize)) throw bad('batchSize', cfg.batchSize, 'a positive integer');
  const { net, a2c, adam } = cfg;
  if (!PLASTICITIES.includes(net.plasticity)) throw bad('plasticity', net.plasticity, PLASTICITIES.join(', '));
  if (!posInt(net.hiddenSize)) throw bad('hiddenSize', net.hiddenSize, 'a positive integer');
  if (!Number.isFinite(net.etaInit)) throw bad('etaInit', net.etaInit, 'a number');
  if (net.hebbClip !== 'hard' && net.hebbClip !== 'soft') throw bad('hebbClip', net.hebbClip, "'hard' or 'soft'");
  if (!posInt(net.traceCheckpoint)) throw bad('traceCheckpoint', net.traceCheckpoint, 'a positive integer');
  if (!(a2c.gamma >= 0 && a2c.gamma <= 1)) throw bad('gamma', a2c.gamma, 'in [0, 1]');
  for (const k of ['entropyCoef', 'valueCoef'] as const) if (!(a2c[k] >= 0 && a2c[k] < Infinity)) throw bad(k, a2c[k], 'a finite number >= 0');
  if (!(a2c.gradClip > 0)) throw bad('gradClip', a2c.gradClip, '> 0');
  if (!(Number.isInteger(a2c.burnIn) && a2c.burnIn >= 0)) throw bad('burnIn', a2c.burnIn, 'an integer >= 0');
  if (a2c.baseline !== 'own' && a2c.baseline !== 'first') throw bad('baseline', a2c.baseline, "'own' or 'first'");
  if (!(adam.lr > 0)) throw bad('lr', adam.lr, '> 0');
  if (!(adam.eps > 0)) throw bad('eps', adam.eps, '> 0');
}

export function buildEnv(cfg: TrainConfig, batchSize: number, rng: Rng): Env {
  return cfg.task === 'cue-reward' ? new CueRewardEnv({ ...cfg.env, batchSize, rng }) : new MazeEnv({ ...cfg.env, batchSize, rng });
}

/** The network for `env`'s inputs and actions, initialised from `rng` (PAPER.md §1.7). */
export function buildNet(cfg: TrainConfig, env: Env, rng: Rng): PlasticRNN {
  const { plasticity, hiddenSize, etaInit, hebbClip, traceCheckpoint } = cfg.net;
  return new PlasticRNN({
    inputSize: env.inputSize, hiddenSize, numActions: env.numActions, plasticity, etaInit, clip: hebbClip, checkpointEvery: traceCheckpoint, rng,
    // sr/modul.py gives its modulated nets an unused η too; maze/batch.py does not (PAPER.md §2.1 counts).
    unusedEta: cfg.task === 'cue-reward',
  });
}
