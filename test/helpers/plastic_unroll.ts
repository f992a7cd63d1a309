/**
 * A plastic recurrence unrolled over T steps on random (never zero) data, the way the models use
 * it: the modulation at each step is computed from that step's h, so gradients flow through the
 * trace, the cell, the modulator and the eligibility trace at once. Returns the loss
 * Σ_t ⟨h_t, c_t⟩ + ⟨H_T, C⟩ (+ ⟨E_T, C'⟩) with random cotangents, and the leaves to compare.
 */
import * as bp from '../../src/autograd/index.js';
import type { Backend, FloatArray } from '../../src/kernels/backend.js';
import type { PlasticConfig, PlasticStepArgs, PlasticStepResult } from '../../src/autograd/ops/plastic.js';
import { TraceTape } from '../../src/autograd/ops/plastic.js';
import { makeRng } from './check_op.js';

export interface Variant {
  name: string;
  cfg: PlasticConfig;
  batch: number;
  n: number;
  steps: number;
  mod: 'global' | 'episode' | 'neuron';
  alpha: 'full' | 'neuron' | 'scalar';
}

export type StepFn = (cfg: PlasticConfig, a: PlasticStepArgs, tape: TraceTape | null) => PlasticStepResult;

/** Host data for one run, drawn once so every backend and every path sees the same numbers. */
export function variantData(v: Variant, seed: number): Map<string, { data: number[]; shape: number[] }> {
  const rng = makeRng(seed);
  const sign = () => (rng() < 0.5 ? -1 : 1);
  const draw = (shape: number[], lo: number, hi: number) => ({
    data: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.fround(sign() * (lo + (hi - lo) * rng()))),
    shape,
  });
  const { batch: b, n } = v;
  const c = v.cfg.clipValue ?? 1;
  const out = new Map<string, { data: number[]; shape: number[] }>();
  // Traces start near the clip bound so that the clip is active on some entries.
  out.set('hebb0', draw([b, n, n], 0.2 * c, 1.0 * c));
  out.set('elig0', draw([b, n, n], 0.1, 1));
  out.set('h0', draw([b, n], 0.1, 0.9));
  out.set('w', draw([n, n], 0.05, 0.5));
  out.set('alpha', draw(v.alpha === 'full' ? [n, n] : v.alpha === 'neuron' ? [n, 1] : [1], 0.1, 0.8));
  // Modulator weights: m = tanh(h·u + k) per episode, or a·m + bias per neuron (fan-out); both signs.
  out.set('u', draw([n, 1], 0.3, 1.5));
  out.set('k', draw([1], 0.1, 0.5));
  out.set('fanA', draw([n], 0.5, 1.5));
  out.set('fanB', draw([n], 0.05, 0.3));
  out.set('eta', { data: [Math.fround(0.1 + 0.5 * rng())], shape: [1] });
  for (let t = 0; t < v.steps; t++) {
    out.set(`drive${t}`, draw([b, n], 0.1, 1.0));
    out.set(`c${t}`, draw([b, n], 0.1, 1.0));
  }
  out.set('C', draw([b, n, n], 0.1, 1.0));
  out.set('C2', draw([b, n, n], 0.1, 1.0));
  return out;
}

export interface UnrollResult {
  loss: bp.Tensor;
  leaves: Map<string, bp.Tensor>;
}

/** Builds the leaves on the current backend and runs the unrolled recurrence with `step`. */
export function unroll(v: Variant, data: ReturnType<typeof variantData>, step: StepFn, tapeEvery = 0): UnrollResult {
  const leaves = new Map<string, bp.Tensor>();
  const leaf = (name: string) => {
    const d = data.get(name)!;
    const t = bp.keep(bp.tensor(d.data, d.shape, { requiresGrad: true, name }));
    leaves.set(name, t);
    return t;
  };
  const constant = (name: string) => bp.tensor(data.get(name)!.data, data.get(name)!.shape);
  const retro = v.cfg.rule === 'retroactive';
  const [w, alpha, u, k, fanA, fanB, eta] = ['w', 'alpha', 'u', 'k', 'fanA', 'fanB', 'eta'].map(leaf);
  let hebb = leaf('hebb0');
  let elig: bp.Tensor | null = retro ? leaf('elig0') : null;
  const tape = tapeEvery > 0 ? new TraceTape(tapeEvery) : null;
  // The pending update of step 0 pairs h0 with itself; later steps pair h_{t-1} with h_t.
  let pre = leaf('h0');
  let post = pre;
  let mod = modulation(v, post, u, k, fanA, fanB, eta);
  let loss = bp.scalar(0);
  for (let t = 0; t < v.steps; t++) {
    const r = step(v.cfg, { hebb, elig, pre, post, mod, eta: retro ? eta : null, x: post, drive: leaf(`drive${t}`), w, alpha }, tape);
    loss = bp.add(loss, bp.sum(bp.mul(r.h, constant(`c${t}`))));
    [hebb, elig, pre, post] = [r.hebb, r.elig, post, r.h];
    mod = modulation(v, post, u, k, fanA, fanB, eta);
  }
  loss = bp.add(loss, bp.sum(bp.mul(hebb, constant('C'))));
  if (elig) loss = bp.add(loss, bp.sum(bp.mul(elig, constant('C2'))));
  return { loss, leaves };
}

export function modulation(v: Variant, h: bp.Tensor, u: bp.Tensor, k: bp.Tensor, fanA: bp.Tensor, fanB: bp.Tensor, eta: bp.Tensor): bp.Tensor {
  if (v.mod === 'global') return bp.scale(eta, 0.5);
  // [B, 1]; odd episodes flip the sign, so negative modulation is always exercised when B > 1
  const flip = bp.tensor(Array.from({ length: v.batch }, (_, b) => (b % 2 ? -1 : 1)), [v.batch, 1]);
  const m = bp.mul(bp.tanh(bp.add(bp.matmul(h, u), k)), flip);
  return v.mod === 'episode' ? m : bp.add(bp.mul(m, fanA), fanB); // fan-out: a_j·m + b_j
}

export interface EpisodeRun {
  loss: number;
  grads: Map<string, FloatArray>;
}

/** One unrolled episode on `backend` with seeded data: the loss and the gradient of every leaf. */
export async function runEpisode(backend: Backend, v: Variant, step: StepFn, tapeEvery = 0): Promise<EpisodeRun> {
  bp.setBackend(backend);
  const data = variantData(v, 1234);
  let leaves = new Map<string, bp.Tensor>();
  const loss = bp.tidy(() => {
    const r = unroll(v, data, step, tapeEvery);
    r.loss.backward();
    leaves = r.leaves; // kept by unroll
    return r.loss;
  });
  const grads = new Map<string, FloatArray>();
  for (const [name, t] of leaves) if (t.grad) grads.set(name, await t.grad.data());
  const value = await loss.item();
  loss.dispose();
  for (const t of leaves.values()) t.dispose();
  return { loss: value, grads };
}
