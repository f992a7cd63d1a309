/**
 * Optimizers (torch.optim.SGD, torch.optim.Adam), gradient clipping and NaN/Inf checks.
 *
 * Updates run in place on the parameters' device buffers through the backend's fused `sgdStep` /
 * `adamStep` kernels: one dispatch per parameter, no temporaries. Optimizer state (moments,
 * momentum buffers) is persistent, kept out of every scope, and round-trips through `stateDict()`
 * so a resumed run continues exactly.
 */
import { fmtShape, NonFiniteError } from './errors.js';
import { assign } from './module.js';
import { abs, add, clamp, maximum, mul, pow, reciprocal, scale, sqrt, square } from './ops/elementwise.js';
import { max, sum } from './ops/reduce.js';
import type { HostTensor } from './safetensors.js';
import { keep, noGrad, tidy } from './scope.js';
import { fromBuffer, scalar, Tensor } from './tensor.js';

/** Per-parameter optimizer state; `step` counts the steps this parameter had a gradient (as torch). */
interface ParamState {
  step: number;
  bufs: Record<string, Tensor>;
}

/**
 * An optimizer's state, torch-style: tensors keyed `${paramIndex}.${slot}` (slots named as torch's:
 * `momentum_buffer`, `exp_avg`, `exp_avg_sq`) and JSON-serialisable `meta` (hyperparameters, steps).
 */
export interface OptimizerStateDict<T = Tensor> {
  tensors: Record<string, T>;
  meta: { options: Record<string, unknown>; steps: Record<string, number> };
}

/** The bookkeeping shared by SGD and Adam: per-parameter state, zeroGrad, state dicts. */
export abstract class Optimizer<O extends object> {
  readonly params: Tensor[];
  #state: (ParamState | undefined)[] = [];

  constructor(
    params: Iterable<Tensor>,
    /** Hyperparameters; may be changed between steps (e.g. a learning-rate schedule). */
    public options: O,
  ) {
    this.params = [...params];
    if (new Set(this.params).size !== this.params.length) throw new RangeError(`${this.constructor.name}: a parameter appears twice`);
    this.check(options);
  }

  /** Throws a RangeError naming the bad hyperparameter. */
  protected abstract check(o: O): void;
  /** The state slots every stepped parameter carries under options `o`. */
  protected abstract slots(o: O): string[];
  protected abstract update(p: Tensor, grad: Tensor, state: ParamState): void;

  /** One update of every parameter that has a gradient; the others are skipped (as torch). */
  step(): void {
    for (const [i, p] of this.params.entries()) {
      if (p.grad && p.grad.size !== p.size) {
        throw new RangeError(`${this.constructor.name}: grad ${fmtShape(p.grad.shape)} does not match parameter ${i} ${fmtShape(p.shape)}`);
      }
    }
    for (const [i, p] of this.params.entries()) {
      if (!p.grad) continue;
      const state = (this.#state[i] ??= { step: 0, bufs: {} });
      state.step++;
      this.update(p, p.grad, state);
    }
  }

  /** Drops the gradients (torch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** The state, sharing storage with the optimizer (read or save it before the next step). */
  stateDict(): OptimizerStateDict {
    const tensors: Record<string, Tensor> = {};
    const steps: Record<string, number> = {};
    for (const [i, s] of this.#state.entries()) {
      if (!s) continue;
      steps[i] = s.step;
      for (const [slot, t] of Object.entries(s.bufs)) tensors[`${i}.${slot}`] = t;
    }
    return { tensors, meta: { options: structuredClone(this.options) as Record<string, unknown>, steps } };
  }

  /** Replaces options and state with copies of `sd`'s; checks everything before changing anything. */
  loadStateDict(sd: OptimizerStateDict<Tensor | HostTensor>): void {
    const name = this.constructor.name;
    const saved = sd.meta.options;
    const missing = Object.keys(this.options).filter((k) => !Object.hasOwn(saved, k));
    if (missing.length) throw new RangeError(`${name}.loadStateDict: option(s) ${missing.map((k) => `'${k}'`).join(', ')} missing`);
    const options = Object.fromEntries(Object.keys(this.options).map((k) => [k, structuredClone(saved[k])])) as O;
    this.check(options);
    const slots = this.slots(options);

    const steps = Object.entries(sd.meta.steps).map(([key, step]) => {
      const p = this.params[Number(key)];
      if (!p || !Number.isInteger(step) || step < 1) throw new RangeError(`${name}.loadStateDict: bad step entry '${key}': ${step}`);
      for (const slot of slots) {
        const k = `${key}.${slot}`;
        const t = Object.hasOwn(sd.tensors, k) ? sd.tensors[k] : undefined;
        if (!t) throw new RangeError(`${name}.loadStateDict: state tensor '${k}' is missing`);
        if (t.shape.length !== p.shape.length || t.shape.some((s, d) => s !== p.shape[d])) {
          throw new RangeError(`${name}.loadStateDict: '${k}' is ${fmtShape(t.shape)} but parameter ${key} is ${fmtShape(p.shape)}`);
        }
      }
      return { i: Number(key), p, step };
    });
    const expected = new Set(steps.flatMap(({ i }) => slots.map((slot) => `${i}.${slot}`)));
    const unexpected = Object.keys(sd.tensors).filter((k) => !expected.has(k));
    if (unexpected.length) throw new RangeError(`${name}.loadStateDict: unexpected state tensor(s) ${unexpected.map((k) => `'${k}'`).join(', ')}`);

    this.dispose();
    this.options = options;
    for (const { i, p, step } of steps) {
      const bufs: Record<string, Tensor> = {};
      for (const slot of slots) {
        bufs[slot] = zerosLike(p);
        assign(bufs[slot], sd.tensors[`${i}.${slot}`]);
      }
      this.#state[i] = { step, bufs };
    }
  }

  /** Frees the optimizer state (not the parameters). */
  dispose(): void {
    for (const s of this.#state) if (s) for (const t of Object.values(s.bufs)) t.dispose();
    this.#state = [];
  }
}

/** A persistent zero tensor on `p`'s backend, owned by no scope. */
function zerosLike(p: Tensor): Tensor {
  return keep(fromBuffer(p.backend, p.backend.fill(p.size, 0), p.shape));
}

export interface SgdOptions {
  lr: number;
  momentum: number;
  weightDecay: number;
}

/**
 * torch.optim.SGD with dampening 0, nesterov off: g += wd·p; buf = g on the first step, else
 * buf = momentum·buf + g; p -= lr·buf (p -= lr·g without momentum).
 */
export class SGD extends Optimizer<SgdOptions> {
  constructor(params: Iterable<Tensor>, opts: Partial<SgdOptions> & { lr: number }) {
    super(params, { momentum: 0, weightDecay: 0, ...opts });
  }

  protected check(o: SgdOptions): void {
    checkNonNegative('SGD', o, ['lr', 'momentum', 'weightDecay']);
  }

  protected slots(o: SgdOptions): string[] {
    return o.momentum !== 0 ? ['momentum_buffer'] : [];
  }

  protected update(p: Tensor, grad: Tensor, state: ParamState): void {
    const { lr, momentum, weightDecay } = this.options;
    let mom: Tensor | null = null;
    let firstStep = false;
    if (momentum !== 0) {
      // torch creates the buffer (as a copy of g) the first time a parameter steps with momentum.
      firstStep = !state.bufs.momentum_buffer;
      mom = state.bufs.momentum_buffer ??= zerosLike(p);
    }
    p.backend.sgdStep(p.buf, grad.buf, mom?.buf ?? null, p.size, { lr, momentum, weightDecay, firstStep });
  }
}

export interface AdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

/**
 * torch.optim.Adam (L2 weight decay added to the gradient, not AdamW; amsgrad off):
 * g += wd·p; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; p -= lr·(m/(1−β1ᵗ)) / (√(v/(1−β2ᵗ)) + eps).
 */
export class Adam extends Optimizer<AdamOptions> {
  constructor(params: Iterable<Tensor>, opts: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, ...opts });
  }

  protected check(o: AdamOptions): void {
    checkNonNegative('Adam', o, ['lr', 'eps', 'weightDecay']);
    if (!Array.isArray(o.betas) || o.betas.length !== 2 || !o.betas.every((b) => b >= 0 && b < 1)) {
      throw new RangeError(`Adam: betas must be two numbers in [0, 1), got ${JSON.stringify(o.betas)}`);
    }
  }

  protected slots(): string[] {
    return ['exp_avg', 'exp_avg_sq'];
  }

  protected update(p: Tensor, grad: Tensor, state: ParamState): void {
    const { lr, betas: [beta1, beta2], eps, weightDecay } = this.options;
    const m = (state.bufs.exp_avg ??= zerosLike(p));
    const v = (state.bufs.exp_avg_sq ??= zerosLike(p));
    p.backend.adamStep(p.buf, grad.buf, m.buf, v.buf, p.size, { lr, beta1, beta2, eps, weightDecay, step: state.step });
  }
}

function checkNonNegative<O extends object>(opt: string, o: O, keys: (keyof O & string)[]): void {
  for (const k of keys) {
    const v = o[k];
    if (typeof v !== 'number' || !(v >= 0) || v === Infinity) throw new RangeError(`${opt}: invalid ${k}: ${String(v)}`);
  }
}

/**
 * torch.nn.utils.clip_grad_norm_: the norm of all gradients together, as if concatenated; when it
 * exceeds `maxNorm`, every gradient is scaled by maxNorm / (norm + 1e-6). Returns the norm before
 * clipping as a scalar tensor, without reading it back: the coefficient min(1, maxNorm/(norm+1e-6))
 * is computed on the device, so the clip costs no sync.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number, normType = 2): Tensor {
  if (!(normType > 0)) throw new RangeError(`clipGradNorm: normType must be > 0 (or Infinity), got ${normType}`);
  if (!(maxNorm >= 0)) throw new RangeError(`clipGradNorm: maxNorm must be >= 0, got ${maxNorm}`);
  const withGrad = [...params].filter((p) => p.grad);
  return noGrad(() =>
    tidy(() => {
      if (!withGrad.length) return scalar(0);
      const grads = withGrad.map((p) => p.grad!);
      let total: Tensor;
      if (normType === Infinity) total = grads.map((g) => max(abs(g))).reduce((a, b) => maximum(a, b));
      else if (normType === 2) total = sqrt(grads.map((g) => sum(square(g))).reduce((a, b) => add(a, b)));
      else total = pow(grads.map((g) => sum(pow(abs(g), normType))).reduce((a, b) => add(a, b)), 1 / normType);
      const coef = clamp(scale(reciprocal(add(total, 1e-6)), maxNorm), 0, 1);
      for (const p of withGrad) {
        const clipped = keep(mul(p.grad!, coef));
        p.grad!.dispose();
        p.grad = clipped;
      }
      return total;
    }),
  );
}

/** Count and first offending value of the NaN/±Inf entries. */
function scanNonFinite(xs: ArrayLike<number>): { count: number; index: number } {
  let count = 0;
  let index = -1;
  for (let i = 0; i < xs.length; i++) {
    if (Number.isFinite(xs[i])) continue;
    if (count++ === 0) index = i;
  }
  return { count, index };
}

function describeNonFinite(label: string, t: Tensor, xs: ArrayLike<number>): string | null {
  const { count, index } = scanNonFinite(xs);
  if (!count) return null;
  if (t.size === 1) return `${label} is ${xs[0]}`;
  return `${label} ${fmtShape(t.shape)} has ${count} non-finite value${count > 1 ? 's' : ''} (first: ${xs[index]} at flat index ${index})`;
}

/**
 * Throws NonFiniteError if `t` holds NaN or ±Inf, naming it: `loss is NaN at step 12`.
 * Reads `t` back to the host, so call it every k steps, not inside the inner loop.
 */
export async function assertFinite(t: Tensor, what: string, step?: number): Promise<void> {
  const msg = describeNonFinite(what, t, await t.data());
  if (msg) throw new NonFiniteError(msg + (step === undefined ? '' : ` at step ${step}`));
}

export interface FindNonFiniteOptions {
  /** Word before each name in the message (default 'parameter'). */
  kind?: string;
  step?: number;
}

/**
 * Checks every named tensor (e.g. `model.namedParameters()`) and throws one NonFiniteError listing
 * all offenders: `parameter 'i2h.weight' [200,27] has 3 non-finite values (...)`.
 */
export async function findNonFinite(named: Iterable<[string, Tensor]>, opts: FindNonFiniteOptions = {}): Promise<void> {
  const found: string[] = [];
  for (const [name, t] of named) {
    const msg = describeNonFinite(`${opts.kind ?? 'parameter'} '${name}'`, t, await t.data());
    if (msg) found.push(msg);
  }
  if (found.length) throw new NonFiniteError(found.join('; ') + (opts.step === undefined ? '' : ` at step ${opts.step}`));
}
