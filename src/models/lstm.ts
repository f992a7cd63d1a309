/**
 * The baseline LSTM layer of the language models (PAPER.md §2.3, Table 1 "Baseline LSTM"), and
 * the interface it shares with the plastic LSTM layer.
 *
 *   [i f o] = σ(W_x·x + b_x + W_h·h_{t−1} + b_h)[gates],   g = tanh(…)[cell input]
 *   c = f⊙c_{t−1} + i⊙g;   h = o⊙tanh(c)
 *
 * Composed of primitive ops: the input projection of a whole BPTT segment is one matmul
 * ([T·B, in] × [in, 4N]), so each step adds one [B, N] × [N, 4N] matmul and a few element-wise
 * ops. Rows of the projections are ordered (i, f, o, g), so one slice feeds one sigmoid; the
 * baseline has the authors' MYLSTM parameter count 4N(in + N + 2) (PAPER.md §2.3(b)).
 */
import {
  add, concat, Linear, Module, mul, sigmoid, slice, tanh, zeros, type Rng, type Tensor,
} from '../autograd/index.js';

/** The trace update a plastic layer still has to apply (see PlasticLSTM): Δ = post ⊗ pre scaled by mod. */
export interface PendingUpdate {
  pre: Tensor;
  post: Tensor;
  mod: Tensor;
}

/** The recurrent state carried from one minibatch to the next (detached at each BPTT segment). */
export interface LayerState {
  h: Tensor;
  c: Tensor;
  /** Hebbian trace [B, N, N], rows postsynaptic (plastic layers only). */
  hebb: Tensor | null;
  /** Eligibility trace [B, N, N] (retroactive layers only). */
  elig: Tensor | null;
  pending: PendingUpdate | null;
}

export interface RecurrentLayer extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  initialState(batch: number): LayerState;
  /**
   * Runs `steps` time steps over x [steps·B, inputSize] (time-major) and returns the outputs
   * [steps·B, hiddenSize] and the final state. `train` lets a plastic layer checkpoint its traces.
   */
  forward(x: Tensor, steps: number, state: LayerState, train: boolean): { output: Tensor; state: LayerState };
}

/** The LSTM state update from the gate pre-activations: sig = σ([i f o]) [B, 3N], g = tanh(cell input). */
export function lstmUpdate(sig: Tensor, g: Tensor, cPrev: Tensor, n: number): { h: Tensor; c: Tensor } {
  const batch = sig.shape[0];
  const gate = (k: number) => slice(sig, [0, k * n], [batch, n]);
  const c = add(mul(gate(1), cPrev), mul(gate(0), g));
  return { h: mul(gate(2), tanh(c)), c };
}

/** Joins per-step outputs [B, N] into [T·B, N]. */
export function joinSteps(hs: Tensor[]): Tensor {
  return hs.length === 1 ? hs[0] : concat(hs, 0);
}

export class LSTMLayer extends Module implements RecurrentLayer {
  readonly x2h: Linear;
  readonly h2h: Linear;

  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    rng: Rng,
  ) {
    super();
    this.x2h = this.registerModule('x2h', new Linear(inputSize, 4 * hiddenSize, rng));
    this.h2h = this.registerModule('h2h', new Linear(hiddenSize, 4 * hiddenSize, rng));
  }

  initialState(batch: number): LayerState {
    const n = this.hiddenSize;
    return { h: zeros([batch, n]), c: zeros([batch, n]), hebb: null, elig: null, pending: null };
  }

  forward(x: Tensor, steps: number, state: LayerState): { output: Tensor; state: LayerState } {
    const n = this.hiddenSize;
    const batch = x.shape[0] / steps;
    const xproj = this.x2h.forward(x);
    let { h, c } = state;
    const hs: Tensor[] = [];
    for (let t = 0; t < steps; t++) {
      const pre = add(slice(xproj, [t * batch, 0], [batch, 4 * n]), this.h2h.forward(h));
      ({ h, c } = lstmUpdate(sigmoid(slice(pre, [0, 0], [batch, 3 * n])), tanh(slice(pre, [0, 3 * n], [batch, n])), c, n));
      hs.push(h);
    }
    return { output: joinSteps(hs), state: { h, c, hebb: null, elig: null, pending: null } };
  }
}
