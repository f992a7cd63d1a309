/**
 * checkOp: the op test harness, after tinygrad's `helper_test_op`.
 *
 * Given input shapes, seeded samplers and `fn(inputs) => output`, it
 *  (a) runs `fn` and `y.backward(dy)` on the float64 CPU oracle and on another backend (WebGPU,
 *      float32) with identical inputs and one random cotangent `dy` (not `.sum()`: a transposed
 *      or mis-broadcast gradient would survive a plain sum), and compares the output shape, then
 *      the forward values (atol 1e-5, rtol 1e-3), then every input gradient (atol 1e-4, rtol 1e-3);
 *  (b) on the float64 CPU alone, compares every analytic gradient with central finite differences
 *      of L(x) = Σ f(x)·dy (eps 1e-6), the ground truth that needs no trusted backward.
 * Failures name the op, the input, the shapes and the worst element.
 */
import * as bp from '../../src/autograd/index.js';
import type { Backend, FloatArray } from '../../src/kernels/backend.js';

// ---------------------------------------------------------------- seeded sampling

/** mulberry32: a small seeded generator of uniform numbers in [0, 1). */
export function makeRng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws one element. Values are rounded to float32 afterwards, so both backends see the same. */
export type Sampler = (rng: () => number) => number;

/** Uniform magnitude in [lo, hi] with a random sign: never zero, the default. */
export const nonZero =
  (lo = 0.1, hi = 1.5): Sampler =>
  (rng) =>
    (rng() < 0.5 ? -1 : 1) * (lo + (hi - lo) * rng());

/** Uniform in [lo, hi] (for log, sqrt, pow with fractional exponents, denominators). */
export const uniform =
  (lo: number, hi: number): Sampler =>
  (rng) =>
    lo + (hi - lo) * rng();

/** 0 or 1 with equal odds (masks for `where`). */
export const bits: Sampler = (rng) => (rng() < 0.5 ? 0 : 1);

/**
 * Like `inner`, but redrawn while within `gap` of a kink (clamp bounds, step thresholds), where
 * finite differences straddling the kink would disagree with either one-sided derivative.
 */
export function awayFrom(kinks: readonly number[], inner: Sampler = nonZero(), gap = 1e-3): Sampler {
  return (rng) => {
    for (;;) {
      const v = inner(rng);
      if (kinks.every((k) => Math.abs(Math.fround(v) - k) > gap)) return v;
    }
  };
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const fmt = (shape: readonly number[]): string => `[${shape.join(',')}]`;

// ---------------------------------------------------------------- comparison

export interface Tolerance {
  atol: number;
  rtol: number;
}

export const FORWARD_TOL: Tolerance = { atol: 1e-5, rtol: 1e-3 };
export const GRAD_TOL: Tolerance = { atol: 1e-4, rtol: 1e-3 };
/** The CPU oracle against plain-JS float64 math: only summation order may differ. */
export const REFERENCE_TOL: Tolerance = { atol: 1e-12, rtol: 1e-9 };

/**
 * Throws unless |got − want| <= atol + rtol·|want| everywhere (NaN only matches NaN, ±Inf only
 * itself). The message names `what`, the worst element, its index and the largest error.
 */
export function assertClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance): void {
  if (got.length !== want.length) throw new Error(`${what}: ${got.length} elements, expected ${want.length}`);
  let worst = -1;
  let worstExcess = 0;
  let maxAbs = 0;
  for (let i = 0; i < got.length; i++) {
    const g = got[i];
    const w = want[i];
    if (Number.isNaN(g) || Number.isNaN(w) || !Number.isFinite(g) || !Number.isFinite(w)) {
      if (Object.is(g, w) || (g === w && !Number.isNaN(g))) continue;
      throw new Error(`${what}: element ${i} is ${g}, expected ${w}`);
    }
    const err = Math.abs(g - w);
    maxAbs = Math.max(maxAbs, err);
    const excess = err - (tol.atol + tol.rtol * Math.abs(w));
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${what}: max abs error ${maxAbs.toExponential(3)} exceeds atol ${tol.atol} + rtol ${tol.rtol}; ` +
        `worst at element ${worst}: got ${got[worst]}, expected ${want[worst]}`,
    );
  }
}

// ---------------------------------------------------------------- running an op

export interface CheckOpOptions {
  /** Op name for failure messages. */
  name: string;
  /** Shapes of the inputs, in the order `fn` receives them. */
  shapes: readonly (readonly number[])[];
  fn: (inputs: bp.Tensor[]) => bp.Tensor;
  /** One sampler for all inputs or one per input; default `nonZero()` (±[0.1, 1.5]). */
  sampler?: Sampler | readonly Sampler[];
  /** Explicit values per input (null entries are sampled); rounded to float32. */
  values?: readonly (ArrayLike<number> | null)[];
  /** Which inputs require a gradient (all by default). */
  requiresGrad?: boolean | readonly boolean[];
  seed?: number;
  /** A backend to compare with the float64 CPU oracle (WebGPU); omitted: no comparison. */
  against?: Backend | null;
  /** Compare analytic CPU grads with finite differences (default true). */
  finiteDifferences?: boolean;
  /** Perturb at most this many elements per input in the finite-difference check (default 256). */
  fdSamples?: number;
  forwardTol?: Tolerance;
  gradTol?: Tolerance;
  /**
   * The forward written in plain JS (float64), checked against the CPU oracle, so the oracle itself
   * is tested by math that does not come from the code under test.
   */
  reference?: (inputs: Float64Array[]) => { shape: readonly number[]; data: ArrayLike<number> };
}

/** What one backend produced: the output and each input's gradient (null: no gradient arrived). */
export interface OpRun {
  shape: number[];
  y: FloatArray;
  grads: (FloatArray | null)[];
}

export interface CheckOpResult {
  inputs: Float64Array[];
  dy: Float64Array;
  cpu: OpRun;
  other: OpRun | null;
}

function sampleInputs(opts: CheckOpOptions, rng: () => number): Float64Array[] {
  return opts.shapes.map((shape, i) => {
    const n = sizeOf(shape);
    const given = opts.values?.[i];
    if (given) {
      if (given.length !== n) throw new Error(`checkOp ${opts.name}: values[${i}] has ${given.length} elements, shape ${fmt(shape)} needs ${n}`);
      return Float64Array.from(given, (v) => Math.fround(v));
    }
    const s = Array.isArray(opts.sampler) ? opts.sampler[i] : (opts.sampler as Sampler | undefined) ?? nonZero();
    return Float64Array.from({ length: n }, () => Math.fround(s(rng)));
  });
}

function gradFlags(opts: CheckOpOptions): boolean[] {
  const r = opts.requiresGrad ?? true;
  return opts.shapes.map((_, i) => (typeof r === 'boolean' ? r : r[i]));
}

/**
 * Runs fn and y.backward(dy) on `backend`, reads everything back and disposes it all. `makeDy`
 * builds the cotangent once the output shape is known. Also checks that nothing leaked.
 */
async function runOn(
  backend: Backend,
  opts: CheckOpOptions,
  inputs: Float64Array[],
  makeDy: (shape: readonly number[]) => Float64Array,
): Promise<OpRun> {
  bp.setBackend(backend);
  const flags = gradFlags(opts);
  const before = backend.memory().bytesInUse;
  const xs = inputs.map((data, i) => bp.tensor(data, opts.shapes[i], { requiresGrad: flags[i] }));
  const y = bp.tidy(() => opts.fn(xs));
  const dyData = makeDy(y.shape);
  const dy = bp.tensor(dyData, y.shape);
  if (y.requiresGrad) y.backward(dy);
  const out: OpRun = {
    shape: [...y.shape],
    y: await y.data(),
    grads: await Promise.all(xs.map((x) => (x.grad ? x.grad.data() : null))),
  };
  for (const t of [...xs, y, dy]) t.dispose();
  const after = backend.memory().bytesInUse;
  if (after !== before) {
    throw new Error(`${describeCase(opts)} on ${backend.name}: ${after - before} bytes still in use after disposing inputs, output and grads`);
  }
  return out;
}

/** The forward alone, in float64 with no graph: L = Σ f(x)·dy for finite differences. */
async function lossAt(backend: Backend, opts: CheckOpOptions, inputs: Float64Array[], dy: Float64Array): Promise<number> {
  bp.setBackend(backend);
  const xs = inputs.map((data, i) => bp.tensor(data, opts.shapes[i]));
  const y = bp.noGrad(() => bp.tidy(() => opts.fn(xs)));
  const v = await y.data();
  for (const t of [...xs, y]) t.dispose();
  let l = 0;
  for (let i = 0; i < v.length; i++) l += v[i] * dy[i];
  return l;
}

function describeCase(opts: CheckOpOptions): string {
  return `${opts.name} (inputs ${opts.shapes.map(fmt).join(', ')})`;
}

async function checkFiniteDifferences(
  cpu: Backend,
  opts: CheckOpOptions,
  inputs: Float64Array[],
  dy: Float64Array,
  run: OpRun,
  rng: () => number,
): Promise<void> {
  const eps = 1e-6;
  const flags = gradFlags(opts);
  // Truncation error is O(eps²); round-off in L(x ± eps) is about 2^-52·Σ|f·dy| / eps, so the
  // tolerance is 1e-6 relative plus a floor that grows with the size of L's terms.
  let magnitude = 0;
  for (let i = 0; i < run.y.length; i++) magnitude += Math.abs(run.y[i] * dy[i]);
  const floor = 1e-6 + 1e-9 * magnitude;
  for (const [i, x] of inputs.entries()) {
    if (!flags[i]) continue;
    const analytic = run.grads[i] ?? new Float64Array(x.length);
    const limit = opts.fdSamples ?? 256;
    let elems = Array.from(x.keys());
    if (elems.length > limit) {
      // A seeded subset keeps big inputs fast while still touching every region over many cases.
      for (let j = elems.length - 1; j > 0; j--) {
        const k = Math.floor(rng() * (j + 1));
        [elems[j], elems[k]] = [elems[k], elems[j]];
      }
      elems = elems.slice(0, limit);
    }
    let worst = -1;
    let worstExcess = 0;
    let maxErr = 0;
    let worstFd = 0;
    for (const j of elems) {
      const orig = x[j];
      x[j] = orig + eps;
      const lp = await lossAt(cpu, opts, inputs, dy);
      x[j] = orig - eps;
      const lm = await lossAt(cpu, opts, inputs, dy);
      x[j] = orig;
      const fd = (lp - lm) / (2 * eps);
      const err = Math.abs(fd - analytic[j]);
      maxErr = Math.max(maxErr, err);
      const excess = err - (floor + 1e-6 * Math.max(Math.abs(fd), Math.abs(analytic[j])));
      if (excess > worstExcess) {
        worstExcess = excess;
        worst = j;
        worstFd = fd;
      }
    }
    if (worst >= 0) {
      throw new Error(
        `${describeCase(opts)}: grad of input ${i} ${fmt(opts.shapes[i])} disagrees with finite differences: ` +
          `max abs error ${maxErr.toExponential(3)}; worst at element ${worst}: analytic ${analytic[worst]}, numeric ${worstFd}` +
          (run.grads[i] ? '' : ' (no gradient arrived; compared as zeros)'),
      );
    }
  }
}

function compareRuns(opts: CheckOpOptions, ref: OpRun, got: OpRun, backendName: string): void {
  const label = `${describeCase(opts)} ${backendName} vs cpu f64`;
  if (fmt(got.shape) !== fmt(ref.shape)) throw new Error(`${label}: output shape ${fmt(got.shape)}, expected ${fmt(ref.shape)}`);
  assertClose(`${label}: forward ${fmt(ref.shape)}`, got.y, ref.y, opts.forwardTol ?? FORWARD_TOL);
  for (const [i, g] of got.grads.entries()) {
    const r = ref.grads[i];
    if ((g === null) !== (r === null)) {
      throw new Error(`${label}: input ${i} got ${g ? 'a' : 'no'} gradient, the oracle ${r ? 'has one' : 'has none'}`);
    }
    if (g && r) assertClose(`${label}: grad of input ${i} ${fmt(opts.shapes[i])}`, g, r, opts.gradTol ?? GRAD_TOL);
  }
}

/**
 * Checks one op case; see the file comment. Returns the inputs, the cotangent and what each
 * backend produced, for tests that assert more (exact masks, hand-computed values).
 */
export async function checkOp(cpu: Backend, opts: CheckOpOptions): Promise<CheckOpResult> {
  if (cpu.precision !== 'f64') throw new Error('checkOp: the reference backend must be float64');
  const rng = makeRng(opts.seed ?? 1234);
  const inputs = sampleInputs(opts, rng);
  let dy: Float64Array | null = null;
  const makeDy = (shape: readonly number[]): Float64Array => {
    const n = sizeOf(shape);
    if (!dy) dy = Float64Array.from({ length: n }, () => Math.fround(nonZero()(rng)));
    if (dy.length !== n) throw new Error(`${describeCase(opts)}: output has ${n} elements on one backend and ${dy.length} on another`);
    return dy;
  };
  const ref = await runOn(cpu, opts, inputs, makeDy);
  const cotangent = makeDy(ref.shape);
  if (opts.reference) {
    const want = opts.reference(inputs.map((x) => x.slice()));
    const label = `${describeCase(opts)} cpu f64 vs plain-JS reference`;
    if (fmt(want.shape) !== fmt(ref.shape)) throw new Error(`${label}: output shape ${fmt(ref.shape)}, expected ${fmt(want.shape)}`);
    assertClose(`${label}: forward`, ref.y, want.data, REFERENCE_TOL);
  }
  let other: OpRun | null = null;
  if (opts.against) {
    other = await runOn(opts.against, opts, inputs, makeDy);
    compareRuns(opts, ref, other, `${opts.against.name} ${opts.against.precision}`);
  }
  if (opts.finiteDifferences ?? true) await checkFiniteDifferences(cpu, opts, inputs, cotangent, ref, rng);
  return { inputs, dy: cotangent, cpu: ref, other };
}
