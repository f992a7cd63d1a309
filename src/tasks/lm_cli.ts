/**
 * `train ptb`: the command line of the Penn Treebank language-model task (Table 1), called by the
 * main CLI with the arguments after `train ptb`. Writes <out>/log.jsonl (one JSON record per
 * line), <out>/checkpoint.safetensors (atomic, at every epoch end, every --checkpoint-every steps
 * and on Ctrl-C) and <out>/result.json. As the RL commands: progress (tokens/s, running
 * perplexity) on stderr, results on stdout; exit 0 done, 1 error, 2 usage error, 130 interrupted.
 */
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { INTERRUPTED, withInterrupt } from '../cli/interrupt.js';
import { destroyDevice, initDevice } from '../index.js';
import { LM_CELLS, type LmCell } from '../models/lm.js';
import { LM_PRESETS, LM_SCALES, lmPreset, type LmPresetName, type LmScale } from './lm_presets.js';
import type { LmLogRecord, LmTrainOptions } from './lm_options.js';
import { trainLm } from './lm_train.js';
import { DATA_ENV, loadPtb } from './ptb.js';

export interface CliIO {
  out(line: string): void;
  err(line: string): void;
}

const consoleIO: CliIO = { out: (l) => console.log(l), err: (l) => console.error(l) };

export const TRAIN_PTB_HELP = `usage: train ptb [options]

Trains one Table 1 language model on Penn Treebank and reports validation and test perplexity.

  --preset basic|awd        basic: 2-layer Zaremba-style model; awd: the large AWD-LSTM (default basic)
  --cell C                  lstm | hebbian | neuromodulated | retroactive (default lstm)
  --scale paper|quick|smoke paper: the published setting; quick: small, ~minutes; smoke: seconds (default paper)
  --seed N                  (default 1)
  --data DIR                folder with ptb.{train,valid,test}.txt, or holding ptb/ (default $${DATA_ENV})
  --no-verify               skip the SHA-256 check of the data files
  --out DIR                 run folder (default runs/ptb-<preset>-<cell>-<scale>-s<seed>)
  --resume                  continue from <out>/checkpoint.safetensors (same options required)
  --backend auto|webgpu|cpu (default auto); --precision f32|f64 for the CPU backend (default f32)
  --log-every N             steps between progress lines (default 100)
  --checkpoint-every N      also checkpoint every N steps (default: epoch ends only)
  --quiet                   no progress lines (the log file is still written)
Overrides of the preset: --hidden N (no parameter matching), --epochs N, --lr X, --lr-decay X,
  --decay-start N, --weight-decay X, --clip X, --dropout X (input, hidden and output),
  --batch-size N, --bptt N, --alpha neuron|full, --epoch-tokens N, --eval-tokens N
  --fanout neuron|connection  η per postsynaptic neuron (the authors' code, default) or per connection
                            (the paper's text; parameter-matched; runs the reference composition of
                            primitive ops, 4-7x slower than the fused kernels in bench:kernels)
`;

const OPTIONS = {
  preset: { type: 'string' }, cell: { type: 'string' }, scale: { type: 'string' }, seed: { type: 'string' },
  data: { type: 'string' }, 'no-verify': { type: 'boolean' }, out: { type: 'string' }, resume: { type: 'boolean' },
  backend: { type: 'string' }, precision: { type: 'string' }, 'log-every': { type: 'string' },
  'checkpoint-every': { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  hidden: { type: 'string' }, epochs: { type: 'string' }, lr: { type: 'string' }, 'lr-decay': { type: 'string' },
  'decay-start': { type: 'string' }, 'weight-decay': { type: 'string' }, clip: { type: 'string' }, dropout: { type: 'string' },
  'batch-size': { type: 'string' }, bptt: { type: 'string' }, alpha: { type: 'string' }, 'epoch-tokens': { type: 'string' },
  'eval-tokens': { type: 'string' }, fanout: { type: 'string' },
} as const;

class UsageError extends Error {}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got '${value}'`);
  return value as T;
}

function num(name: string, value: string | undefined, integer = false): number | undefined {
  if (value === undefined) return undefined;
  const x = Number(value);
  if (!Number.isFinite(x) || (integer && !Number.isInteger(x))) throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'}, got '${value}'`);
  return x;
}

/** The command line, checked before any data is read. */
interface Request {
  preset: LmPresetName;
  cell: LmCell;
  scale: LmScale;
  seed: number;
  backend: 'auto' | 'webgpu' | 'cpu';
  precision: 'f32' | 'f64';
  logEvery: number;
  checkpointEvery: number | undefined;
  hidden: number | undefined;
  alpha: 'neuron' | 'full' | undefined;
  fanout: 'neuron' | 'connection';
  dropout: number | undefined;
  overrides: Partial<LmTrainOptions>;
}

function readRequest(v: ReturnType<typeof parse>['values']): Request {
  const overrides: Partial<LmTrainOptions> = {
    epochs: num('epochs', v.epochs, true),
    lr: num('lr', v.lr),
    lrDecay: num('lr-decay', v['lr-decay']),
    decayStart: num('decay-start', v['decay-start'], true),
    weightDecay: num('weight-decay', v['weight-decay']),
    clip: num('clip', v.clip),
    batchSize: num('batch-size', v['batch-size'], true),
    bptt: num('bptt', v.bptt, true),
    epochTokens: num('epoch-tokens', v['epoch-tokens'], true),
    evalTokens: num('eval-tokens', v['eval-tokens'], true),
  };
  return {
    preset: oneOf('preset', v.preset, LM_PRESETS, 'basic'),
    cell: oneOf('cell', v.cell, LM_CELLS, 'lstm'),
    scale: oneOf('scale', v.scale, LM_SCALES, 'paper'),
    seed: num('seed', v.seed, true) ?? 1,
    backend: oneOf('backend', v.backend, ['auto', 'webgpu', 'cpu'] as const, 'auto'),
    precision: oneOf('precision', v.precision, ['f32', 'f64'] as const, 'f32'),
    logEvery: num('log-every', v['log-every'], true) ?? 100,
    checkpointEvery: num('checkpoint-every', v['checkpoint-every'], true),
    hidden: num('hidden', v.hidden, true),
    alpha: v.alpha === undefined ? undefined : oneOf('alpha', v.alpha, ['neuron', 'full'] as const, 'neuron'),
    fanout: oneOf('fanout', v.fanout, ['neuron', 'connection'] as const, 'neuron'),
    dropout: num('dropout', v.dropout),
    overrides: Object.fromEntries(Object.entries(overrides).filter(([, x]) => x !== undefined)),
  };
}

/** The preset with the command line's overrides applied. */
function buildOptions(r: Request, vocabSize: number): LmTrainOptions {
  const o = { ...lmPreset({ preset: r.preset, cell: r.cell, scale: r.scale, vocabSize, seed: r.seed, fanout: r.fanout }), ...r.overrides };
  if (r.hidden !== undefined) {
    o.model.hiddenSize = r.hidden;
    if (r.preset === 'awd') o.alphaGradDivisor = r.hidden;
  }
  if (r.alpha !== undefined) o.model.alpha = r.alpha;
  if (r.dropout !== undefined) o.model.dropout = { ...o.model.dropout, input: r.dropout, hidden: r.dropout, output: r.dropout };
  return o;
}

function parse(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: false, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Progress and epoch lines (stderr), or the result line (stdout, `test`). */
function formatRecord(r: LmLogRecord, tag: string): string | null {
  switch (r.type) {
    case 'start':
      return `[${tag}] ${r.params.toLocaleString('en-US')} parameters, hidden ${r.hiddenSize}, vocabulary ${r.vocabSize}, ${r.trainTokens.toLocaleString('en-US')} training tokens, on ${r.backend}`;
    case 'resume':
      return `[${tag}] resumed at epoch ${r.epoch}, step ${r.step}`;
    case 'progress':
      return `[${tag}] epoch ${r.epoch} ${(100 * r.epochProgress).toFixed(1)}% | step ${r.step} | ${r.tokensPerSecond.toFixed(0)} tok/s | ppl ${r.ppl.toFixed(2)} | lr ${r.lr.toPrecision(3)}`;
    case 'epoch':
      return `[${tag}] epoch ${r.epoch} done in ${r.seconds.toFixed(0)} s: train ppl ${r.trainPpl.toFixed(2)}, valid ppl ${r.validPpl.toFixed(2)}${r.averaged ? ' (averaged)' : ''}`;
    case 'asgd':
      return `[${tag}] switching to averaged SGD after epoch ${r.epoch}`;
    case 'checkpoint':
      return null;
    case 'test':
      return `[${tag}] test ppl ${r.testPpl.toFixed(2)} (valid ${r.validPpl.toFixed(2)}, epoch ${r.epoch}; ${r.tokensPerSecond.toFixed(0)} training tok/s)`;
  }
}

/** Runs `train ptb` with `argv` (the arguments after it); returns the exit code. */
export async function trainPtbCommand(argv: readonly string[], io: CliIO = consoleIO): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  let req: Request;
  try {
    values = parse(argv).values;
    if (values.help) {
      io.out(TRAIN_PTB_HELP);
      return 0;
    }
    req = readRequest(values);
  } catch (e) {
    io.err(`train ptb: ${(e as Error).message}\n\n${TRAIN_PTB_HELP}`);
    return 2;
  }
  let device = false;
  try {
    const corpus = loadPtb({ dir: values.data, verify: !values['no-verify'] });
    const opts = buildOptions(req, corpus.vocab.size);
    const name = `${req.preset}-${req.cell}-${req.scale}-s${req.seed}`;
    const tag = `ptb ${name.replaceAll('-', ' ')}`;
    const out = values.out ?? join('runs', `ptb-${name}`);
    const checkpointPath = join(out, 'checkpoint.safetensors');
    if (values.resume && !existsSync(checkpointPath)) throw new Error(`--resume: ${checkpointPath} does not exist`);
    mkdirSync(out, { recursive: true });
    const backend = await initDevice({ backend: req.backend, precision: req.precision });
    device = true;
    const logPath = join(out, 'log.jsonl');
    const result = await withInterrupt('stopping after this step and saving a checkpoint', (signal) =>
      trainLm({ vocabSize: corpus.vocab.size, train: corpus.train, valid: corpus.valid, test: corpus.test }, opts, {
        log: (r) => {
          appendFileSync(logPath, JSON.stringify(r) + '\n');
          const line = formatRecord(r, tag);
          if (!line || (values.quiet && r.type === 'progress')) return;
          if (r.type === 'test') io.out(line);
          else io.err(line);
        },
        logEvery: req.logEvery,
        checkpointPath,
        checkpointEvery: req.checkpointEvery,
        resume: values.resume,
        backendName: backend.name === 'cpu' ? `cpu (${backend.precision})` : backend.name,
        signal,
      }),
      io.err,
    );
    writeFileSync(join(out, 'result.json'), JSON.stringify({ ...result, options: opts, standardCorpus: corpus.standard }, null, 2) + '\n');
    io.out(`log ${logPath}, checkpoint ${checkpointPath}, result ${join(out, 'result.json')}`);
    return 0;
  } catch (e) {
    const err = e as Error;
    if (err.name === 'AbortError') {
      io.out(`${err.message}; checkpoint saved. Continue with the same command and --resume`);
      return INTERRUPTED;
    }
    io.err(`train ptb: ${err.message}`);
    return 1;
  } finally {
    if (device) destroyDevice();
  }
}
