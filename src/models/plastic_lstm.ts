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
  add, concat, full, Linear, Module, plasticStep, plasticStepReference, reshape, sigmoid, slice, tensor, TraceTape, uniform, zeros,
  type PlasticConfig, type Rng, type Tensor,
} from '../autograd/index.js';
import { joinSteps, lstmUpdate, type LayerState, type RecurrentLayer } from './lstm.js';

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
    const etaInit = opts.etaInit ?? 0.01;
    this.eta = modulated ? null : this.registerParameter('eta', perConnection ? full([n, n], etaInit) : tensor([etaInit]));
    this.h2mod = modulated ? this.registerModule('h2mod', new Linear(n, 1, rng)) : null;
    this.modfanout = modulated ? this.registerModule('modfanout', new Linear(1, perConnection ? n * n : n, rng)) : null;
    this.etaet = plasticity === 'retroactive' ? this.registerParameter('etaet', tensor([opts.etaetInit ?? 0.1])) : null;
    this.#cfg = { rule: plasticity === 'retroactive' ? 'retroactive' : 'hebbian', clip: 'hard', clipValue: opts.clipValue ?? 2 };
  }

  initialState(batch: number): LayerState {
    const n = this.hiddenSize;
    return {
      h: zeros([batch, n]),
      c: zeros([batch, n]),
      hebb: zeros([batch, n, n]),
      elig: this.etaet ? zeros([batch, n, n]) : null,
      pending: null,
    };
  }

  forward(x: Tensor, steps: number, state: LayerState, train: boolean): { output: Tensor; state: LayerState } {
    const n = this.hiddenSize;
    const batch = x.shape[0] / steps;
    const every = this.opts.checkpointEvery ?? 1;
    const tape = train && every > 1 && this.#kernel === 'fused' ? new TraceTape(every) : null;
    const wide = this.#widener();
    const [w, alpha] = [wide.square(this.w), wide.alpha(this.alpha)];
    const xproj = this.x2h.forward(x);
    let { h, c, pending } = state;
    let [hebb, elig] = [wide.trace(state.hebb!), state.elig && wide.trace(state.elig)];
    // The pending update as the kernels take it (widened); `pending` keeps it at the layer's width.
    let upd = pending && { pre: wide.cols(pending.pre), post: wide.cols(pending.post), mod: wide.mod(pending.mod) };
    const hs: Tensor[] = [];
    for (let t = 0; t < steps; t++) {
      const xp = slice(xproj, [t * batch, 0], [batch, 4 * n]);
      const sig = sigmoid(add(slice(xp, [0, 0], [batch, 3 * n]), this.h2h.forward(h)));
      const hWide = wide.cols(h);
      // Nothing is pending at the start of an epoch: Δ = 0 leaves the zero traces unchanged.
      upd ??= { pre: hWide, post: zeros(hWide.shape), mod: zeros([1]) };
      const args = { hebb, elig, ...upd, eta: this.etaet, x: hWide, drive: wide.cols(slice(xp, [0, 3 * n], [batch, n])), w, alpha };
      const r = this.#kernel === 'reference' ? plasticStepReference(this.#cfg, args) : plasticStep(this.#cfg, args, tape);
      const post = wide.narrowCols(r.h);
      const hPrev = h;
      ({ h, c } = lstmUpdate(sig, post, c, n));
      [hebb, elig] = [r.hebb, r.elig];
      pending = { pre: hPrev, post, mod: this.#modulation(h) };
      upd = { pre: hWide, post: r.h, mod: wide.mod(pending.mod) };
      hs.push(h);
    }
    return { output: joinSteps(hs), state: { h, c, hebb: wide.narrowTrace(hebb), elig: elig && wide.narrowTrace(elig), pending } };
  }

  /**
   * Zero padding of the layer's tensors to the width the fused kernels take, N rounded up to a
   * multiple of 4, and back; the identity for the reference composition or when 4 divides N.
   * The kernels' vec4 variant needs rows that start on vec4 boundaries; as floats, the B = 20,
   * N = 195 backward took 1.6-1.7x as long as at N = 196 (bench/plastic_time.ts). The extra
   * neurons are silent: their rows and columns of w, α, the drive and the traces are zero, so
   * their output is tanh(0) = 0, their trace rows and columns get no update, and the gradients of
   * the real entries are unchanged (every term an extra neuron adds is a product with a zero).
   */
  #widener() {
    const n = this.hiddenSize;
    const extra = this.#kernel === 'fused' ? (4 - (n % 4)) % 4 : 0;
    const pad = (t: Tensor, ...axes: number[]): Tensor => {
      for (const axis of extra === 0 ? [] : axes) t = concat([t, zeros(t.shape.map((s, d) => (d === axis ? extra : s)))], axis);
      return t;
    };
    const narrow = (t: Tensor, ...axes: number[]): Tensor =>
      extra === 0 ? t : slice(t, t.shape.map(() => 0), t.shape.map((s, d) => (axes.includes(d) ? n : s)));
    return {
      /** [B, N] → [B, N']. */
      cols: (t: Tensor) => pad(t, 1),
      /** w [N, N] → [N', N']. */
      square: (t: Tensor) => pad(t, 0, 1),
      /** α [N, 1] → [N', 1], or [N, N] → [N', N']. */
      alpha: (t: Tensor) => (t.shape[1] === 1 ? pad(t, 0) : pad(t, 0, 1)),
      /** A trace [B, N, N] → [B, N', N']. */
      trace: (t: Tensor) => pad(t, 1, 2),
      /** η: [1] as it is, the fan-out's [B, N] → [B, N']. */
      mod: (t: Tensor) => (t.rank === 2 ? pad(t, 1) : t),
      narrowCols: (t: Tensor) => narrow(t, 1),
      narrowTrace: (t: Tensor) => narrow(t, 1, 2),
    };
  }

  /**
   * η of the update just computed: the learned η ([1], or [N, N] per connection), or the fan-out
   * of m = tanh(w_mod·h_t + b) ([B, N], or [B, N, N] per connection).
   */
  #modulation(h: Tensor): Tensor {
    if (!this.h2mod) return this.eta!;
    const eta = this.modfanout!.forward(this.h2mod.forward(h, { activation: 'tanh' }));
    const n = this.hiddenSize;
    return this.opts.fanout === 'connection' ? reshape(eta, [h.shape[0], n, n]) : eta;
  }
}
