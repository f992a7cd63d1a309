/**
 * The baseline LSTM layer of the language models (PAPER.md §2.3, Table 1 "Baseline LSTM"), and
 * the interface it shares with the plastic LSTM layer.
 *
 *   [i f o] = σ(W_x·x + b_x + W_h·h_{t−1} + b_h)[gates],   g = tanh(…)[cell input]
 *   c = f⊙c_{t−1} + i⊙g;   h = o⊙tanh(c)
 *
 * The input projection of a whole BPTT segment is one matmul ([T·B, in] × [in, 4N]), split into
 * steps; each step adds one [B, N] × [N, 4N] matmul, an add, and the fused lstmCell (one kernel each
 * way, where the same math from primitive ops took about a dozen dispatches forward and more
 * backward). Rows of the projections are ordered (i, f, o, g), as lstmCell reads them; the
 * baseline has the authors' MYLSTM parameter count 4N(in + N + 2) (PAPER.md §2.3(b)).
 */
import {
  add, concat, Linear, linear, lstmCell, Module, pad, reshape, slice, split, zeros, type Rng, type Tensor,
} from '../autograd/index.js';

/** The trace update a plastic layer still has to apply (see PlasticLSTM): Δ = post ⊗ pre scaled by mod. */
export interface PendingUpdate {
  pre: Tensor;
  post: Tensor;
  mod: Tensor;
}

/**
 * The recurrent state carried from one minibatch to the next (detached at each BPTT segment), at
 * the width N' the layer's step loop runs at: N, or N rounded up to a multiple of 4 where the layer
 * pads (`padding`; the extra entries are zero). A layer also takes a state of width N.
 */
export interface LayerState {
  /** [B, N'] */
  h: Tensor;
  /** [B, N'] */
  c: Tensor;
  /** Hebbian trace [B, N', N'], rows postsynaptic (plastic layers only). */
  hebb: Tensor | null;
  /** Eligibility trace [B, N', N'] (retroactive layers only). */
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

/** Joins per-step outputs [B, N] into [T·B, N]. */
export function joinSteps(hs: Tensor[]): Tensor {
  return hs.length === 1 ? hs[0] : concat(hs, 0);
}

/** The neurons that round N up to a multiple of 4. */
export const extraTo4 = (n: number): number => (4 - (n % 4)) % 4;

/**
 * Zero padding of an LSTM layer of N neurons to N' = N + extra, and back: the layers run their
 * step loop at N' (a multiple of 4) so that the recurrent matmuls, and the plastic layer's
 * trace kernels, take their vec4 variants, with the parameters padded once per segment and
 * nothing padded inside the loop. The carried state stays at width N' from one segment to the
 * next: padding a [20, 195, 195] trace and narrowing it back cost 9-13 ms per trace and segment on
 * lavapipe, 4% of a paper-size retroactive step. With extra = 0 every helper is the identity.
 * The extra neurons are silent and change no gradient: every weight into or out of them and their
 * biases are zero, so their gate pre-activations are 0 and their cell input tanh(0) = 0, their
 * cell state stays 0 (it starts at 0 and adds i·0), and their output is o·tanh(0) = 0. Every term
 * they add to a real neuron's value or gradient is a product with one of those zeros, and pad's
 * adjoint, a slice, drops the gradients of the padding itself.
 */
export function padding(n: number, extra: number) {
  /** t with `extra` zeros appended along each of `axes`. */
  const widen = (t: Tensor, ...axes: number[]): Tensor => pad(t, t.shape.map((_, d) => [0, axes.includes(d) ? extra : 0] as const));
  return {
    n: n + extra,
    widen,
    /** A carried state's tensor at width N': widened if it has width N along `axes`. */
    state: (t: Tensor, ...axes: number[]): Tensor => (t.shape[axes[0]] === n ? widen(t, ...axes) : t),
    /** The first N entries along each of `axes`. */
    narrow: (t: Tensor, ...axes: number[]): Tensor =>
      extra === 0 ? t : slice(t, t.shape.map(() => 0), t.shape.map((s, d) => (axes.includes(d) ? n : s))),
    /** A projection whose output rows are `count` blocks (gates) of N, and whose input is the hidden state if `recurrent`. */
    gates: (l: Linear, count: number, recurrent: boolean) => ({
      weight: reshape(widen(reshape(l.weight, [count, n, l.inFeatures]), ...(recurrent ? [1, 2] : [1])), [count * (n + extra), recurrent ? n + extra : l.inFeatures]),
      bias: reshape(widen(reshape(l.bias!, [count, n]), 1), [count * (n + extra)]),
    }),
  };
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
    const n = this.hiddenSize + extraTo4(this.hiddenSize);
    return { h: zeros([batch, n]), c: zeros([batch, n]), hebb: null, elig: null, pending: null };
  }

  forward(x: Tensor, steps: number, state: LayerState): { output: Tensor; state: LayerState } {
    const p = padding(this.hiddenSize, extraTo4(this.hiddenSize));
    const [x2h, h2h] = [p.gates(this.x2h, 4, false), p.gates(this.h2h, 4, true)];
    const xproj = split(linear(x, x2h.weight, x2h.bias), steps);
    let [h, c] = [p.state(state.h, 1), p.state(state.c, 1)];
    const hs: Tensor[] = [];
    for (let t = 0; t < steps; t++) {
      ({ h, c } = lstmCell(add(xproj[t], linear(h, h2h.weight, h2h.bias)), c));
      hs.push(h);
    }
    return { output: p.narrow(joinSteps(hs), 1), state: { h, c, hebb: null, elig: null, pending: null } };
  }
}
