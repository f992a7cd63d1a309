/**
 * The plastic LSTM layer of Table 1 (PAPER.md §2.3; the authors' `mylstm.PlasticLSTM`): only the
 * cell-input path is plastic, pre = h_{t−1}, post = the cell input c̃_t.
 *
 *   [i f o] = σ(W_x·x + b_x + W_h·h_{t−1} + b_h)
 *   c̃ = tanh(W_xc·x + b_c + (w + α⊙Hebb)·h_{t−1})         (replaces W_hc; rows postsynaptic)
 *   c = f⊙c_{t−1} + i⊙c̃;   h = o⊙tanh(c)
 *   Hebb ← clip(Hebb + η⊙(c̃ ⊗ h_{t−1}), ±2)                (Eqs. 2-3; clipval 2.0 in the code)
 *
 * η is one learned scalar ('hebbian', init 0.01, the code's modultype none), or the fan-out of a
 * modulator neuron reading the new h, m = tanh(w_mod·h_t + b), η_j = a_j·m + b_j per postsynaptic
 * neuron ('neuromodulated', the code's modplasth2mod + fanout). 'retroactive' (Eqs. 4-5) puts
 * the same modulated η on an eligibility trace: Hebb ← clip(Hebb + η⊙E), E ← (1−η_et)E + η_et·Δ.
 * The code has no retroactive LSTM (PAPER.md §6): the per-neuron fan-out and a scalar η_et
 * (init 0.1, as sr/modul.py) are our choices. With `fanout: 'connection'`, η is per connection as
 * the paper's text has it for the basic LSTM (PAPER.md §2.3): an [N, N] learned η, or the fan-out
 * η_ij = a_ij·m + b_ij (modfanout = Linear(1, N²)); the fused kernels take per-neuron modulation
 * only, so that setting runs the reference composition.
 *
 * Layout: w, α and Hebb are [post, pre], the transpose of the authors' h_{t−1}ᵀ(w + α⊙Hebb) with
 * Hebb[pre, post]; per-neuron α is [N, 1] (theirs [1, 1, N]). Importing their weights means
 * transposing w (and a full α).
 *
 * The fused plasticStep applies step t−1's update as it reads the trace for step t, so the state
 * carries that pending update (pre = h_{t−2}, post = c̃_{t−1}, mod of step t−1).
 */
import {
  add, full, Linear, linear, lstmCell, modulator, Module, plasticStep, plasticStepReference, reshape, slice, split, tensor, TraceTape, uniform, zeros,
  type PlasticConfig, type Rng, type Tensor,
} from '../autograd/index.js';
import { extraTo4, joinSteps, padding, type LayerState, type RecurrentLayer } from './lstm.js';

export type LstmPlasticity = 'hebbian' | 'neuromodulated' | 'retroactive';

export interface PlasticLSTMOptions {
  inputSize: number;
  hiddenSize: number;
  plasticity: LstmPlasticity;
  /** 'neuron': one α per postsynaptic neuron (the code's perneuron, default); 'full': one per connection. */
  alpha?: 'neuron' | 'full';
  /** η per postsynaptic neuron ('neuron', the code, default) or per connection (the paper's text). */
  fanout?: 'neuron' | 'connection';
  /** Hebb bound (default 2, the code's clipval). */
  clipValue?: number;
  /** w ~ U(±wInit) (default 0.01, the code). */
  wInit?: number;
  /** α ~ alphaInit·U[0, 1) (default 1e-4, the code). */
  alphaInit?: number;
  /** Initial η of 'hebbian' (default 0.01, the code). */
  etaInit?: number;
  /** Initial η_et of 'retroactive' (default 0.1). */
  etaetInit?: number;
  /** Backprop memory: keep every k-th trace of a segment and recompute the rest (default 1: keep all). */
  checkpointEvery?: number;
  /**
   * 'fused' runs plasticStep (the plastic kernels where the backend runs them,
   * Backend.fusedPlastic); 'reference' the same math composed of primitive ops. Default 'fused',
   * or 'reference' with the per-connection fan-out, which the fused kernels do not take.
   */
  kernel?: 'fused' | 'reference';
  rng: Rng;
}

export class PlasticLSTMLayer extends Module implements RecurrentLayer {
  readonly inputSize: number;
  readonly hiddenSize: number;
  /** Input projections, rows (i, f, o, c̃). */
  readonly x2h: Linear;
  /** Recurrent projections of the non-plastic gates, rows (i, f, o). */
  readonly h2h: Linear;
  /** Fixed part of the cell-input recurrent weights [N, N], rows postsynaptic. */
  readonly w: Tensor;
  /** [N, 1] or [N, N]. */
  readonly alpha: Tensor;
  readonly eta: Tensor | null;
  readonly h2mod: Linear | null;
  readonly modfanout: Linear | null;
  readonly etaet: Tensor | null;
  readonly #cfg: PlasticConfig;
  readonly #kernel: 'fused' | 'reference';
  /** Neurons the step loop adds (widened); none for the reference composition, which checks the padded fused path. */
  readonly #extra: number;

  constructor(readonly opts: PlasticLSTMOptions) {
    super();
    const { inputSize, hiddenSize: n, plasticity, rng } = opts;
    this.inputSize = inputSize;
    this.hiddenSize = n;
    const wInit = opts.wInit ?? 0.01;
    const alphaInit = opts.alphaInit ?? 1e-4;
    this.x2h = this.registerModule('x2h', new Linear(inputSize, 4 * n, rng));
    this.h2h = this.registerModule('h2h', new Linear(n, 3 * n, rng));
    this.w = this.registerParameter('w', uniform([n, n], -wInit, wInit, rng));
    this.alpha = this.registerParameter('alpha', uniform(opts.alpha === 'full' ? [n, n] : [n, 1], 0, alphaInit, rng));
    const modulated = plasticity !== 'hebbian';
    const perConnection = opts.fanout === 'connection';
    if (perConnection && opts.kernel === 'fused') {
      throw new RangeError("PlasticLSTMLayer: fanout 'connection' needs kernel 'reference' (the fused kernels take per-neuron modulation)");
    }
    this.#kernel = opts.kernel ?? (perConnection ? 'reference' : 'fused');
    this.#extra = this.#kernel === 'fused' ? extraTo4(n) : 0;
    const etaInit = opts.etaInit ?? 0.01;
    this.eta = modulated ? null : this.registerParameter('eta', perConnection ? full([n, n], etaInit) : tensor([etaInit]));
    this.h2mod = modulated ? this.registerModule('h2mod', new Linear(n, 1, rng)) : null;
    this.modfanout = modulated ? this.registerModule('modfanout', new Linear(1, perConnection ? n * n : n, rng)) : null;
    this.etaet = plasticity === 'retroactive' ? this.registerParameter('etaet', tensor([opts.etaetInit ?? 0.1])) : null;
    this.#cfg = { rule: plasticity === 'retroactive' ? 'retroactive' : 'hebbian', clip: 'hard', clipValue: opts.clipValue ?? 2 };
  }

  initialState(batch: number): LayerState {
    const n = this.hiddenSize + this.#extra;
    return {
      h: zeros([batch, n]),
      c: zeros([batch, n]),
      hebb: zeros([batch, n, n]),
      elig: this.etaet ? zeros([batch, n, n]) : null,
      pending: null,
    };
  }

  forward(x: Tensor, steps: number, state: LayerState, train: boolean): { output: Tensor; state: LayerState } {
    const batch = x.shape[0] / steps;
    const every = this.opts.checkpointEvery ?? 1;
    const tape = train && every > 1 && this.#kernel === 'fused' ? new TraceTape(every) : null;
    const p = widened(this, this.#extra);
    const n = p.n;
    // The input projections of the gates and of the cell input, each one matmul for the segment.
    const [xGates, xCell] = [p.x2hGates, p.x2hCell].map((l) => split(linear(x, l.weight, l.bias), steps));
    let [h, c] = [p.state(state.h, 1), p.state(state.c, 1)];
    let [hebb, elig] = [p.state(state.hebb!, 1, 2), state.elig && p.state(state.elig, 1, 2)];
    let pending = state.pending && { pre: p.state(state.pending.pre, 1), post: p.state(state.pending.post, 1), mod: p.stateMod(state.pending.mod) };
    const hs: Tensor[] = [];
    for (let t = 0; t < steps; t++) {
      const ifo = add(xGates[t], linear(h, p.h2h.weight, p.h2h.bias));
      // Nothing is pending at the start of an epoch: Δ = 0 leaves the zero traces unchanged.
      const upd = pending ?? { pre: h, post: zeros([batch, n]), mod: zeros([1]) };
      const args = { hebb, elig, ...upd, eta: this.etaet, x: h, drive: xCell[t], w: p.w, alpha: p.alpha };
      const r = this.#kernel === 'reference' ? plasticStepReference(this.#cfg, args) : plasticStep(this.#cfg, args, tape);
      const hPrev = h;
      ({ h, c } = lstmCell(ifo, c, r.h));
      [hebb, elig] = [r.hebb, r.elig];
      pending = { pre: hPrev, post: r.h, mod: this.#modulation(h, p) };
      hs.push(h);
    }
    return { output: p.narrow(joinSteps(hs), 1), state: { h, c, hebb, elig, pending } };
  }

  /**
   * η of the update just computed: the learned η ([1], or [N, N] per connection), or the fan-out
   * of m = tanh(w_mod·h_t + b) ([B, N'], or [B, N, N] per connection; the modulator op with the
   * fused kernels).
   */
  #modulation(h: Tensor, p: ReturnType<typeof widened>): Tensor {
    if (!p.h2mod || !p.modfanout) return this.eta!;
    if (this.#kernel === 'fused') return modulator(h, p.h2mod.weight, p.h2mod.bias, p.modfanout).eta!;
    const eta = linear(linear(h, p.h2mod.weight, p.h2mod.bias, { activation: 'tanh' }), p.modfanout.weight, p.modfanout.bias);
    return this.opts.fanout === 'connection' ? reshape(eta, [h.shape[0], p.n, p.n]) : eta;
  }
}

/**
 * The layer as the step loop runs it: padding(N, extra) of lstm.ts with the plastic parameters
 * padded too. A zero-padded neuron also keeps its trace rows and columns at 0 (no w, α, pre or
 * post of its own), so it adds nothing to the plastic terms either. For the trace kernels the
 * padding matters most: their vec4 variant needs rows that start on vec4 boundaries, and as
 * floats the B = 20, N = 195 backward took 1.6-1.7x as long as at N = 196 (bench/plastic_time.ts).
 */
function widened(layer: PlasticLSTMLayer, extra: number) {
  const p = padding(layer.hiddenSize, extra);
  const { widen } = p;
  return {
    ...p,
    /** A carried η: [1] as it is, the fan-out's [B, N] → [B, N']. */
    stateMod: (t: Tensor) => (t.rank === 2 ? p.state(t, 1) : t),
    // x2h's rows (i, f, o) and (c̃) apart, so that no step slices the projection
    ...x2hBlocks(p.gates(layer.x2h, 4, false), p.n, layer.inputSize),
    h2h: p.gates(layer.h2h, 3, true),
    w: widen(layer.w, 0, 1),
    alpha: widen(layer.alpha, ...(layer.alpha.shape[1] === 1 ? [0] : [0, 1])),
    h2mod: layer.h2mod && { weight: widen(layer.h2mod.weight, 1), bias: layer.h2mod.bias! },
    modfanout: layer.modfanout && { weight: widen(layer.modfanout.weight, 0), bias: widen(layer.modfanout.bias!, 0) },
  };
}

/** A gate projection [4N', in] cut into its (i, f, o) rows and its cell-input rows. */
function x2hBlocks(x2h: { weight: Tensor; bias: Tensor }, n: number, inputs: number) {
  const cut = (begin: number, rows: number) => ({ weight: slice(x2h.weight, [begin, 0], [rows, inputs]), bias: slice(x2h.bias, [begin], [rows]) });
  return { x2hGates: cut(0, 3 * n), x2hCell: cut(3 * n, n) };
}
