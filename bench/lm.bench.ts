/**
 * Training speed of the Table 1 language models (the basic preset, PAPER.md §2.3) on WebGPU: tokens/s
 * of a full training step for the baseline LSTM and the plastic LSTMs at the quick and paper sizes
 * (plastic hidden sizes matched to the baseline's parameter count, as lm_presets does), where a
 * step's time goes, and how fast the softmax's matmul runs against a plain matmul.
 *
 *   XDG_RUNTIME_DIR=/tmp BACKPROPAMINE_DATA=<dir> npm run bench:lm [-- --scale quick|paper|both] [--steps N]
 *       [--cells lstm,hebbian,neuromodulated,retroactive] [--data DIR] [--spin]
 *
 * A step is trainLm's: forward, loss, backward, gradient clip, SGD, on successive PTB segments
 * (B = 20, T = 20: 400 tokens) with the state carried from one step to the next; the clock stops
 * once the device is done (the harness's sync). --steps sets the timed steps per condition after
 * WARMUP_STEPS warm-up ones; default 10 at the quick size and 8 at the paper size, where a step
 * takes about a second on lavapipe (with 4, the paper-size ratios of two back-to-back runs differed
 * by up to 0.3).
 * --spin awaits the device without first sleeping through most of the expected device time
 * (TimeOptions.idle). The whole run takes about 3 minutes on 2 cores (twice that under load).
 *
 * The split times the parts of a step on their own, each forward + backward and synced:
 * - LSTM: the embedding and the LSTM layers, backpropagated from the sum of the last layer's
 *   output. For a plastic model this is a baseline LSTM of the plastic model's hidden size, so that
 *   the next part is the cost of plasticity alone;
 * - plastic: the plastic model's embedding + layers minus that same-size LSTM's (the fused
 *   plastic step and its traces, the modulator, less the W_hc matmul it replaces);
 * - softmax: the decoder's matmul, bias and cross-entropy from an input that requires a gradient
 *   (so dX is computed, as when it flows into the LSTM);
 * - rest: the step minus the plastic (or baseline) layers and the softmax part: loss scaling,
 *   zeroGrad, gradient clipping, SGD. The parts are timed apart, each with its own sync and
 *   noise, so at the paper size (few steps, tens of ms of rest in a step of 1-2 s) it can come
 *   out negative.
 * All parts of a scale are timed with their batches interleaved (harness.timeCases), so load
 * drifting on a shared machine hits every condition alike and their ratios hold.
 *
 * The matmul table times the decoder's three matmuls (forward X·Wᵀ, backward dY·W and dYᵀ·X) as
 * single ops next to a plain (untransposed) matmul of the same m×k×n and a square one at the size
 * where bench:ops found our best GFLOP/s, all in this run, and quotes that best from
 * bench/results/ops.json (measured at another time, under another load).
 * Writes everything to bench/results/lm.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import {
  crossEntropy, dispose, embedding, matmul, noGrad, Rng, scale, setBackend, SGD, sum, tensor, tidy, uniform,
  type MatmulOptions,
} from '../src/index.js';
import { createWebGPUBackend, PAD_MIN_MACS } from '../src/kernels/webgpu/webgpu_backend.js';
import { LanguageModel, LM_CELLS, lmParameterCount, type LmCell, type LmState } from '../src/models/lm.js';
import { batchify, getBatch, type Batched } from '../src/tasks/lm_batch.js';
import { carryState, disposeState } from '../src/tasks/lm_eval.js';
import type { LmTrainOptions } from '../src/tasks/lm_options.js';
import { lmPreset } from '../src/tasks/lm_presets.js';
import { trainStep } from '../src/tasks/lm_train.js';
import { loadPtb } from '../src/tasks/ptb.js';
import {
  machineInfo, printTable, randomData, timeCases, writeResults,
  type Case, type Entry, type MachineInfo, type Table, type TimeOptions, type Timing,
} from './harness.js';

type Scale = 'quick' | 'paper';

/** The issue's target: a plastic LSTM costs at most this much of the baseline's time per token. */
const TARGET_RATIO = 1.5;
const DEFAULT_STEPS: Record<Scale, number> = { quick: 10, paper: 8 };
/**
 * Untimed steps per case first: the harness's 3 (pipeline compiles, buffer pools) and more, until
 * the host side of a step is what it is in a long training run. A paper-size retroactive step's
 * recording took 56-100 ms over its first 10 steps and 30-50 ms after, as the bind-group cache
 * filled (.build scratch script; it created 1109, 785, 136, 85, 28, 11 groups in steps 1-6, then 8).
 */
const WARMUP_STEPS = 12;
/** Timed batches per matmul case (each about 100 ms). */
const MATMUL_REPS = 5;
/** Square size of the in-run plain matmul when bench/results/ops.json is missing (its usual best). */
const FALLBACK_SQUARE = 512;
const SEED = 1;
const OPS_JSON = 'bench/results/ops.json';

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    scale: { type: 'string', default: 'both' },
    steps: { type: 'string' },
    cells: { type: 'string' },
    data: { type: 'string' },
    spin: { type: 'boolean', default: false },
  },
});
if (!['quick', 'paper', 'both'].includes(args.scale)) throw new Error(`bench:lm: --scale quick|paper|both, got ${args.scale}`);
const scales: Scale[] = args.scale === 'both' ? ['quick', 'paper'] : [args.scale as Scale];
const stepsArg = args.steps === undefined ? null : Number(args.steps);
if (stepsArg !== null && !(Number.isInteger(stepsArg) && stepsArg >= 1)) throw new Error(`bench:lm: --steps must be a positive integer, got ${args.steps}`);
const requested = (args.cells?.split(',') ?? LM_CELLS) as LmCell[];
const bad = requested.filter((c) => !LM_CELLS.includes(c));
if (bad.length) throw new Error(`bench:lm: unknown cell(s) ${bad.join(', ')}`);
/** The baseline always runs: every ratio is against it. */
const cells: LmCell[] = ['lstm', ...requested.filter((c) => c !== 'lstm')];

const dataEnv = process.env.BACKPROPAMINE_DATA ? `BACKPROPAMINE_DATA=${process.env.BACKPROPAMINE_DATA} ` : '';
const command = `XDG_RUNTIME_DIR=/tmp ${dataEnv}npm run bench:lm${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
const started = performance.now();
console.log(`# ${command}`);

const corpus = loadPtb({ dir: args.data });
const vocab = corpus.vocab.size;
const backend = (await createWebGPUBackend()) ?? noAdapter();
setBackend(backend);
const machine = machineInfo(backend.gpu.device.adapterInfo.description);
const loadStart = loadavg();
console.log(`# ${JSON.stringify(machine)}`);
const opsBest = readOpsBest();

const results: ScaleResult[] = [];
for (const s of scales) results.push(await benchScale(s));
backend.destroy();

// ---------------------------------------------------------------- report

const tables: Table[] = [
  {
    title: `Training step of the basic Table 1 model (B=20, T=20: 400 tokens; median of the timed steps; host: recording the step's ops; × baseline: time per token; target ≤ ${TARGET_RATIO}×)`,
    header: ['scale', 'model', 'hidden', 'parameters', 'steps', 'ms/step', 'host ms', 'tokens/s', '× baseline', 'target'],
    rows: results.flatMap((r) =>
      r.conditions.map((c) => [
        r.scale, c.cell, String(c.hidden), c.params.toLocaleString('en-US'), String(r.steps), c.stepMs, c.hostMs, r.tokens / (c.stepMs / 1000), c.ratio,
        c.cell === 'lstm' ? '' : c.ratio <= TARGET_RATIO ? 'met' : 'MISSED',
      ]),
    ),
  },
  {
    title: 'Split of a step, ms (each part forward + backward on its own, synced; see the header of bench/lm.bench.ts)',
    header: ['scale', 'model', 'step', 'LSTM', 'plastic', 'softmax', 'rest', 'LSTM %', 'plastic %', 'softmax %', 'rest %'],
    rows: results.flatMap((r) =>
      r.conditions.map(({ cell, stepMs, split: s }) => {
        const pct = (ms: number) => (100 * ms) / stepMs;
        return [r.scale, cell, stepMs, s.lstmMs, s.plasticMs, s.softmaxMs, s.restMs, pct(s.lstmMs), pct(s.plasticMs), pct(s.softmaxMs), pct(s.restMs)];
      }),
    ),
  },
  {
    title: `Decoder (softmax) matmuls, GFLOP/s = 2·m·k·n / time, against a plain [m×k]·[k×n] matmul in this run and bench:ops's best (${opsBest ? `${opsBest.gflops.toFixed(1)} GFLOP/s at n=${opsBest.n}, load ${opsBest.loadavg1.toFixed(2)}, ${opsBest.date}` : `${OPS_JSON} missing`})`,
    header: ['scale', 'hidden', 'matmul', 'm×k×n', 'kernel', 'ms', 'GFLOP/s', 'plain GFLOP/s', '÷ plain', '÷ bench:ops best'],
    rows: results.flatMap((r) =>
      r.matmuls.map((m) => [r.scale, m.hidden === null ? '' : String(m.hidden), m.name, m.shape, m.kernel, m.ms, m.gflops, m.plainGflops, m.gflops / m.plainGflops, m.gflops / (opsBest?.gflops ?? NaN)]),
    ),
  },
];
for (const t of tables) printTable(t);

console.log(`\ntarget: a plastic LSTM costs at most ${TARGET_RATIO}× the baseline's time per token at equal parameter count`);
const targets = results.flatMap((r) =>
  r.conditions
    .filter((c) => c.cell !== 'lstm')
    .map((c) => ({ scale: r.scale, cell: c.cell, hidden: c.hidden, ratio: c.ratio, met: c.ratio <= TARGET_RATIO })),
);
for (const t of targets) console.log(`  ${t.scale} ${t.cell} (hidden ${t.hidden}): ${t.ratio.toFixed(2)}×, ${t.met ? 'met' : 'MISSED'}`);
console.log(`timed steps per condition after ${WARMUP_STEPS} warm-up ones: ${results.map((r) => `${r.scale} ${r.steps}`).join(', ')}`);

const loadEnd = loadavg();
const path = writeResults('lm', {
  command,
  machine: { ...machine, loadavgStart: loadStart, loadavgEnd: loadEnd },
  settings: { preset: 'basic', scales, cells, warmupSteps: WARMUP_STEPS, matmulReps: MATMUL_REPS, idle: !args.spin, seed: SEED },
  opsBest,
  targetRatio: TARGET_RATIO,
  targets,
  results,
  tables,
});
const seconds = (performance.now() - started) / 1000;
console.log(`\nwrote ${path} in ${seconds.toFixed(0)} s (load average ${machine.loadavg1.toFixed(2)} at the start, ${loadEnd[0].toFixed(2)} at the end)`);

// ---------------------------------------------------------------- one scale

interface Condition {
  cell: LmCell;
  hidden: number;
  params: number;
  model: LanguageModel;
  opts: LmTrainOptions;
}

interface ConditionResult {
  cell: LmCell;
  hidden: number;
  params: number;
  stepMs: number;
  /** Host time recording the step's ops (JS and Dawn): the step's floor when the device waits on it. */
  hostMs: number;
  /** Time per token over the baseline's (equal tokens per step). */
  ratio: number;
  split: { lstmMs: number; plasticMs: number; softmaxMs: number; restMs: number; layersMs: number };
}

type Kernel = 'vec4' | 'padded vec4' | 'scalar' | 'mixed';

interface MatmulResult {
  /** The decoder's input width, or null for the square matmul. */
  hidden: number | null;
  name: string;
  shape: string;
  kernel: Kernel;
  ms: number;
  gflops: number;
  plainGflops: number;
}

interface ScaleResult {
  scale: Scale;
  steps: number;
  tokens: number;
  conditions: ConditionResult[];
  matmuls: MatmulResult[];
  timings: Record<string, Timing>;
}

async function benchScale(scale: Scale): Promise<ScaleResult> {
  const steps = stepsArg ?? DEFAULT_STEPS[scale];
  const conditions = cells.map((cell): Condition => {
    const opts = lmPreset({ preset: 'basic', cell, scale, vocabSize: vocab, seed: SEED });
    return { cell, hidden: opts.model.hiddenSize, params: lmParameterCount({ ...opts.model, vocabSize: vocab }), model: buildModel(opts.model), opts };
  });
  const baseline = conditions[0];
  const { batchSize, bptt } = baseline.opts;
  const train = batchify(corpus.train, batchSize);
  const segment = getBatch(train, 0, bptt);
  const hiddens = [...new Set(conditions.map((c) => c.hidden))];
  // The LSTM each condition's split is measured against: the baseline itself, or one of the plastic hidden size.
  const sameSize = new Map(hiddens.map((n) => [n, n === baseline.hidden ? baseline.model : buildModel({ ...baseline.opts.model, hiddenSize: n })]));

  const rng = new Rng(SEED);
  const cases = new Map<string, Case>();
  for (const c of conditions) {
    cases.set(`step ${c.cell}`, stepCase(c, train));
    cases.set(`layers ${c.cell}`, layersCase(c.model, segment));
  }
  for (const [n, model] of sameSize) if (model !== baseline.model) cases.set(`layers lstm N=${n}`, layersCase(model, segment));
  for (const [n, model] of sameSize) cases.set(`softmax N=${n}`, softmaxCase(model, segment, rng));
  console.log(`\n# ${scale}: timing ${cases.size} cases, ${steps} timed runs each (${elapsed()} so far, load ${loadavg()[0].toFixed(2)})`);
  const timings = await timeAll(cases, { count: 1, warmup: WARMUP_STEPS - 3, reps: steps, idle: !args.spin });
  for (const c of conditions) c.model.dispose();
  for (const model of sameSize.values()) if (model !== baseline.model) model.dispose();

  const ms = (key: string) => timings[key].msPerOp;
  const baseMs = ms('step lstm');
  const results = conditions.map(({ cell, hidden, params }): ConditionResult => {
    const stepMs = ms(`step ${cell}`);
    const layersMs = ms(`layers ${cell}`);
    const lstmMs = cell === 'lstm' ? layersMs : ms(`layers lstm N=${hidden}`);
    const softmaxMs = ms(`softmax N=${hidden}`);
    return {
      cell, hidden, params, stepMs, hostMs: timings[`step ${cell}`].recordMsPerOp, ratio: stepMs / baseMs,
      split: { lstmMs, plasticMs: cell === 'lstm' ? NaN : layersMs - lstmMs, softmaxMs, restMs: stepMs - layersMs - softmaxMs, layersMs },
    };
  });
  const tokens = segment.targets.length;
  const mm = await benchMatmuls(scale, hiddens, tokens);
  return { scale, steps, tokens, conditions: results, matmuls: mm.results, timings: { ...timings, ...mm.timings } };
}

function buildModel(opts: LmTrainOptions['model']): LanguageModel {
  return new LanguageModel({ ...opts, vocabSize: vocab, rng: new Rng(SEED) });
}

/** Times the cases interleaved and frees them; a failure is ours, so it stops the bench. */
async function timeAll(cases: Map<string, Case>, opts: TimeOptions): Promise<Record<string, Timing>> {
  const entries: Entry[] = [...cases.values()].map((c) => ({ lib: backend, c }));
  const timed = await timeCases(entries, opts);
  const out: Record<string, Timing> = {};
  [...cases.keys()].forEach((key, i) => {
    const t = timed[i];
    if (t instanceof Error) throw new Error(`bench:lm: ${key} failed: ${t.message}`);
    out[key] = t;
  });
  for (const c of cases.values()) c.dispose();
  return out;
}

type Segment = ReturnType<typeof getBatch>;

/** trainLm's step on successive segments of the training text, the state carried from one to the next. */
function stepCase(c: Condition, train: Batched): Case {
  const opt = new SGD(c.model.parameters(), { lr: c.opts.lr, weightDecay: c.opts.weightDecay });
  // The basic preset leaves α's gradient undivided (alphaGradDivisor 1), so no α list is needed.
  const ctx = { model: c.model, opts: c.opts, opt, alphas: [], rng: new Rng(SEED) };
  const { bptt } = c.opts;
  let state = c.model.initialState(train.batch);
  let position = 0;
  return {
    run: () => {
      const r = trainStep(ctx, getBatch(train, position, bptt), state);
      position = (position + bptt) % (train.length - 1 - bptt);
      disposeState(state);
      state = r.state;
      r.ce.dispose();
    },
    dispose: () => {
      disposeState(state);
      opt.zeroGrad();
    },
  };
}

/**
 * The embedding and the recurrent layers, forward + backward: LanguageModel.forward up to the
 * decoder (the basic preset has no dropout), backpropagated from the sum of the output. The state
 * is one carried from a first segment, as in training (a plastic layer's pending update included).
 */
function layersCase(model: LanguageModel, segment: Segment): Case {
  const steps = segment.seqLen;
  let state: LmState = [];
  noGrad(() =>
    tidy(() => {
      state = carryState(model.forward(segment.inputs, steps, model.initialState(segment.inputs.length / steps), null).state);
    }),
  );
  return {
    run: () => {
      model.zeroGrad();
      tidy(() => {
        let x = embedding(model.encoder.weight, segment.inputs);
        for (const [l, layer] of model.layers.entries()) x = layer.forward(x, steps, state[l], true).output;
        sum(x).backward();
      });
    },
    dispose: () => {
      model.zeroGrad();
      disposeState(state);
    },
  };
}

/**
 * The model's decoder and the basic preset's loss (Σ over time of the mean CE), forward + backward,
 * from an input X that requires a gradient: gradients for X, W and b.
 */
function softmaxCase(model: LanguageModel, segment: Segment, rng: Rng): Case {
  const width = model.layers[model.layers.length - 1].hiddenSize;
  const x = uniform([segment.targets.length, width], -1, 1, rng, { requiresGrad: true });
  const clearGrads = () => {
    model.zeroGrad();
    x.grad?.dispose();
    x.grad = null;
  };
  return {
    run: () => {
      clearGrads();
      tidy(() => scale(crossEntropy(model.decode(x), segment.targets), segment.seqLen).backward());
    },
    dispose: () => {
      clearGrads();
      x.dispose();
    },
  };
}

// ---------------------------------------------------------------- matmuls

interface MatmulSpec {
  name: string;
  hidden: number | null;
  /** Stored shapes of the operands. */
  a: [number, number];
  b: [number, number];
  opts: MatmulOptions;
}

/** [m, k, n] of a spec's product. */
function mkn({ a, b, opts }: MatmulSpec): [number, number, number] {
  const [m, k] = opts.transA ? [a[1], a[0]] : a;
  return [m, k, opts.transB ? b[0] : b[1]];
}

/**
 * The WGSL kernel WebGPUBackend.matmul picks (mirrors its rule): matmul_vec4 needs k and n, and m
 * when A is transposed, to be multiples of 4; otherwise a product of at least PAD_MIN_MACS runs it
 * on zero-padded copies, and a smaller one the scalar kernel.
 */
function kernelOf(s: MatmulSpec): Kernel {
  const [m, k, n] = mkn(s);
  if (k % 4 === 0 && n % 4 === 0 && (!s.opts.transA || m % 4 === 0)) return 'vec4';
  return m * k * n >= PAD_MIN_MACS ? 'padded vec4' : 'scalar';
}

/** The decoder's matmuls at input width `hidden` over `tokens` rows: X [t, h], W [V, h], dY [t, V]. */
function decoderSpecs(hidden: number, tokens: number): MatmulSpec[] {
  return [
    { name: 'forward X·Wᵀ', hidden, a: [tokens, hidden], b: [vocab, hidden], opts: { transB: true } },
    { name: 'backward dX = dY·W', hidden, a: [tokens, vocab], b: [vocab, hidden], opts: {} },
    { name: 'backward dW = dYᵀ·X', hidden, a: [tokens, vocab], b: [tokens, hidden], opts: { transA: true } },
  ];
}

/** An untransposed matmul of the same m×k×n: `s` itself when it transposes nothing. */
function plainOf(s: MatmulSpec): MatmulSpec {
  if (!s.opts.transA && !s.opts.transB) return s;
  const [m, k, n] = mkn(s);
  return { name: `plain ${m}×${k}×${n}`, hidden: s.hidden, a: [m, k], b: [k, n], opts: {} };
}

function matmulCase(s: MatmulSpec): Case {
  const a = tensor(randomData(s.a[0] * s.a[1], 1), s.a);
  const b = tensor(randomData(s.b[0] * s.b[1], 2), s.b);
  return { run: () => matmul(a, b, s.opts).dispose(), dispose: () => dispose([a, b]) };
}

function flopsOf(s: MatmulSpec): number {
  return 2 * mkn(s).reduce((x, y) => x * y, 1);
}

function gflopsOf(s: MatmulSpec, ms: number): number {
  return flopsOf(s) / (ms * 1e6);
}

async function benchMatmuls(scale: Scale, hiddens: number[], tokens: number): Promise<{ results: MatmulResult[]; timings: Record<string, Timing> }> {
  const square = opsBest?.n ?? FALLBACK_SQUARE;
  const squareSpec: MatmulSpec = { name: `plain square n=${square} (bench:ops's best size)`, hidden: null, a: [square, square], b: [square, square], opts: {} };
  const decoder = hiddens.flatMap((n) => decoderSpecs(n, tokens));
  const specs = [...new Set([...decoder, ...decoder.map(plainOf), squareSpec])];
  const key = (s: MatmulSpec) => `matmul ${s.hidden ?? ''} ${s.name}`;
  const cases = new Map(specs.map((s) => [key(s), matmulCase(s)]));
  console.log(`# ${scale}: timing ${cases.size} matmuls (${elapsed()} so far, load ${loadavg()[0].toFixed(2)})`);
  const timings = await timeAll(cases, { reps: MATMUL_REPS, minBatchMs: 100, idle: !args.spin });

  const ms = (s: MatmulSpec) => timings[key(s)].msPerOp;
  const row = (s: MatmulSpec, plainGflops: number): MatmulResult => ({
    hidden: s.hidden, name: s.name, shape: mkn(s).join('×'), kernel: kernelOf(s), ms: ms(s), gflops: gflopsOf(s, ms(s)), plainGflops,
  });
  const results = hiddens.flatMap((n) => {
    const own = decoderSpecs(n, tokens);
    const rows = own.map((s) => row(s, gflopsOf(s, ms(plainOf(s)))));
    // Forward + backward: the three products' FLOPs (6·t·h·V) over their summed time.
    const total = (f: (s: MatmulSpec) => number) => own.reduce((acc, s) => acc + f(s), 0);
    const flops = total(flopsOf);
    const fwdBwdMs = total(ms);
    rows.push({
      hidden: n, name: 'forward + backward (3 matmuls)', shape: `6·${tokens}·${n}·${vocab} FLOP`, kernel: rows.every((r) => r.kernel === rows[0].kernel) ? rows[0].kernel : 'mixed',
      ms: fwdBwdMs, gflops: flops / (fwdBwdMs * 1e6), plainGflops: flops / (total((s) => ms(plainOf(s))) * 1e6),
    });
    return rows;
  });
  results.push(row(squareSpec, gflopsOf(squareSpec, ms(squareSpec))));
  return { results, timings };
}

// ---------------------------------------------------------------- helpers

interface OpsBest {
  gflops: number;
  n: number;
  date: string;
  loadavg1: number;
}

/** Our best WebGPU matmul GFLOP/s in bench:ops's last run (the "ours-webgpu" column of its matmul table). */
function readOpsBest(): OpsBest | null {
  if (!existsSync(OPS_JSON)) return null;
  const ops = JSON.parse(readFileSync(OPS_JSON, 'utf8')) as { machine: MachineInfo; tables: Table[] };
  const table = ops.tables.find((t) => t.title.startsWith('matmul'));
  const col = table?.header.indexOf('ours-webgpu') ?? -1;
  if (!table || col < 0) return null;
  let best: OpsBest | null = null;
  for (const r of table.rows) {
    const gflops = r[col];
    if (typeof gflops === 'number' && (!best || gflops > best.gflops)) best = { gflops, n: Number(r[0]), date: ops.machine.date, loadavg1: ops.machine.loadavg1 };
  }
  return best;
}

function noAdapter(): never {
  throw new Error('bench:lm: no WebGPU adapter (scripts/setup.sh installs Mesa lavapipe); not falling back to the CPU');
}

function elapsed(): string {
  return `${((performance.now() - started) / 1000).toFixed(0)} s`;
}
