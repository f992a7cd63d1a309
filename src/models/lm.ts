/**
 * The word-level language model of Table 1 (PAPER.md §2.3): embedding → stacked LSTM layers
 * (baseline or plastic) → softmax over the vocabulary, with the dropout of either regime:
 *
 * - basic (Zaremba et al. 2014): untied, dropout on the non-recurrent connections, a fresh mask
 *   per element and time step; every weight initialised U(±initScale);
 * - large (AWD-LSTM, Merity et al.): decoder tied to the embedding (the last layer then has the
 *   embedding's width), locked (variational) masks shared over the time steps of a segment for
 *   the embedding output (dropouti), between layers (dropouth) and before the decoder (dropout),
 *   and embedding dropout (dropoute) that drops whole words; PyTorch default init, embedding
 *   U(±0.1), decoder bias 0 (PAPER.md §1.7).
 *
 * `lmParameterCount` and `matchHiddenSize` implement the paper's protocol: every condition has
 * the trainable-parameter count of the baseline, α and modulation parameters included.
 */
import {
  assign, dropout, embedding, linear, Module, mul, ones, reshape, tensor, uniform, zeros,
  type Rng, type Tensor,
} from '../autograd/index.js';
import { LSTMLayer, type LayerState, type RecurrentLayer } from './lstm.js';
import { PlasticLSTMLayer, type LstmPlasticity, type PlasticLSTMOptions } from './plastic_lstm.js';

/** 'lstm' is the baseline; the others are the plastic conditions of Table 1. */
export type LmCell = 'lstm' | LstmPlasticity;
export const LM_CELLS: readonly LmCell[] = ['lstm', 'hebbian', 'neuromodulated', 'retroactive'];

/** Dropout probabilities, applied only while training. */
export interface LmDropout {
  /** On the embedding output (Zaremba's input dropout; AWD dropouti). */
  input: number;
  /** Between LSTM layers (AWD dropouth). */
  hidden: number;
  /** Before the decoder (AWD dropout). */
  output: number;
  /** Drops whole words from the embedding matrix (AWD dropoute). */
  embedding: number;
  /** One mask per sequence and unit for the whole segment (AWD's LockedDropout) instead of one per step. */
  locked: boolean;
}

/** What fixes the parameter count. */
export interface LmSize {
  vocabSize: number;
  embeddingSize: number;
  /** Width of every layer, except the last one of a tied model (which has embeddingSize). */
  hiddenSize: number;
  numLayers: number;
  /** Decoder weight shared with the embedding (AWD). */
  tied: boolean;
  cell: LmCell;
  /** Plastic layers: 'neuron' (default) or 'full' α. */
  alpha?: 'neuron' | 'full';
  /** Plastic layers: η per postsynaptic neuron ('neuron', the code, default) or per connection (the paper's text). */
  fanout?: 'neuron' | 'connection';
}

export interface LmModelOptions extends LmSize {
  /** Every weight and bias ~ U(±initScale) (Zaremba); unset: PyTorch/AWD defaults (see above). */
  initScale?: number;
  /** Options of the plastic layers (clip, initial η, trace checkpointing, reference kernel). */
  plastic?: Partial<Pick<PlasticLSTMOptions, 'clipValue' | 'alphaInit' | 'etaInit' | 'etaetInit' | 'checkpointEvery' | 'kernel'>>;
  dropout?: Partial<LmDropout>;
  rng: Rng;
}

export type LmState = LayerState[];

export interface LmForward {
  /** [T·B, vocabSize]. */
  logits: Tensor;
  state: LmState;
  /** The last layer's output before dropout (AWD's TAR term) and after it (AR term), [T·B, N]. */
  raw: Tensor;
  dropped: Tensor;
}

/** (input, hidden) width of each layer. */
export function layerSizes(s: LmSize): { input: number; hidden: number }[] {
  const out: { input: number; hidden: number }[] = [];
  for (let l = 0; l < s.numLayers; l++) {
    const hidden = s.tied && l === s.numLayers - 1 ? s.embeddingSize : s.hiddenSize;
    out.push({ input: l === 0 ? s.embeddingSize : out[l - 1].hidden, hidden });
  }
  return out;
}

/**
 * Trainable parameters, as the layers register them: baseline layer 4N(in + N + 2) (the
 * authors' MYLSTM); plastic layer 4N(in + N) + 7N (gate biases of W_x and W_h, cell bias) + |α|,
 * plus η (1) or the modulator (N + 1) and fan-out (2N), plus η_et (1); per connection, η is N²
 * and the fan-out 2N². Reproduces the AWD counts of PAPER.md §2.3(b): 24,221,600 / 24,198,893 /
 * 24,190,799.
 */
export function lmParameterCount(s: LmSize): number {
  let count = s.vocabSize * s.embeddingSize + s.vocabSize; // embedding, decoder bias
  const sizes = layerSizes(s);
  if (!s.tied) count += s.vocabSize * sizes[sizes.length - 1].hidden;
  for (const { input, hidden: n } of sizes) {
    if (s.cell === 'lstm') {
      count += 4 * n * (input + n + 2);
      continue;
    }
    count += 4 * n * (input + n) + 7 * n + (s.alpha === 'full' ? n * n : n);
    const perConnection = s.fanout === 'connection';
    if (s.cell === 'hebbian') count += perConnection ? n * n : 1; // η
    else count += n + 1 + 2 * (perConnection ? n * n : n); // modulator, fan-out
    if (s.cell === 'retroactive') count += 1;
  }
  return count;
}

/** The largest hidden size whose model has at most `target` parameters (the paper's matching protocol). */
export function matchHiddenSize(s: Omit<LmSize, 'hiddenSize'>, target: number): number {
  if (s.tied && s.numLayers === 1) throw new RangeError('matchHiddenSize: a tied one-layer model has no free hidden size');
  const count = (hiddenSize: number) => lmParameterCount({ ...s, hiddenSize });
  if (count(1) > target) throw new RangeError(`matchHiddenSize: even hidden size 1 has ${count(1)} parameters, more than ${target}`);
  let lo = 1;
  let hi = 2;
  while (count(hi) <= target) [lo, hi] = [hi, hi * 2];
  // Invariant: count(lo) <= target < count(hi).
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (count(mid) <= target) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** Container that names its children 0, 1, … (torch.nn.ModuleList). */
class LayerList extends Module {
  constructor(readonly items: RecurrentLayer[]) {
    super();
    items.forEach((m, i) => this.registerModule(String(i), m));
  }
}

class Embedding extends Module {
  readonly weight: Tensor;
  constructor(vocab: number, dim: number, rng: Rng) {
    super();
    this.weight = this.registerParameter('weight', uniform([vocab, dim], -0.1, 0.1, rng));
  }
}

class Decoder extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor;
  constructor(vocab: number, dim: number, tied: boolean, rng: Rng) {
    super();
    this.weight = tied ? null : this.registerParameter('weight', uniform([vocab, dim], -0.1, 0.1, rng));
    this.bias = this.registerParameter('bias', zeros([vocab]));
  }
}

/** Parameters that keep their own initialisation under initScale. */
const OWN_INIT = new Set(['alpha', 'eta', 'etaet']);

export class LanguageModel extends Module {
  readonly encoder: Embedding;
  readonly rnns: LayerList;
  readonly decoder: Decoder;
  readonly dropout: LmDropout;

  constructor(readonly opts: LmModelOptions) {
    super();
    const { rng } = opts;
    this.dropout = { input: 0, hidden: 0, output: 0, embedding: 0, locked: false, ...opts.dropout };
    this.encoder = this.registerModule('encoder', new Embedding(opts.vocabSize, opts.embeddingSize, rng));
    const layers = layerSizes(opts).map(({ input, hidden }): RecurrentLayer =>
      opts.cell === 'lstm'
        ? new LSTMLayer(input, hidden, rng)
        : new PlasticLSTMLayer({ inputSize: input, hiddenSize: hidden, plasticity: opts.cell, alpha: opts.alpha, fanout: opts.fanout, rng, ...opts.plastic }),
    );
    this.rnns = this.registerModule('rnns', new LayerList(layers));
    this.decoder = this.registerModule('decoder', new Decoder(opts.vocabSize, layers[layers.length - 1].hiddenSize, opts.tied, rng));
    if (opts.initScale !== undefined) {
      const s = opts.initScale;
      for (const [name, p] of this.namedParameters()) {
        if (OWN_INIT.has(name.slice(name.lastIndexOf('.') + 1))) continue;
        const u = uniform(p.shape, -s, s, rng);
        assign(p, u);
        u.dispose();
      }
    }
  }

  get layers(): readonly RecurrentLayer[] {
    return this.rnns.items;
  }

  initialState(batch: number): LmState {
    return this.layers.map((l) => l.initialState(batch));
  }

  /**
   * One segment: inputs are T·B word ids, time-major. `dropoutRng` (training) draws the dropout
   * masks; null evaluates without dropout.
   */
  forward(inputs: Int32Array, steps: number, state: LmState, dropoutRng: Rng | null): LmForward {
    const batch = inputs.length / steps;
    const d = this.dropout;
    const drop = (x: Tensor, p: number): Tensor => {
      if (!dropoutRng || p === 0) return x;
      const seed = dropoutRng.u32();
      if (!d.locked) return dropout(x, p, seed);
      const dim = x.shape[1];
      const mask = dropout(ones([batch, dim]), p, seed);
      return reshape(mul(reshape(x, [steps, batch, dim]), mask), x.shape);
    };
    let x = embedding(this.encoder.weight, inputs);
    if (dropoutRng && d.embedding > 0) x = mul(x, this.#wordMask(inputs, d.embedding, dropoutRng));
    x = drop(x, d.input);
    const next: LmState = [];
    let raw = x;
    for (const [l, layer] of this.layers.entries()) {
      const r = layer.forward(x, steps, state[l], dropoutRng !== null);
      next.push(r.state);
      raw = r.output;
      x = drop(raw, l < this.layers.length - 1 ? d.hidden : d.output);
    }
    return { logits: this.decode(x), state: next, raw, dropped: x };
  }

  /** The decoder: logits [rows, vocabSize] of the last layer's (dropped) output [rows, N]. */
  decode(x: Tensor): Tensor {
    return linear(x, this.decoder.weight ?? this.encoder.weight, this.decoder.bias);
  }

  /** Embedding dropout: every word of the vocabulary is kept with probability 1−p (scaled by 1/(1−p)) for this segment. */
  #wordMask(inputs: Int32Array, p: number, rng: Rng): Tensor {
    const keep = new Float64Array(this.opts.vocabSize);
    for (let v = 0; v < keep.length; v++) keep[v] = rng.uniform() >= p ? 1 / (1 - p) : 0;
    return tensor(Array.from(inputs, (w) => keep[w]), [inputs.length, 1]);
  }
}
