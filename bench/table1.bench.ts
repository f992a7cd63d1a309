/**
 * Table 1 (PAPER.md §3.1): test perplexity on Penn Treebank of the baseline LSTM and the plastic
 * LSTMs, every condition with the baseline's parameter count, several seeds each, printed in the
 * paper's form beside the published numbers.
 *
 *   BACKPROPAMINE_DATA=<dir> npm run bench:table1 -- [--scale quick|paper|smoke] [--preset basic|awd]
 *       [--seeds N] [--cells lstm,hebbian,...] [--backend auto|webgpu|cpu] [--precision f32|f64]
 *       [--fanout neuron|connection] [--data DIR] [--resume]
 *
 * The backend defaults to auto: WebGPU where an adapter exists (3-5x faster than the CPU backend at
 * the quick size here). On lavapipe, run scripts/setup.sh first: long WebGPU runs need the
 * vm.max_map_count it raises.
 *
 * --scale quick (default) fits in about half an hour on a 2-core machine: small layers, a token budget,
 * valid/test on a prefix; its perplexities check the pipeline, not the paper's numbers. --scale paper
 * is the published setting (days to weeks here: for a real GPU). Each run checkpoints under
 * runs/table1-<preset>-<scale>/; --resume skips finished runs and continues interrupted ones.
 * Writes bench/results/table1-<preset>-<scale>.json and .md. --fanout connection gives the plastic
 * LSTMs the paper's per-connection η and fan-out instead of the code's per neuron (parameter-matched;
 * it runs the reference composition of primitive ops, which bench:kernels times at 4-7x the fused
 * step at B = 30, N = 200), and adds "-connection" to those names.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { destroyDevice, initDevice } from '../src/index.js';
import { LM_CELLS, type LmCell } from '../src/models/lm.js';
import { lmPreset, type LmPresetName, type LmScale } from '../src/tasks/lm_presets.js';
import { meanCi95, medianRange } from '../src/tasks/lm_stats.js';
import { trainLm } from '../src/tasks/lm_train.js';
import { loadPtb } from '../src/tasks/ptb.js';
import { machineInfo, printTable, writeResults } from './harness.js';

const LABELS: Record<LmCell, string> = {
  lstm: 'Baseline LSTM',
  hebbian: 'LSTM with differentiable plasticity',
  neuromodulated: 'LSTM with simple neuromodulation',
  retroactive: 'LSTM with retroactive neuromodulation',
};

/** Table 1 as published: mean ± 95% CI over 16 runs (basic), median (min, max) over 5 (large). */
const PUBLISHED: Record<LmPresetName, Partial<Record<LmCell, string>>> = {
  basic: { lstm: '104.26 ± 0.22', hebbian: '103.80 ± 0.25', neuromodulated: '102.65 ± 0.30', retroactive: '102.48 ± 0.28' },
  awd: { lstm: '62.48 (62.40, 62.60)', neuromodulated: '61.44 (61.37, 61.68)' },
};

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    scale: { type: 'string', default: 'quick' }, preset: { type: 'string', default: 'basic' }, seeds: { type: 'string' },
    cells: { type: 'string' }, backend: { type: 'string', default: 'auto' }, precision: { type: 'string', default: 'f32' },
    data: { type: 'string' }, resume: { type: 'boolean', default: false }, fanout: { type: 'string', default: 'neuron' },
  },
});
const scale = args.scale as LmScale;
const preset = args.preset as LmPresetName;
const fanout = args.fanout as 'neuron' | 'connection';
if (!['neuron', 'connection'].includes(fanout)) throw new Error(`bench:table1: --fanout neuron|connection, got ${fanout}`);
/** Run and result names: the preset, the scale, and the fan-out unless it is the code's. */
const suffix = `${preset}-${scale}${fanout === 'connection' ? '-connection' : ''}`;
if (!['quick', 'paper', 'smoke'].includes(scale) || !['basic', 'awd'].includes(preset)) {
  throw new Error(`bench:table1: --scale quick|paper|smoke and --preset basic|awd, got ${scale} and ${preset}`);
}
const cells = (args.cells?.split(',') ?? Object.keys(PUBLISHED[preset])) as LmCell[];
const bad = cells.filter((c) => !LM_CELLS.includes(c));
if (bad.length) throw new Error(`bench:table1: unknown cell(s) ${bad.join(', ')}`);
const seeds = Number(args.seeds ?? (scale === 'paper' ? (preset === 'basic' ? 16 : 5) : 2));
const command = `npm run bench:table1 -- ${process.argv.slice(2).join(' ')}`.trim();
console.log(`# ${command}`);

const corpus = loadPtb({ dir: args.data });
if (!corpus.standard) console.warn('bench:table1: the corpus is not the standard PTB text; the perplexities are not comparable');
const backend = await initDevice({ backend: args.backend as 'auto' | 'webgpu' | 'cpu', precision: args.precision as 'f32' | 'f64' });
const device = backend.name === 'cpu' ? `CPU backend (TypeScript loops, ${backend.precision})` : 'WebGPU backend';
console.log(`# ${preset} model, scale ${scale}, ${seeds} seed(s) per condition, on the ${device}`);

interface RunResult {
  cell: LmCell;
  seed: number;
  params: number;
  hiddenSize: number;
  validPpl: number;
  testPpl: number;
  tokensPerSecond: number;
  seconds: number;
}

const runDir = join('runs', `table1-${suffix}`);
mkdirSync(runDir, { recursive: true });
const donePath = join(runDir, 'results.json');
const done: RunResult[] = args.resume && existsSync(donePath) ? JSON.parse(readFileSync(donePath, 'utf8')) : [];
const started = performance.now();

for (const cell of cells) {
  for (let seed = 1; seed <= seeds; seed++) {
    if (done.some((r) => r.cell === cell && r.seed === seed)) continue;
    const opts = lmPreset({ preset, cell, scale, vocabSize: corpus.vocab.size, seed, fanout });
    const checkpointPath = join(runDir, `${cell}-s${seed}.safetensors`);
    const t0 = performance.now();
    const r = await trainLm({ vocabSize: corpus.vocab.size, train: corpus.train, valid: corpus.valid, test: corpus.test }, opts, {
      checkpointPath,
      resume: args.resume && existsSync(checkpointPath),
      log: (x) => {
        if (x.type === 'epoch') console.log(`  ${cell} s${seed} epoch ${x.epoch}: valid ppl ${x.validPpl.toFixed(2)} (${x.seconds.toFixed(0)} s)`);
      },
    });
    const run = { cell, seed, params: r.params, hiddenSize: opts.model.hiddenSize, validPpl: r.validPpl, testPpl: r.testPpl, tokensPerSecond: r.tokensPerSecond, seconds: (performance.now() - t0) / 1000 };
    console.log(`${cell} seed ${seed}: test ppl ${r.testPpl.toFixed(2)}, ${r.params.toLocaleString('en-US')} parameters, ${r.tokensPerSecond.toFixed(0)} training tok/s, ${run.seconds.toFixed(0)} s`);
    done.push(run);
    writeFileSync(donePath, JSON.stringify(done, null, 2) + '\n');
  }
}
destroyDevice();

const fmt = (cell: LmCell) => {
  const xs = done.filter((r) => r.cell === cell).map((r) => r.testPpl);
  if (preset === 'awd') {
    const m = medianRange(xs);
    return `${m.median.toFixed(2)} (${m.min.toFixed(2)}, ${m.max.toFixed(2)})`;
  }
  const m = meanCi95(xs);
  return `${m.mean.toFixed(2)} ± ${Number.isNaN(m.ci) ? '–' : m.ci.toFixed(2)}`;
};
const rows = cells.map((cell) => {
  const r = done.find((x) => x.cell === cell)!;
  const speed = done.filter((x) => x.cell === cell).reduce((a, x) => a + x.tokensPerSecond, 0) / seeds;
  return [LABELS[cell], r.params.toLocaleString('en-US'), String(r.hiddenSize), fmt(cell), PUBLISHED[preset][cell] ?? '–', speed.toFixed(0)];
});
const stat = preset === 'awd' ? 'median (min, max)' : 'mean ± 95% CI';
const table = {
  title: `Table 1, ${preset === 'awd' ? 'large' : 'basic'} model: PTB test perplexity, ${stat} over ${seeds} seed(s), scale ${scale} (published: ${scale === 'paper' ? 'same setting' : 'full training, not comparable'})`,
  header: ['Model', 'Parameters', 'Hidden', `Ours (${stat})`, 'Published', 'Train tok/s'],
  rows,
};
printTable(table);
const minutes = (performance.now() - started) / 60_000;
console.log(`\n${minutes.toFixed(1)} min; runs and checkpoints in ${runDir}`);

const name = `table1-${suffix}`;
const opts = Object.fromEntries(cells.map((c) => [c, lmPreset({ preset, cell: c, scale, vocabSize: corpus.vocab.size, seed: 1, fanout })]));
const path = writeResults(name, { command, machine: machineInfo(device), standardCorpus: corpus.standard, minutes, table, runs: done, options: opts });
const md = [`# ${table.title}`, '', `\`${command}\` on the ${device}, ${new Date().toISOString()}`, '', `| ${table.header.join(' | ')} |`, `|${table.header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`), ''].join('\n');
writeFileSync(path.replace(/\.json$/, '.md'), md);
console.log(`wrote ${path} and ${path.replace(/\.json$/, '.md')}`);
