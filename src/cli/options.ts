/**
 * The command line's options: one table per command, from which both the parser and `--help` are
 * made, so the help always lists every option with the default it really has. Training options that
 * are settings of the run map onto a TrainConfig path; their defaults come from `defaultConfig`.
 */
import { parseArgs } from 'node:util';
import type { Plasticity } from '../models/plastic_rnn.js';
import { defaultConfig, PAPER_ITERATIONS, TASKS, type TaskName, type TrainConfig, type Variant } from '../tasks/presets.js';

/** A mistake on the command line: the CLI prints it with a pointer to --help and exits with 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type Kind = 'int' | 'number' | 'string' | 'flag' | readonly string[];
type Group = 'run' | 'network' | 'training' | TaskName;

interface OptionSpec {
  name: string;
  kind: Kind;
  group: Group;
  help: string;
  /** Where the value goes in the TrainConfig (dotted), for settings of the run. */
  path?: string;
  /** The default as shown in --help, when it is not a config path's default. */
  shown?: string | ((task: TaskName) => string);
}

/** The authors' names for the four networks (`--type` in their scripts), accepted as aliases. */
const PLASTICITY_ALIASES: Record<string, Plasticity> = { rnn: 'none', plastic: 'hebbian', modplast: 'neuromodulated', modul: 'retroactive' };
const BACKENDS = ['auto', 'webgpu', 'cpu'] as const;
const PRECISIONS = ['f32', 'f64'] as const;
const DEFAULT_PLASTICITY: Plasticity = 'neuromodulated';

export const TRAIN_OPTIONS: readonly OptionSpec[] = [
  { name: 'plasticity', kind: ['none', 'hebbian', 'neuromodulated', 'retroactive'], group: 'run', shown: DEFAULT_PLASTICITY,
    help: "recurrent network: non-plastic, Hebbian, simple or retroactive neuromodulation (the code's rnn, plastic, modplast, modul are accepted)" },
  { name: 'variant', kind: ['code', 'paper'], group: 'run', shown: 'code',
    help: "defaults of the released code, or of the paper text (cue-reward: 200 steps, 24 inputs, grad clip 7; maze: size 11)" },
  { name: 'iterations', kind: 'int', group: 'run', shown: (t) => String(PAPER_ITERATIONS[t]), help: 'total iterations (B episodes each)' },
  { name: 'seed', kind: 'int', group: 'run', path: 'seed', help: 'seeds initialisation, episodes and action sampling' },
  { name: 'out', kind: 'string', group: 'run', shown: 'runs/<task>-<plasticity>-s<seed>', help: 'run directory: log.jsonl, checkpoint.safetensors, config.json' },
  { name: 'resume', kind: 'flag', group: 'run', shown: 'off', help: 'continue the checkpoint in --out (give the same options as the first time)' },
  { name: 'checkpoint-every', kind: 'int', group: 'run', shown: '1000', help: 'iterations between checkpoints (one is also saved at the end and on Ctrl-C)' },
  { name: 'backend', kind: BACKENDS, group: 'run', shown: 'auto', help: 'device: WebGPU if an adapter exists, else the CPU' },
  { name: 'precision', kind: PRECISIONS, group: 'run', shown: 'f32', help: 'CPU backend precision (WebGPU is always f32)' },
  { name: 'hidden-size', kind: 'int', group: 'network', path: 'net.hiddenSize',
    shown: (t) => (t === 'maze' ? '100 (hebbian 101, none 139)' : '200'), help: 'recurrent neurons' },
  { name: 'eta-init', kind: 'number', group: 'network', path: 'net.etaInit', help: 'initial plasticity rate η (hebbian) and trace rate η_et (retroactive)' },
  { name: 'hebb-clip', kind: ['hard', 'soft'], group: 'network', path: 'net.hebbClip', help: 'Hebbian trace clip to [-1, 1]: hard, or the soft clip of the appendix control' },
  { name: 'trace-checkpoint', kind: 'int', group: 'network', path: 'net.traceCheckpoint', help: 'keep every k-th plastic trace for backward, recompute the rest (1: keep all; at 120 steps 1.1-1.2x faster than 10, with 5x the trace memory)' },
  { name: 'batch-size', kind: 'int', group: 'training', path: 'batchSize', help: 'episodes per iteration' },
  { name: 'lr', kind: 'number', group: 'training', path: 'adam.lr', help: 'Adam learning rate' },
  { name: 'adam-eps', kind: 'number', group: 'training', path: 'adam.eps', help: 'Adam epsilon' },
  { name: 'entropy-coef', kind: 'number', group: 'training', path: 'a2c.entropyCoef', help: 'weight of the Σπ² concentration penalty (bent)' },
  { name: 'value-coef', kind: 'number', group: 'training', path: 'a2c.valueCoef', help: 'weight of the value loss (blossv)' },
  { name: 'grad-clip', kind: 'number', group: 'training', path: 'a2c.gradClip', help: 'gradient norm clip (gc)' },
  { name: 'gamma', kind: 'number', group: 'training', path: 'a2c.gamma', help: 'discount of the Monte-Carlo returns' },
  { name: 'burn-in', kind: 'int', group: 'training', path: 'a2c.burnIn', help: 'first iterations without an Adam step (the code: numiter > 100)' },
  { name: 'baseline', kind: ['own', 'first'], group: 'training', path: 'a2c.baseline',
    help: "value baseline: each episode's own V, or episode 0's V for all (the released code's quirk)" },
  { name: 'episode-length', kind: 'int', group: 'training', path: 'env.episodeLength', help: 'steps per episode' },
  { name: 'reward', kind: 'number', group: 'training', path: 'env.reward', help: 'reward for a right answer (cue-reward; −reward if wrong) or for reaching the reward cell (maze)' },
  { name: 'layout', kind: ['code', 'paper'], group: 'cue-reward', path: 'env.layout', help: 'inputs: the code\'s 27 (cue, Go, bias, time, reward, unused, action) or the paper\'s 24' },
  { name: 'cues', kind: ['random', 'onehot'], group: 'cue-reward', path: 'env.cues', help: 'random ±1 cues drawn each episode, or the appendix\'s fixed one-hot cues' },
  { name: 'num-cues', kind: 'int', group: 'cue-reward', path: 'env.numCues', help: 'cues per episode' },
  { name: 'cue-size', kind: 'int', group: 'cue-reward', path: 'env.cueSize', help: 'bits per random cue' },
  { name: 'penalty', kind: 'number', group: 'cue-reward', path: 'env.penalty', help: 'cost of answering 1 off the Go step (wp)' },
  { name: 'maze-size', kind: 'int', group: 'maze', path: 'env.size', help: 'grid side, border included (11 = the paper\'s 9×9)' },
  { name: 'wall-penalty', kind: 'number', group: 'maze', path: 'env.wallPenalty', help: 'cost of bumping into a wall (wp)' },
];

export const EVALUATE_OPTIONS: readonly OptionSpec[] = [
  { name: 'episodes', kind: 'int', group: 'run', shown: '100', help: 'episodes to run' },
  { name: 'seed', kind: 'int', group: 'run', shown: '0', help: 'seeds the episodes and the action sampling' },
  { name: 'batch-size', kind: 'int', group: 'run', shown: 'the training batch size', help: 'episodes run in parallel' },
  { name: 'backend', kind: BACKENDS, group: 'run', shown: 'auto', help: 'device: WebGPU if an adapter exists, else the CPU' },
  { name: 'precision', kind: PRECISIONS, group: 'run', shown: 'f32', help: 'CPU backend precision' },
  { name: 'json', kind: 'flag', group: 'run', shown: 'off', help: 'print the result as one JSON object' },
];

export interface DeviceOptions {
  backend: (typeof BACKENDS)[number];
  precision: (typeof PRECISIONS)[number];
}

export interface TrainArgs extends DeviceOptions {
  config: TrainConfig;
  iterations: number;
  out: string;
  resume: boolean;
  checkpointEvery: number;
}

export interface EvaluateArgs extends DeviceOptions {
  path: string;
  episodes: number;
  seed: number;
  batchSize?: number;
  json: boolean;
}

type Values = Record<string, string | boolean | undefined>;

/** Parses argv against `specs`; `help: true` when --help/-h was given. */
function parse(specs: readonly OptionSpec[], argv: string[]): { values: Values; positionals: string[]; help: boolean } {
  const options = Object.fromEntries(specs.map((s) => [s.name, { type: s.kind === 'flag' ? ('boolean' as const) : ('string' as const) }]));
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    return { values: values as Values, positionals, help: values.help === true };
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
}

/** The value of --name converted to its kind (undefined when not given). */
function value(spec: OptionSpec, raw: string | boolean | undefined): string | number | boolean | undefined {
  if (raw === undefined || typeof raw === 'boolean') return raw;
  const { kind, name } = spec;
  if (Array.isArray(kind)) {
    if (!kind.includes(raw)) throw new UsageError(`--${name} must be one of ${kind.join(', ')}, got '${raw}'`);
    return raw;
  }
  if (kind === 'int' || kind === 'number') {
    const n = raw.trim() === '' ? NaN : Number(raw);
    if (!Number.isFinite(n) || (kind === 'int' && !Number.isSafeInteger(n))) throw new UsageError(`--${name} must be ${kind === 'int' ? 'an integer' : 'a number'}, got '${raw}'`);
    return n;
  }
  return raw;
}

function getPath(obj: object, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], obj);
}

function setPath(obj: object, path: string, v: unknown): void {
  const keys = path.split('.');
  const last = keys.pop()!;
  (keys.reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], obj) as Record<string, unknown>)[last] = v;
}

function specNamed(specs: readonly OptionSpec[], name: string): OptionSpec {
  return specs.find((s) => s.name === name)!;
}

export function parseTrainArgs(argv: string[]): TrainArgs | { help: true; task?: TaskName } {
  const { values, positionals, help } = parse(TRAIN_OPTIONS, argv);
  const task = positionals[0] as TaskName | undefined;
  if (task !== undefined && !TASKS.includes(task)) throw new UsageError(`unknown task '${task}' (tasks: ${TASKS.join(', ')})`);
  if (help) return { help: true, task };
  if (!task) throw new UsageError(`train needs a task: ${TASKS.join(' or ')}`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);

  const rawPlasticity = values.plasticity;
  const plasticity = typeof rawPlasticity === 'string' && rawPlasticity in PLASTICITY_ALIASES ? PLASTICITY_ALIASES[rawPlasticity] : rawPlasticity;
  const get = (name: string, raw = values[name]) => value(specNamed(TRAIN_OPTIONS, name), raw);
  const config = defaultConfig(task, (get('plasticity', plasticity) as Plasticity | undefined) ?? DEFAULT_PLASTICITY, (get('variant') as Variant | undefined) ?? 'code');
  for (const spec of TRAIN_OPTIONS) {
    if (!spec.path) continue;
    const v = get(spec.name);
    if (v === undefined) continue;
    if ((spec.group === 'cue-reward' || spec.group === 'maze') && spec.group !== task) throw new UsageError(`--${spec.name} is an option of the ${spec.group} task`);
    setPath(config, spec.path, v);
  }
  const iterations = (get('iterations') as number | undefined) ?? PAPER_ITERATIONS[task];
  return {
    config,
    iterations,
    out: (get('out') as string | undefined) ?? `runs/${task}-${config.net.plasticity}-s${config.seed}`,
    resume: values.resume === true,
    checkpointEvery: (get('checkpoint-every') as number | undefined) ?? 1000,
    backend: (get('backend') as DeviceOptions['backend'] | undefined) ?? 'auto',
    precision: (get('precision') as DeviceOptions['precision'] | undefined) ?? 'f32',
  };
}

export function parseEvaluateArgs(argv: string[]): EvaluateArgs | { help: true } {
  const { values, positionals, help } = parse(EVALUATE_OPTIONS, argv);
  if (help) return { help: true };
  if (positionals.length !== 1) throw new UsageError('evaluate needs one run directory or checkpoint file');
  const get = (name: string) => value(specNamed(EVALUATE_OPTIONS, name), values[name]);
  return {
    path: positionals[0],
    episodes: (get('episodes') as number | undefined) ?? 100,
    seed: (get('seed') as number | undefined) ?? 0,
    batchSize: get('batch-size') as number | undefined,
    json: values.json === true,
    backend: (get('backend') as DeviceOptions['backend'] | undefined) ?? 'auto',
    precision: (get('precision') as DeviceOptions['precision'] | undefined) ?? 'f32',
  };
}

const GROUP_TITLES: Record<Group, string> = {
  run: 'Run', network: 'Network', training: 'Training (A2C, Adam, episodes)', 'cue-reward': 'cue-reward task', maze: 'maze task',
};

/** Two help lines per option: name and choices; description and default (per task where they differ). */
function optionLines(specs: readonly OptionSpec[], tasks: readonly TaskName[], titled: boolean): string[] {
  const fmt = (v: unknown) => (typeof v === 'number' && v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential() : String(v));
  const shownDefault = (s: OptionSpec): string => {
    const own = s.group === 'cue-reward' || s.group === 'maze' ? [s.group] : tasks;
    const perTask = own.map((t) => (typeof s.shown === 'function' ? s.shown(t) : (s.shown ?? fmt(getPath(defaultConfig(t, DEFAULT_PLASTICITY), s.path!)))));
    return new Set(perTask).size === 1 ? perTask[0] : own.map((t, i) => `${t} ${perTask[i]}`).join(', ');
  };
  const lines: string[] = [];
  for (const group of Object.keys(GROUP_TITLES) as Group[]) {
    const forTask = (g: Group) => (g !== 'cue-reward' && g !== 'maze') || tasks.includes(g);
    const inGroup = specs.filter((s) => s.group === group && forTask(s.group));
    if (!inGroup.length) continue;
    if (titled) lines.push('', `${GROUP_TITLES[group]}:`);
    for (const s of inGroup) {
      const arg = s.kind === 'flag' ? '' : Array.isArray(s.kind) ? ` ${s.kind.join('|')}` : ` <${s.kind === 'string' ? 'path' : s.kind}>`;
      lines.push(`  --${s.name}${arg}`, `      ${s.help} [default: ${shownDefault(s)}]`);
    }
  }
  return lines;
}

export function trainHelp(task?: TaskName): string {
  return [
    `Usage: backpropamine train ${task ?? '<cue-reward|maze>'} [options]`,
    '',
    'Meta-trains a plastic RNN by A2C on the task (PAPER.md §2.0-2.2). Defaults are the authors\' code\'s;',
    'Ctrl-C saves a checkpoint and exits; run the same command with --resume to continue.',
    ...optionLines(TRAIN_OPTIONS, task ? [task] : TASKS, true),
    '  -h, --help',
  ].join('\n');
}

export function evaluateHelp(): string {
  return [
    'Usage: backpropamine evaluate <run directory | checkpoint.safetensors> [options]',
    '',
    'Runs the saved agent for N episodes (actions sampled from its policy, no parameter updates) and reports the mean reward.',
    '',
    ...optionLines(EVALUATE_OPTIONS, TASKS, false),
    '  -h, --help',
  ].join('\n');
}

export function mainHelp(): string {
  return [
    'Usage: backpropamine <command> [options]',
    '',
    'Commands:',
    '  train <cue-reward|maze>   meta-train a plastic RNN on a task (backpropamine train --help)',
    '  train ptb                 train an LSTM language model on Penn Treebank (backpropamine train ptb --help)',
    '  evaluate <run>            run a saved agent and report its mean reward (backpropamine evaluate --help)',
    '',
    'Example:',
    '  backpropamine train cue-reward --plasticity retroactive --iterations 20000 --seed 1 --out runs/a',
    '  backpropamine evaluate runs/a --episodes 300',
  ].join('\n');
}
