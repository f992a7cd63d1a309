/**
 * Training of the Table 1 language models (PAPER.md §2.3).
 *
 * Truncated BPTT over a batched token stream: the recurrent state (h, c, and the plastic layers'
 * Hebbian and eligibility traces with their pending update) is carried from one minibatch to the
 * next and detached at each segment (the code's repackage_hidden), and reset to zero at the start
 * of every epoch and every evaluation pass (PAPER.md §1.7). Plain SGD with a per-epoch decay,
 * L2, gradient-norm clipping; the AWD options add variable BPTT, AR/TAR, the α-gradient divisor,
 * averaged SGD and best-validation model selection.
 */
import {
  add, clipGradNorm, crossEntropy, detach, dispose, findNonFinite, keep, mean, noGrad, NonFiniteError, Rng, scale, SGD, slice, square,
  sub, tidy, type Tensor,
} from '../autograd/index.js';
import { LanguageModel, lmParameterCount, type LmState } from '../models/lm.js';
import { carryState, cloneTensor, disposeState, evaluateLm } from './lm_eval.js';
import { batchify, getBatch } from './lm_batch.js';
import { loadLmCheckpoint, saveLmCheckpoint, type LmProgress } from './lm_checkpoint.js';
import type { LmEpochRecord, LmLogRecord, LmResult, LmTrainOptions } from './lm_options.js';

export interface LmCorpus {
  vocabSize: number;
  train: Int32Array;
  valid: Int32Array;
  test: Int32Array;
}

export interface LmRunOptions {
  log?: (rec: LmLogRecord) => void;
  /** Steps between progress records (default 100). */
  logEvery?: number;
  /** Where checkpoints go: at every epoch end, and every `checkpointEvery` steps if set. */
  checkpointPath?: string | null;
  checkpointEvery?: number;
  /** Continue from checkpointPath (which must exist and have been written with the same options). */
  resume?: boolean;
  /** Shown in the start record. */
  backendName?: string;
  /**
   * Stops training after the current step: a checkpoint is written (when checkpointPath is set)
   * and trainLm rejects with an Error named 'AbortError'.
   */
  signal?: AbortSignal;
}

/** lr of 1-based epoch e. */
export function epochLr(o: LmTrainOptions, epoch: number): number {
  return o.lr * o.lrDecay ** Math.max(0, epoch - o.decayStart + 1);
}

/** AWD's sequence length draw (main.py), capped at bptt + 10 as PAPER.md §2.3(b) records. */
export function sampleSeqLen(bptt: number, rng: Rng): number {
  const base = rng.uniform() < 0.95 ? bptt : bptt / 2;
  return Math.min(Math.max(5, Math.floor(base + 5 * rng.normal())), bptt + 10);
}

/** Per-step losses stay on the device until a log point reads them all at once. */
class LossMeter {
  #pending: { ce: Tensor; tokens: number }[] = [];
  sum = 0;
  tokens = 0;

  push(ce: Tensor, tokens: number): void {
    this.#pending.push({ ce, tokens });
  }

  /** Reads the pending losses; returns Σ CE·tokens and tokens of this batch of reads. */
  async flush(): Promise<{ sum: number; tokens: number }> {
    let sum = 0;
    let tokens = 0;
    for (const p of this.#pending) {
      sum += (await p.ce.item()) * p.tokens;
      tokens += p.tokens;
      p.ce.dispose();
    }
    this.#pending = [];
    this.sum += sum;
    this.tokens += tokens;
    return { sum, tokens };
  }
}


function cloneParams(model: LanguageModel): Map<string, Tensor> {
  return new Map(model.namedParameters().map(([k, p]) => [k, cloneTensor(p)]));
}

function disposeMap(m: Map<string, Tensor> | null): void {
  if (m) dispose([...m.values()]);
}

/** Runs `fn` with the model's parameters temporarily replaced by `source` (ASGD averages, best). */
async function withParams<T>(model: LanguageModel, source: Map<string, Tensor> | null, fn: () => Promise<T>): Promise<T> {
  if (!source) return fn();
  const saved = cloneParams(model);
  model.loadStateDict(Object.fromEntries(source));
  try {
    return await fn();
  } finally {
    model.loadStateDict(Object.fromEntries(saved));
    disposeMap(saved);
  }
}

export interface StepContext {
  model: LanguageModel;
  opts: LmTrainOptions;
  opt: SGD;
  /** Per-neuron α parameters, whose gradient the AWD code divides by agdiv. */
  alphas: Tensor[];
  rng: Rng;
}

/** One truncated-BPTT step; returns the segment's mean CE (detached) and the carried state. */
export function trainStep(ctx: StepContext, b: ReturnType<typeof getBatch>, state: LmState): { ce: Tensor; state: LmState } {
  const { model, opts, opt } = ctx;
  let next: LmState = [];
  const ce = tidy(() => {
    const T = b.seqLen;
    const f = model.forward(b.inputs, T, state, ctx.rng);
    const ce = crossEntropy(f.logits, b.targets);
    let loss = opts.loss === 'sumOverTime' ? scale(ce, T) : ce;
    if (opts.ar > 0) loss = add(loss, scale(mean(square(f.dropped)), opts.ar));
    if (opts.tar > 0 && T > 1) {
      const B = b.inputs.length / T;
      const diff = sub(slice(f.raw, [B, 0], [-1, -1]), slice(f.raw, [0, 0], [(T - 1) * B, -1]));
      loss = add(loss, scale(mean(square(diff)), opts.tar));
    }
    opt.zeroGrad();
    loss.backward();
    next = carryState(f.state);
    return detach(ce);
  });
  noGrad(() => {
    if (opts.alphaGradDivisor !== 1) {
      for (const a of ctx.alphas) {
        if (!a.grad) continue;
        const g = keep(scale(a.grad, 1 / opts.alphaGradDivisor));
        a.grad.dispose();
        a.grad = g;
      }
    }
    clipGradNorm(model.parameters(), opts.clip).dispose();
  });
  opt.step();
  return { ce, state: next };
}

/** ASGD (t0 = 0, λ = 0): plain SGD steps, and avg ← avg + (p − avg)/k after the k-th (torch.optim.ASGD). */
function updateAverages(model: LanguageModel, avg: Map<string, Tensor>, k: number): void {
  noGrad(() =>
    tidy(() => {
      for (const [name, p] of model.namedParameters()) {
        const a = avg.get(name)!;
        const next = add(a, scale(sub(p, a), 1 / k));
        a.dispose();
        avg.set(name, keep(next));
      }
    }),
  );
}

function freshProgress(): LmProgress {
  return {
    epoch: 1, position: 0, step: 0, epochTokens: 0, epochLoss: 0, epochSeconds: 0, trainTokens: 0, trainSeconds: 0,
    asgdSteps: null, bestValid: null, bestEpoch: 0, history: [],
  };
}

/**
 * Trains one model on `corpus` and returns its validation and test perplexity. The model is
 * built from `opts` and the seed, and disposed at the end.
 */
export async function trainLm(corpus: LmCorpus, opts: LmTrainOptions, run: LmRunOptions = {}): Promise<LmResult> {
  if (!(Number.isInteger(opts.epochs) && opts.epochs >= 1)) throw new RangeError(`trainLm: epochs must be a positive integer, got ${opts.epochs}`);
  const log = run.log ?? (() => {});
  const logEvery = run.logEvery ?? 100;
  const rng = new Rng(opts.seed);
  const model = new LanguageModel({ ...opts.model, vocabSize: corpus.vocabSize, rng });
  const train = batchify(corpus.train, opts.batchSize);
  const valid = batchify(corpus.valid, opts.evalBatchSize);
  const test = batchify(corpus.test, opts.testBatchSize);
  let p = freshProgress();
  let avg: Map<string, Tensor> | null = null;
  let best: Map<string, Tensor> | null = null;
  let state: LmState | null = null;
  const opt = new SGD(model.parameters(), { lr: opts.lr, weightDecay: opts.weightDecay });
  const params = lmParameterCount({ ...opts.model, vocabSize: corpus.vocabSize });
  try {
    log({
      type: 'start', params, hiddenSize: opts.model.hiddenSize, cell: opts.model.cell, vocabSize: corpus.vocabSize,
      trainTokens: corpus.train.length, backend: run.backendName ?? model.parameters()[0].backend.name, options: opts,
    });
    if (run.resume) {
      if (!run.checkpointPath) throw new Error('resume: no checkpoint path given');
      const snap = await loadLmCheckpoint(run.checkpointPath, model, opts);
      ({ progress: p, avg, best, state } = snap);
      rng.setState(snap.rng);
      log({ type: 'resume', epoch: p.epoch, step: p.step });
    }
    const save = async () => {
      if (!run.checkpointPath) return;
      await saveLmCheckpoint(run.checkpointPath, model, { options: opts, progress: p, rng: rng.getState(), avg, best, state });
      log({ type: 'checkpoint', path: run.checkpointPath, epoch: p.epoch, step: p.step, midEpoch: state !== null });
    };
    const ctx: StepContext = { model, opts, opt, rng, alphas: model.namedParameters().filter(([k, t]) => k.endsWith('.alpha') && t.shape[1] === 1).map(([, t]) => t) };
    const meter = new LossMeter();
    const epochLimit = opts.epochTokens ?? Infinity;
    const epochSize = Math.min(epochLimit, (train.length - 1) * train.batch);

    while (p.epoch <= opts.epochs) {
      const lr = epochLr(opts, p.epoch);
      state ??= model.initialState(train.batch);
      // The progress window: losses read so far, their tokens, and training seconds.
      const w = { sum: 0, tokens: 0, seconds: 0 };
      let since = performance.now();
      const flush = async () => {
        const r = await meter.flush();
        const seconds = (performance.now() - since) / 1000;
        if (!Number.isFinite(r.sum)) {
          await findNonFinite(model.namedParameters(), { step: p.step });
          throw new NonFiniteError(`training loss is ${r.sum / r.tokens} at epoch ${p.epoch}, step ${p.step}`);
        }
        p.epochLoss += r.sum;
        p.epochSeconds += seconds;
        p.trainSeconds += seconds;
        w.sum += r.sum;
        w.tokens += r.tokens;
        w.seconds += seconds;
      };
      while (p.position < train.length - 1 && p.epochTokens < epochLimit) {
        const b = getBatch(train, p.position, opts.variableBptt ? sampleSeqLen(opts.bptt, rng) : opts.bptt);
        opt.options.lr = lr * (opts.variableBptt ? b.seqLen / opts.bptt : 1);
        const r = trainStep(ctx, b, state);
        disposeState(state);
        state = r.state;
        if (avg) updateAverages(model, avg, ++p.asgdSteps!);
        const tokens = b.targets.length;
        meter.push(r.ce, tokens);
        p.position += b.seqLen;
        p.step++;
        p.epochTokens += tokens;
        p.trainTokens += tokens;
        if (p.step % logEvery === 0) {
          await flush();
          const ppl = Math.exp(w.sum / w.tokens);
          log({ type: 'progress', epoch: p.epoch, step: p.step, epochProgress: p.epochTokens / epochSize, tokensPerSecond: w.tokens / w.seconds, ppl, lr: opt.options.lr });
          Object.assign(w, { sum: 0, tokens: 0, seconds: 0 });
          since = performance.now();
        }
        if (run.signal?.aborted) {
          await flush();
          await save();
          throw Object.assign(new Error(`interrupted at epoch ${p.epoch}, step ${p.step}`), { name: 'AbortError' });
        }
        if (run.checkpointEvery && p.step % run.checkpointEvery === 0) {
          await flush();
          await save();
          since = performance.now();
        }
      }
      await flush();
      disposeState(state);
      state = null;
      // Whole epochs start at the beginning; capped ones continue where this one stopped.
      if (opts.epochTokens === null || p.position >= train.length - 1) p.position = 0;

      // During ASGD the averaged parameters are the ones validated, kept and tested (as AWD).
      const v = await withParams(model, avg, () => evaluateLm(model, valid, opts.bptt, opts.evalTokens));
      const rec: LmEpochRecord = {
        epoch: p.epoch, lr, trainPpl: Math.exp(p.epochLoss / p.epochTokens), validPpl: v.ppl, tokens: p.epochTokens, seconds: p.epochSeconds, averaged: avg !== null,
      };
      p.history.push(rec);
      log({ type: 'epoch', ...rec });
      if (opts.selectBest && (p.bestValid === null || v.ppl < p.bestValid)) {
        disposeMap(best);
        best = avg ? new Map([...avg].map(([k, t]) => [k, cloneTensor(t)])) : cloneParams(model);
        [p.bestValid, p.bestEpoch] = [v.ppl, p.epoch];
      }
      if (opts.asgdEpoch === p.epoch && !avg) {
        avg = cloneParams(model);
        p.asgdSteps = 0;
        log({ type: 'asgd', epoch: p.epoch });
      }
      Object.assign(p, { epoch: p.epoch + 1, epochTokens: 0, epochLoss: 0, epochSeconds: 0 });
      await save();
    }

    const last = p.history[p.history.length - 1];
    const tested = opts.selectBest && best ? { params: best, epoch: p.bestEpoch, valid: p.bestValid! } : { params: avg, epoch: last.epoch, valid: last.validPpl };
    const t = await withParams(model, tested.params, () => evaluateLm(model, test, opts.bptt, opts.evalTokens));
    const tokensPerSecond = p.trainTokens / p.trainSeconds;
    log({ type: 'test', testPpl: t.ppl, validPpl: tested.valid, epoch: tested.epoch, tokensPerSecond });
    return { params, validPpl: tested.valid, testPpl: t.ppl, testedEpoch: tested.epoch, history: p.history, tokensPerSecond };
  } finally {
    disposeState(state);
    disposeMap(avg);
    disposeMap(best);
    model.dispose();
  }
}
