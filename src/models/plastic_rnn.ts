/**
 * PlasticRNN: the authors' RL network (PAPER.md §1.6-1.7; `sr/modul.py`, `maze/batch.py`).
 *
 *   h      = tanh(W_in·x + b_in + (w + α⊙P)·h_prev)       P = Hebb, or pw (retroactive)
 *   logits = W_o·h + b_o;  V = W_v·h + b_v;  M = tanh(W_DA·h + b_DA)
 *   then P is updated with Δ = h ⊗ h_prev (rows postsynaptic) by the rule of `plasticity`.
 *
 * The update of step t is applied by step t+1's fused kernel as it reads the trace (one read and
 * one write of P per step); the state carries that pending update.
 */
import {
  add, Linear, matmul, modulator, Module, plasticStep, plasticStepReference, tanh, tensor, TraceTape, uniform, zeros,
  type ClipKind, type PlasticConfig, type Rng, type Tensor,
} from '../autograd/index.js';

/** See PlasticRNNOptions.checkpointEvery. */
const DEFAULT_CHECKPOINT_EVERY = 10;

export type Plasticity = 'none' | 'hebbian' | 'neuromodulated' | 'retroactive';

export interface PlasticRNNOptions {
  inputSize: number;
  hiddenSize: number;
  /** Policy logits (2 for cue-reward, 4 for the maze). */
  numActions: number;
  /** 'none' = the code's rnn, 'hebbian' = plastic, 'neuromodulated' = modplast, 'retroactive' = modul. */
  plasticity: Plasticity;
  /** 'scalar': one M(t) per episode (the RL code); 'fanout': η_j = a_j·M + b_j per postsynaptic neuron. */
  modulator?: 'scalar' | 'fanout';
  /** 'hard' (default, every RL paper run) or 'soft' (the code's addpw=2), or 'none'. */
  clip?: ClipKind;
  /** Trace bound; ±1 in the RL code. */
  clipValue?: number;
  /** Initial η (plastic) and η_et (retroactive): 0.1 in `sr/modul.py` (default), 0.01 in `maze/batch.py`. */
  etaInit?: number;
  /**
   * Backprop memory: keep every k-th trace and recompute the rest during backward (1 = store all).
   * Default 10 (≈ √T for the paper's 120-200-step episodes): bench:kernels measured 4.8-5x less
   * peak memory than storing all at B=30, N=200, T=120, for 1.09-1.20x the time. With k > 1, step()
   * disposes the traces of the state it consumed.
   */
  checkpointEvery?: number;
  /**
   * Give the modulated nets the η scalar that `sr/modul.py` gives every plastic net (unused by
   * their math; kept so state dicts and parameter counts match that code). `maze/batch.py` has none.
   */
  unusedEta?: boolean;
  /**
   * 'fused' (default) runs plasticStep, which takes the plastic kernels where the backend runs them
   * (Backend.fusedPlastic); 'reference' the same math composed of primitive ops.
   */
  kernel?: 'fused' | 'reference';
  rng: Rng;
}

/** Episode state: start a new one with `initialState(batch)` (everything zero, as in the code). */
export interface PlasticRNNState {
  h: Tensor;
  hebb: Tensor | null;
  elig: Tensor | null;
  /** The update still to apply: Δ = post ⊗ pre scaled by mod. */
  pending: { pre: Tensor; post: Tensor; mod: Tensor } | null;
  tape: TraceTape | null;
}

export interface PlasticRNNOutput {
  logits: Tensor;
  value: Tensor;
  /** M(t), [B, 1] (neuromodulated and retroactive only). */
  modulator: Tensor | null;
  state: PlasticRNNState;
}

export class PlasticRNN extends Module {
  readonly i2h: Linear;
  readonly w: Tensor;
  readonly alpha: Tensor | null;
  /** Hebbian rate η ('hebbian'; with `unusedEta`, also present but unused in the modulated nets). */
  readonly eta: Tensor | null;
  /** Eligibility-trace rate η_et ('retroactive'). */
  readonly etaet: Tensor | null;
  readonly h2o: Linear;
  readonly h2v: Linear;
  readonly h2DA: Linear | null;
  readonly modfanout: Linear | null;
  readonly #cfg: PlasticConfig | null;
  readonly #checkpointEvery: number;

  constructor(readonly opts: PlasticRNNOptions) {
    super();
    const { inputSize, hiddenSize: n, numActions, plasticity, rng } = opts;
    const modulated = plasticity === 'neuromodulated' || plasticity === 'retroactive';
    const etaInit = opts.etaInit ?? 0.1;
    // Registration order follows the authors' modules, so state dicts list keys alike.
    this.i2h = this.registerModule('i2h', new Linear(inputSize, n, rng));
    this.w = this.registerParameter('w', uniform([n, n], 0, 0.01, rng));
    this.alpha = plasticity === 'none' ? null : this.registerParameter('alpha', uniform([n, n], 0, 0.01, rng));
    const withEta = plasticity === 'hebbian' || (modulated && opts.unusedEta === true);
    this.eta = withEta ? this.registerParameter('eta', tensor([etaInit])) : null;
    this.etaet = plasticity === 'retroactive' ? this.registerParameter('etaet', tensor([etaInit])) : null;
    this.h2DA = modulated ? this.registerModule('h2DA', new Linear(n, 1, rng)) : null;
    this.modfanout = modulated && opts.modulator === 'fanout' ? this.registerModule('modfanout', new Linear(1, n, rng)) : null;
    this.h2o = this.registerModule('h2o', new Linear(n, numActions, rng));
    this.h2v = this.registerModule('h2v', new Linear(n, 1, rng));
    this.#cfg =
      plasticity === 'none'
        ? null
        : { rule: plasticity === 'retroactive' ? 'retroactive' : 'hebbian', clip: opts.clip ?? 'hard', clipValue: opts.clipValue ?? 1 };
    this.#checkpointEvery = opts.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
  }

  get hiddenSize(): number {
    return this.opts.hiddenSize;
  }

  /** Zero hidden state and traces for `batch` episodes. */
  initialState(batch: number): PlasticRNNState {
    const n = this.opts.hiddenSize;
    const plastic = this.#cfg !== null;
    return {
      h: zeros([batch, n]),
      hebb: plastic ? zeros([batch, n, n]) : null,
      elig: this.#cfg?.rule === 'retroactive' ? zeros([batch, n, n]) : null,
      pending: null,
      tape: plastic && this.#checkpointEvery > 1 ? new TraceTape(this.#checkpointEvery) : null,
    };
  }

  /** One time step for a batch of inputs x [B, inputSize]. */
  step(x: Tensor, state: PlasticRNNState): PlasticRNNOutput {
    const { modulator, state: next } = this.advance(x, state);
    return { ...this.heads(next.h), modulator, state: next };
  }

  /** Policy logits [R, numActions] and value [R, 1] from hidden states h [R, N] (any number of rows). */
  heads(h: Tensor): { logits: Tensor; value: Tensor } {
    return { logits: this.h2o.forward(h), value: this.h2v.forward(h) };
  }

  /**
   * The recurrent part of `step`: the new hidden state (in the returned state) and the modulator,
   * without the policy and value heads, which nothing inside the episode reads. A trainer can then
   * apply `heads` once to every step's h stacked, instead of once per step (a2c.ts).
   */
  /** M = tanh(W_DA·h + b_DA) and its fan-out, if any: the fused modulator op, or the two Linears of the reference composition. */
  #modulator(h: Tensor): { m: Tensor | null; eta: Tensor | null } {
    if (!this.h2DA) return { m: null, eta: null };
    const fan = this.modfanout ? { weight: this.modfanout.weight, bias: this.modfanout.bias! } : undefined;
    if (this.opts.kernel !== 'reference') return modulator(h, this.h2DA.weight, this.h2DA.bias!, fan);
    const m = this.h2DA.forward(h, { activation: 'tanh' });
    return { m, eta: this.modfanout?.forward(m) ?? null };
  }

  advance(x: Tensor, state: PlasticRNNState): { modulator: Tensor | null; state: PlasticRNNState } {
    const drive = this.i2h.forward(x);
    let h: Tensor;
    let hebb = state.hebb;
    let elig = state.elig;
    if (!this.#cfg) {
      h = tanh(add(drive, matmul(state.h, this.w, { transB: true })));
    } else {
      // At the first step nothing is pending: Δ = 0 leaves the zero trace unchanged.
      const pending = state.pending ?? { pre: state.h, post: state.h, mod: zeros([1]) };
      const args = { hebb: hebb!, elig, ...pending, eta: this.etaet, x: state.h, drive, w: this.w, alpha: this.alpha! };
      const r = this.opts.kernel === 'reference' ? plasticStepReference(this.#cfg, args) : plasticStep(this.#cfg, args, state.tape);
      // With checkpointing the consumed traces are freed now (the tape keeps what backward needs),
      // or a tidy around the episode would hold every step's trace until it ends.
      if (state.tape) {
        hebb?.dispose();
        elig?.dispose();
      }
      [h, hebb, elig] = [r.h, r.hebb, r.elig];
    }
    const { m: modulator, eta: fanned } = this.#modulator(h);
    let mod: Tensor | null = null;
    if (this.#cfg) mod = fanned ?? modulator ?? this.eta!;
    return { modulator, state: { h, hebb, elig, pending: mod ? { pre: state.h, post: h, mod } : null, tape: state.tape } };
  }
}
