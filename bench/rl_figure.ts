/**
 * Reproduces a training-curve figure of the paper (Figs. 1-2, PAPER.md §3.2-3.3): every condition ×
 * several seeds trained as separate CLI runs (`backpropamine train`, each writing its own run
 * directory with log.jsonl), up to `--jobs` at a time, then the figure scripts' summary: per run a
 * moving average of the batch-mean episode reward, median and inter-quartile range across runs, the
 * Wilcoxon rank-sum test of simple neuromodulation against non-modulated plasticity, and a table of
 * final rewards.
 *
 * Runs are resumable: a finished run is kept, an interrupted one continues from its checkpoint, so
 * rerunning the same command after Ctrl-C (or with `--plot-only`) completes or redraws the figure.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseTrainArgs, type TrainArgs } from '../src/cli/options.js';
import { Rng } from '../src/autograd/index.js';
import type { Plasticity } from '../src/models/plastic_rnn.js';
import { buildEnv, type TaskName, type TrainConfig } from '../src/tasks/presets.js';
import { machineInfo, printTable, writeResults, type Cell } from './harness.js';
import { curvesSpec, render, type CurvePoint } from './plot.js';
import { movingAverage, rankSum, spread, type RankSum } from './stats.js';

export type ScaleName = 'quick' | 'paper';

export interface Condition {
  /** Short name for run directories. */
  key: string;
  /** Legend label (the authors' figure scripts' names). */
  label: string;
  plasticity: Plasticity;
  color: string;
  /** Recurrent neurons (undefined: the CLI's default for the task and plasticity). */
  hiddenSize?: number;
  /** Training options of this condition only, after (and so overriding) the scale's. */
  args?: readonly string[];
}

export interface Scale {
  iterations: number;
  seeds: number;
  /** Training options common to every condition (`backpropamine train --help`). */
  args: readonly string[];
  conditions: readonly Condition[];
  /** Moving-average window, in iterations. */
  smooth: number;
  /** Why this scale is set as it is, for the results' markdown. */
  note: string;
}

export interface Figure {
  name: string;
  task: TaskName;
  title: string;
  /** The two conditions compared by the rank-sum test: simple neuromodulation, non-modulated plasticity. */
  compare: readonly [string, string];
  scales: Record<ScaleName, Scale>;
}

interface Run {
  condition: Condition;
  out: string;
  args: string[];
}

const CLI = 'bin/backpropamine.mjs';
/** Plotted points per curve at most (the figure scripts decimate ×10 for the same reason). */
const MAX_POINTS = 400;
/** The final reward of a run: the mean over this fraction of its last iterations. */
const FINAL_FRACTION = 0.1;

export async function runFigure(fig: Figure, argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      scale: { type: 'string', default: 'quick' },
      jobs: { type: 'string', default: String(cpus().length) },
      seeds: { type: 'string' },
      iterations: { type: 'string' },
      out: { type: 'string' },
      'plot-only': { type: 'boolean', default: false },
    },
  });
  const scaleName = values.scale as ScaleName;
  const scale = fig.scales[scaleName];
  if (!scale) throw new Error(`--scale must be quick or paper, got '${values.scale}'`);
  const iterations = Number(values.iterations ?? scale.iterations);
  const seeds = Number(values.seeds ?? scale.seeds);
  const root = values.out ?? `runs/${fig.name}-${scaleName}`;
  // Seed-major order: an interrupted figure still has every condition at the first seeds.
  const runs: Run[] = [];
  for (let seed = 0; seed < seeds; seed++) {
    for (const condition of scale.conditions) {
      const hidden = condition.hiddenSize;
      const out = join(root, `${condition.key}-s${seed}`);
      const args = [
        '--plasticity', condition.plasticity, '--seed', String(seed), ...(hidden ? ['--hidden-size', String(hidden)] : []), ...scale.args, ...(condition.args ?? []),
      ];
      runs.push({ condition, out, args });
    }
  }
  console.log(`${fig.name} (${scaleName}): ${scale.conditions.length} conditions × ${seeds} seeds, ${iterations} iterations each, in ${root}/`);
  // Training time adds up over resumed invocations, and --plot-only reports it too.
  const timing = join(root, 'wall_minutes.json');
  let wallMinutes: number | null = existsSync(timing) ? (JSON.parse(readFileSync(timing, 'utf8')) as number) : null;
  if (!values['plot-only']) {
    const started = performance.now();
    await trainAll(fig.task, runs, iterations, Number(values.jobs), root);
    wallMinutes = (wallMinutes ?? 0) + (performance.now() - started) / 60_000;
    writeFileSync(timing, `${wallMinutes}\n`);
  }
  await summarise(fig, scaleName, scale, seeds, runs, iterations, wallMinutes);
}

/** Trains every run not yet finished, `jobs` child processes at a time. */
async function trainAll(task: TaskName, runs: readonly Run[], iterations: number, jobs: number, root: string): Promise<void> {
  mkdirSync(root, { recursive: true });
  const todo = runs.filter((r) => readRewards(r.out).length < iterations);
  if (todo.length < runs.length) console.log(`${runs.length - todo.length} runs already finished`);
  const children = new Set<ReturnType<typeof spawn>>();
  let stopping = false;
  // A terminal's Ctrl-C reaches the children too (same process group): each saves a checkpoint.
  const onInt = () => (stopping = true);
  const onTerm = () => {
    stopping = true;
    for (const c of children) c.kill('SIGTERM');
  };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const status = setInterval(() => {
    const done = runs.reduce((n, r) => n + Math.min(iterations, readRewards(r.out).length), 0);
    console.log(`  ${((100 * done) / (iterations * runs.length)).toFixed(0)}% of all iterations (${done}/${iterations * runs.length})`);
  }, 60_000);
  const failures: string[] = [];
  const queue = [...todo];
  const worker = async () => {
    for (let run = queue.shift(); run && !stopping; run = queue.shift()) {
      const resume = existsSync(join(run.out, 'checkpoint.safetensors'));
      const log = openSync(`${run.out}.out`, 'a');
      const args = [CLI, 'train', task, ...run.args, '--iterations', String(iterations), '--out', run.out, ...(resume ? ['--resume'] : [])];
      const t0 = performance.now();
      const child = spawn(process.execPath, args, { stdio: ['ignore', log, log] });
      children.add(child);
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      children.delete(child);
      closeSync(log);
      const took = ((performance.now() - t0) / 1000).toFixed(0);
      if (code === 0) console.log(`  done ${run.out} (${took} s)`);
      else failures.push(`${run.out}: exit ${code}, see ${run.out}.out`);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
  } finally {
    clearInterval(status);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  for (const f of failures) console.log(`  FAILED ${f}`);
  if (stopping) console.log('interrupted: summarising the iterations done so far; rerun the same command to continue');
}

/** Mean episode reward of each logged iteration of a run (empty if it has not started). */
function readRewards(out: string): number[] {
  const path = join(out, 'log.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { reward: number }).reward);
}

interface ConditionSummary {
  label: string;
  plasticity: Plasticity;
  hiddenSize: number | undefined;
  runs: number;
  /** Per run: the mean reward over its last FINAL_FRACTION of iterations. */
  final: number[];
  median: number;
  q25: number;
  q75: number;
}

/** What a figure run found: written as JSON and markdown next to the plot. */
interface Summary {
  name: string;
  command: string;
  /** Wall time of the training, over all invocations (null if unknown: runs trained elsewhere). */
  wallMinutes: number | null;
  seeds: number;
  /** Iterations in every run's log (the curves stop at the shortest run). */
  iterations: number;
  batchSize: number;
  finalReward: string;
  conditions: ConditionSummary[];
  rankSum: RankSum & { between: [string, string] };
  /** Episodes (x positions) whose per-point rank-sum gave p < 0.05, out of `points`. */
  starredEpisodes: number[];
  points: number;
  randomPolicyReward: number;
}

async function summarise(fig: Figure, scaleName: ScaleName, scale: Scale, seeds: number, runs: readonly Run[], iterations: number, wallMinutes: number | null): Promise<void> {
  const { conditions: conds } = scale;
  const { config, backend } = parseTrain(fig.task, [...scale.args]);
  const batch = config.batchSize;
  const logs = conds.map((c) => runs.filter((r) => r.condition === c).map((r) => readRewards(r.out)).filter((l) => l.length > 0));
  if (logs.some((runLogs) => runLogs.length === 0)) {
    console.log('a condition has no logged iterations yet: nothing to summarise');
    return;
  }
  // Curves stop where the shortest run stops, so every point has every run.
  const length = Math.min(iterations, ...logs.flat().map((l) => l.length));
  const smoothed = logs.map((runLogs) => runLogs.map((l) => movingAverage(l.slice(0, length), scale.smooth)));
  // Points from the first full averaging window on, evenly spaced, the last iteration included.
  const first = Math.min(scale.smooth, length) - 1;
  const stride = Math.max(1, Math.ceil((length - first) / MAX_POINTS));
  const indices: number[] = [];
  for (let i = length - 1; i >= first; i -= stride) indices.unshift(i);
  const points: CurvePoint[] = conds.flatMap((c, ci) =>
    indices.map((i) => ({ condition: c.label, episodes: (i + 1) * batch, ...spread(smoothed[ci].map((s) => s[i])) })),
  );

  const [a, b] = fig.compare.map((key) => conds.findIndex((c) => c.key === key));
  const stars = indices.filter((i) => rankSum(smoothed[a].map((s) => s[i]), smoothed[b].map((s) => s[i])).p < 0.05).map((i) => (i + 1) * batch);
  const finalFrom = length - Math.max(1, Math.round(length * FINAL_FRACTION));
  const conditions = conds.map((c, ci): ConditionSummary => {
    const final = logs[ci].map((l) => mean(l.slice(finalFrom, length)));
    return { label: c.label, plasticity: c.plasticity, hiddenSize: c.hiddenSize, runs: final.length, final, ...spread(final) };
  });
  const name = `${fig.name}-${scaleName}`;
  const defaults = iterations === scale.iterations && seeds === scale.seeds;
  const summary: Summary = {
    name,
    command: `npm run bench:${fig.name} -- --scale ${scaleName}${defaults ? '' : ` --iterations ${iterations} --seeds ${seeds}`}`,
    wallMinutes,
    seeds,
    iterations: length,
    batchSize: batch,
    finalReward: `mean reward per episode over iterations ${finalFrom + 1}-${length}`,
    conditions,
    rankSum: { between: [conditions[a].label, conditions[b].label], ...rankSum(conditions[a].final, conditions[b].final) },
    starredEpisodes: stars,
    points: indices.length,
    randomPolicyReward: randomPolicyReward(config),
  };

  const table = summaryTable(summary);
  printTable({ title: `${name}: final reward (${summary.finalReward})`, ...table });
  console.log(`\n${testLine(summary)}`);
  const files = await render(
    curvesSpec(points, {
      title: fig.title,
      subtitle: [
        `${scaleName} scale: ${seeds} seeds × ${length} iterations of ${batch} episodes`,
        `median and IQR across runs, ${scale.smooth}-iteration moving average`,
        `stars: p < 0.05, rank-sum of ${fig.compare.join(' vs ')}`,
      ],
      conditions: conds.map((c) => c.label),
      colors: conds.map((c) => c.color),
      stars,
      starY: Math.max(...points.map((p) => p.q75)) * 1.05,
      xTitle: `Number of Episodes (iterations × ${batch})`,
    }),
    `bench/results/${name}`,
  );
  const json = writeResults(name, { ...summary, task: fig.task, scale: scaleName, trainArgs: scale.args, config, curves: points, machine: machineInfo(backend) });
  writeFileSync(`bench/results/${name}.md`, markdown(fig, scale, summary, table));
  console.log(`\nwrote ${[...files, json, `bench/results/${name}.md`].join(', ')}`);
}

function summaryTable(s: Summary): { header: string[]; rows: Cell[][] } {
  return {
    header: ['Condition', 'runs', 'median', 'q25', 'q75'],
    rows: [...s.conditions.map((c) => [c.label, String(c.runs), c.median, c.q25, c.q75]), ['Random policy (no network)', '-', s.randomPolicyReward, '-', '-']],
  };
}

function testLine(s: Summary): string {
  const { between, z, p } = s.rankSum;
  return `Wilcoxon rank-sum, ${between.join(' vs ')} (final rewards): z = ${z.toFixed(2)}, p = ${p.toPrecision(3)}; ` +
    `curve points with p < 0.05: ${s.starredEpisodes.length} of ${s.points}`;
}

function markdown(fig: Figure, scale: Scale, s: Summary, { header, rows }: { header: string[]; rows: Cell[][] }): string {
  const sizes = scale.conditions.map((c) => `${c.key} ${c.hiddenSize ?? 'default'}`).join(', ');
  const extra = scale.conditions.filter((c) => c.args?.length).map((c) => `; ${c.key} also \`${c.args!.join(' ')}\``).join('');
  return [
    `# ${fig.title}, ${s.name}`,
    '',
    `\`${s.command}\`: ${s.seeds} seeds × ${s.iterations} iterations of ${s.batchSize} episodes` +
      (s.wallMinutes === null ? '.' : `, ${s.wallMinutes.toFixed(1)} min wall time on ${cpus().length} cores.`),
    `Training options \`${scale.args.join(' ')}\`${extra}; recurrent neurons: ${sizes}.`,
    '',
    scale.note,
    '',
    `Final reward: ${s.finalReward}, per run; median and quartiles across runs.`,
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.map((x) => (typeof x === 'number' ? x.toFixed(2) : x)).join(' | ')} |`),
    '',
    `${testLine(s)}.`,
    '',
    `![${fig.title}](${s.name}.svg)`,
    '',
  ].join('\n');
}

/** What `backpropamine train <task> <args>` would run (for the batch size, the backend and the reference). */
function parseTrain(task: TaskName, args: string[]): TrainArgs {
  const parsed = parseTrainArgs([task, ...args]);
  if ('help' in parsed) throw new Error('unexpected --help in the scale options');
  return parsed;
}

/** Mean episode reward of uniformly random actions on the task as configured: the floor to beat. */
function randomPolicyReward(config: TrainConfig, episodes = 10_000): number {
  const rng = new Rng(12345);
  const env = buildEnv(config, episodes, rng);
  env.reset();
  let total = 0;
  for (let t = 0; t < env.episodeLength; t++) {
    for (const r of env.step(Array.from({ length: episodes }, () => rng.int(env.numActions))).reward) total += r;
  }
  return total / episodes;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}
