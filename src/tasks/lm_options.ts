/**
 * Options of a language-model training run, and the log records it emits (one JSON object per
 * line in the CLI's log file).
 */
import type { LmModelOptions } from '../models/lm.js';

export interface LmTrainOptions {
  /** The model, less what the corpus and the seed decide. */
  model: Omit<LmModelOptions, 'vocabSize' | 'rng'>;
  /** Seeds parameter init, dropout masks and sequence lengths. */
  seed: number;
  batchSize: number;
  evalBatchSize: number;
  testBatchSize: number;
  /** Truncated-BPTT length. */
  bptt: number;
  /**
   * AWD's variable length: bptt w.p. 0.95, else bptt/2, then N(·, 5) rounded down, at least 5 and
   * at most bptt + 10; the learning rate is scaled by seqLen/bptt for that step (PAPER.md §2.3(b)).
   */
  variableBptt: boolean;
  epochs: number;
  lr: number;
  /** lr of 1-based epoch e: lr·lrDecay^max(0, e − decayStart + 1) (Zaremba; 1 = constant). */
  lrDecay: number;
  decayStart: number;
  /** L2 penalty, added to every gradient as weightDecay·p (torch's SGD weight_decay). */
  weightDecay: number;
  /** Gradient-norm clip. */
  clip: number;
  /** 'sumOverTime': Σ_t mean_b CE (Zaremba's PTB code, where lr 1 was tuned); 'mean': mean CE (AWD). */
  loss: 'mean' | 'sumOverTime';
  /** Activation regularisation (AWD alpha): ar·mean(dropped last-layer output²). */
  ar: number;
  /** Temporal activation regularisation (AWD beta): tar·mean((h_t − h_{t−1})²) on the last layer. */
  tar: number;
  /** Per-neuron α's gradient is divided by this before clipping (AWD agdiv; 1: off). */
  alphaGradDivisor: number;
  /** Switch to averaged SGD after this epoch (AWD forces it after asgdtime + 1 = 126); null: never. */
  asgdEpoch: number | null;
  /** Report test perplexity of the best-validation parameters (AWD) rather than the last ones. */
  selectBest: boolean;
  /** Cap each epoch at this many training tokens, the next one continuing where it stopped; null: whole epochs. */
  epochTokens: number | null;
  /** Evaluate on the first this-many tokens of valid and test only; null: all of them. */
  evalTokens: number | null;
}

export interface LmEpochRecord {
  epoch: number;
  lr: number;
  trainPpl: number;
  validPpl: number;
  /** Training tokens this epoch. */
  tokens: number;
  seconds: number;
  /** Validated with averaged (ASGD) parameters. */
  averaged: boolean;
}

export type LmLogRecord =
  | { type: 'start'; params: number; hiddenSize: number; cell: string; vocabSize: number; trainTokens: number; backend: string; options: LmTrainOptions }
  | { type: 'resume'; epoch: number; step: number }
  | { type: 'progress'; epoch: number; step: number; epochProgress: number; tokensPerSecond: number; ppl: number; lr: number }
  | ({ type: 'epoch' } & LmEpochRecord)
  | { type: 'asgd'; epoch: number }
  | { type: 'checkpoint'; path: string; epoch: number; step: number; midEpoch: boolean }
  | { type: 'test'; testPpl: number; validPpl: number; epoch: number; tokensPerSecond: number };

export interface LmResult {
  params: number;
  validPpl: number;
  testPpl: number;
  /** The epoch whose parameters were tested. */
  testedEpoch: number;
  history: LmEpochRecord[];
  /** Training tokens per second, over the whole run (evaluation excluded). */
  tokensPerSecond: number;
}
