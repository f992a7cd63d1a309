/**
 * The plastic ops (PAPER.md §1, DESIGN.md "The plastic kernels"): the fused plastic step, the
 * trace update alone, and `plasticStepReference`, the same math composed of primitive ops that the
 * fused kernels are tested against.
 *
 * One fused step applies the pending Hebbian update of step t and then runs the cell of step t+1
 * on the new trace, so each step reads the trace once and writes it once (DESIGN.md, performance
 * model). Rows are postsynaptic: H[b, i, j] is the trace of the connection j → i.
 */
import { PLASTIC_DH_PARTS, type ClipKind, type PlasticGeometry, type PlasticRule } from '../../kernels/backend.js';
import { fmtShape, ShapeError } from '../errors.js';
import { runOp, type OpDef } from '../graph.js';
import { keep, noGrad, tidy } from '../scope.js';
import { fromBuffer, getBackend, Tensor } from '../tensor.js';
import { add, affine, clamp, mul, relu, sub, tanh } from './elementwise.js';
import { matmul } from './matmul.js';
import { reshape, squeeze, unsqueeze } from './movement.js';

export interface PlasticConfig {
  rule: PlasticRule;
  /** Default 'hard' (the RL paper runs). */
  clip?: ClipKind;
  /** Default 1 (RL); the LSTM uses 2. */
  clipValue?: number;
}

export interface PlasticStepArgs {
  /** Trace before the pending update, [B, N, N]. */
  hebb: Tensor;
  /** Eligibility trace before the pending update (retroactive rule only), [B, N, N]. */
  elig?: Tensor | null;
  /** Presynaptic and postsynaptic activity of the pending update, [B, N]. */
  pre: Tensor;
  post: Tensor;
  /**
   * Modulation: [1] a learned η; [B, 1] one M(t) per episode; [B, N] per postsynaptic neuron
   * (fan-out); [N, N] or [B, N, N] per connection (the paper's text for the basic LSTM; only
   * plasticStepReference takes it).
   */
  mod: Tensor;
  /** Eligibility-trace rate η, [1] (retroactive only). */
  eta?: Tensor | null;
  /** The cell's input vector, [B, N] (the RNN passes h_t, which is also `post`). */
  x: Tensor;
  /** Non-plastic drive W_in·input + b, [B, N]. */
  drive: Tensor;
  /** Fixed weights [N, N]. */
  w: Tensor;
  /** Plasticity coefficients: [N, N] per connection, [N, 1] per postsynaptic neuron, or [1]. */
  alpha: Tensor;
}

export interface PlasticStepResult {
  h: Tensor;
  hebb: Tensor;
  elig: Tensor | null;
}

/** The kernels' geometry, and the per-connection modulation that only the reference composition runs. */
type StepGeometry = Omit<PlasticGeometry, 'modKind'> & { modKind: PlasticGeometry['modKind'] | 'connection' };

function geometry(op: string, cfg: PlasticConfig, a: PlasticStepArgs, withCell: boolean): StepGeometry {
  const [batch, n] = a.pre.shape;
  const bad = (arg: string, want: string, t: Tensor) => new ShapeError(`${op}: ${arg} must be ${want}, got ${fmtShape(t.shape)}`);
  const is = (t: Tensor, s: number[]) => t.rank === s.length && t.shape.every((v, d) => v === s[d]);
  if (a.pre.rank !== 2) throw bad('pre', '[B, N]', a.pre);
  for (const [name, t] of [['post', a.post], ...(withCell ? [['x', a.x], ['drive', a.drive]] : [])] as [string, Tensor][]) {
    if (!is(t, [batch, n])) throw bad(name, `[${batch}, ${n}] like pre`, t);
  }
  if (!is(a.hebb, [batch, n, n])) throw bad('hebb', `[${batch}, ${n}, ${n}]`, a.hebb);
  const retro = cfg.rule === 'retroactive';
  if (retro && (!a.elig || !is(a.elig, [batch, n, n]))) throw new ShapeError(`${op}: the retroactive rule needs elig [${batch}, ${n}, ${n}], got ${a.elig ? fmtShape(a.elig.shape) : 'none'}`);
  if (retro && (!a.eta || a.eta.size !== 1)) throw new ShapeError(`${op}: the retroactive rule needs eta [1], got ${a.eta ? fmtShape(a.eta.shape) : 'none'}`);
  const modKind =
    a.mod.size === 1 ? 'global'
    : a.mod.size === batch && a.mod.shape[0] === batch ? 'episode'
    : is(a.mod, [batch, n]) ? 'neuron'
    : is(a.mod, [n, n]) || is(a.mod, [batch, n, n]) ? 'connection'
    : null;
  if (!modKind) throw bad('mod', `[1], [${batch}, 1], [${batch}, ${n}], [${n}, ${n}] or [${batch}, ${n}, ${n}]`, a.mod);
  let alphaKind: PlasticGeometry['alphaKind'] = 'full';
  if (withCell) {
    if (!is(a.w, [n, n])) throw bad('w', `[${n}, ${n}]`, a.w);
    const k = a.alpha.size === 1 ? 'scalar' : is(a.alpha, [n, n]) ? 'full' : a.alpha.size === n && a.alpha.shape[0] === n ? 'neuron' : null;
    if (!k) throw bad('alpha', `[${n}, ${n}], [${n}, 1] or [1]`, a.alpha);
    alphaKind = k;
  }
  const clipValue = cfg.clipValue ?? 1;
  if (!(clipValue > 0)) throw new RangeError(`${op}: clipValue must be > 0, got ${clipValue}`);
  return { batch, n, rule: cfg.rule, clip: cfg.clip ?? 'hard', clipValue, modKind, alphaKind };
}

/** The geometry of a fused kernel call, which takes no per-connection modulation. */
function kernelGeometry(op: string, g: StepGeometry, mod: Tensor): PlasticGeometry {
  if (g.modKind === 'connection') {
    throw new ShapeError(`${op}: a per-connection modulation ${fmtShape(mod.shape)} runs only in plasticStepReference (the fused kernels take [1], [B, 1] or [B, N])`);
  }
  return { ...g, modKind: g.modKind };
}

// Input order of the ops below; elig and eta come last and are absent unless retroactive.
const HEBB = 0, PRE = 1, POST = 2, MOD = 3, X = 4, DRIVE = 5, W = 6, ALPHA = 7, ELIG = 8, ETA = 9;

function inputList(a: PlasticStepArgs, retro: boolean): Tensor[] {
  const list = [a.hebb, a.pre, a.post, a.mod, a.x, a.drive, a.w, a.alpha];
  return retro ? [...list, a.elig!, a.eta!] : list;
}

/**
 * Memory through time for backprop over an episode. Storing every step's trace costs T·B·N²
 * floats; a tape with `every = k` keeps the trace only at every k-th step and recomputes the
 * others, one segment at a time, during backward (k ≈ √T minimises peak memory).
 */
export class TraceTape {
  #steps: { saved: Tensor[]; g: PlasticGeometry | null }[] = [];
  #segment = new Map<number, Tensor[]>();

  constructor(readonly every: number) {
    if (!(Number.isInteger(every) && every >= 1)) throw new RangeError(`TraceTape: every must be an integer >= 1, got ${every}`);
  }

  /** Reserves the next step's index. */
  next(): number {
    this.#steps.push({ saved: [], g: null });
    return this.#steps.length - 1;
  }

  /** Whether step t keeps its own trace (a checkpoint). */
  keepsTrace(t: number): boolean {
    return t % this.every === 0;
  }

  /**
   * Called with the node's own saved references, which live until that step's backward ran, and
   * the step's geometry (the modulation's shape may differ from step to step).
   */
  register(t: number, saved: Tensor[], g: PlasticGeometry): void {
    this.#steps[t] = { saved, g };
  }

  /** The traces (hebb, and elig if retroactive) entering step t; the caller disposes them. */
  traces(t: number): Tensor[] {
    if (!this.#segment.has(t)) this.#recompute(t);
    const out = this.#segment.get(t)!;
    this.#segment.delete(t);
    return out;
  }

  #recompute(t: number): void {
    this.clear();
    const start = t - (t % this.every);
    const at = (s: number) => {
      const step = this.#steps[s];
      if (!step?.g || step.saved[0].isDisposed) throw new Error(`TraceTape: step ${s} was not recorded (or its backward already ran)`);
      return { saved: step.saved, g: step.g };
    };
    // The checkpoint's traces are borrowed from its node; the recomputed ones are owned here.
    let traces = at(start).saved.slice(traceStart(at(start).g));
    for (let s = start; s < t; s++) {
      const { saved, g } = at(s);
      const retro = g.rule === 'retroactive';
      const [hebb, elig] = traces;
      const out = hebb.backend.hebbUpdate(g, hebb.buf, elig?.buf ?? null, saved[S_PRE].buf, saved[S_POST].buf, saved[S_MOD].buf, retro ? saved[S_ETA].buf : null);
      const wrap = (buf: typeof out.hebb) => keep(fromBuffer(hebb.backend, buf, hebb.shape));
      traces = out.elig ? [wrap(out.hebb), wrap(out.elig)] : [wrap(out.hebb)];
      this.#segment.set(s + 1, traces);
    }
  }

  /** Frees recomputed traces that were not handed out (e.g. when a backward stopped early). */
  clear(): void {
    for (const ts of this.#segment.values()) for (const x of ts) x.dispose();
    this.#segment.clear();
  }
}

// Saved tensors of a plastic step: these vectors and weights, the output h, eta if retroactive,
// then the traces entering the step (hebb, elig) unless a tape recomputes them.
const S_PRE = 0, S_POST = 1, S_MOD = 2, S_X = 3, S_DRIVE = 4, S_W = 5, S_ALPHA = 6, S_H = 7, S_ETA = 8;
const traceStart = (g: PlasticGeometry) => (g.rule === 'retroactive' ? 9 : 8);

interface StepAttrs {
  g: PlasticGeometry;
  tape: TraceTape | null;
  t: number;
}

const plasticStepDef: OpDef<StepAttrs> = {
  name: 'plasticStep',
  forward: (backend, inputs, { g }) => {
    const retro = g.rule === 'retroactive';
    const out = backend.plasticStep(g, {
      hebb: inputs[HEBB].buf, pre: inputs[PRE].buf, post: inputs[POST].buf, mod: inputs[MOD].buf, x: inputs[X].buf,
      drive: inputs[DRIVE].buf, w: inputs[W].buf, alpha: inputs[ALPHA].buf,
      elig: retro ? inputs[ELIG].buf : null, eta: retro ? inputs[ETA].buf : null,
    });
    const [batch, n] = [g.batch, g.n];
    const outs = [{ buf: out.h, shape: [batch, n] }, { buf: out.hebb, shape: [batch, n, n] }];
    return out.elig ? [...outs, { buf: out.elig, shape: [batch, n, n] }] : outs;
  },
  save: (inputs, [h], { g, tape, t }) => {
    const retro = g.rule === 'retroactive';
    const list = [inputs[PRE], inputs[POST], inputs[MOD], inputs[X], inputs[DRIVE], inputs[W], inputs[ALPHA], h];
    if (retro) list.push(inputs[ETA]);
    if (!tape || tape.keepsTrace(t)) list.push(inputs[HEBB], ...(retro ? [inputs[ELIG]] : []));
    return list;
  },
  recorded: (saved, { tape, t, g }) => tape?.register(t, saved, g),
  // h's gradient parts go to the backward's first kernel, which adds them up (Backend.plasticStepBackward).
  sumsGradParts: PLASTIC_DH_PARTS,
  backward: ([, dhebb, delig], { saved, attrs: { g, tape, t }, inputShapes, dyParts }) => {
    const retro = g.rule === 'retroactive';
    const recomputed = tape && !tape.keepsTrace(t) ? tape.traces(t) : null;
    const [hebb, elig] = recomputed ?? saved.slice(traceStart(g));
    const d = hebb.backend.plasticStepBackward(
      g,
      {
        hebb: hebb.buf, elig: elig?.buf ?? null, pre: saved[S_PRE].buf, post: saved[S_POST].buf, mod: saved[S_MOD].buf,
        eta: retro ? saved[S_ETA].buf : null, x: saved[S_X].buf, drive: saved[S_DRIVE].buf, w: saved[S_W].buf, alpha: saved[S_ALPHA].buf,
      },
      saved[S_H].buf,
      dyParts.map((part) => part.buf),
      dhebb?.buf ?? null,
      delig?.buf ?? null,
    );
    const backend = hebb.backend;
    recomputed?.forEach((x: Tensor) => x.dispose());
    const wrap = (buf: typeof d.hebb, i: number) => fromBuffer(backend, buf, inputShapes[i]);
    const grads = [d.hebb, d.pre, d.post, d.mod, d.x, d.drive, d.w, d.alpha].map(wrap);
    return retro ? [...grads, wrap(d.elig!, ELIG), wrap(d.eta!, ETA)] : grads;
  },
};

/**
 * The fused plastic step: applies the pending update (H, E) → (H', E') of PlasticRule `cfg.rule`
 * with Δ = post ⊗ pre, then h = tanh(drive + (w + α⊙H')·x) without materialising w + α⊙H'.
 * Pass a `tape` (with `t` its step count) to checkpoint traces instead of storing all of them.
 */
export function plasticStep(cfg: PlasticConfig, args: PlasticStepArgs, tape: TraceTape | null = null): PlasticStepResult {
  // Without the fused kernels (Backend.fusedPlastic): the same math from primitive ops.
  if (!getBackend().fusedPlastic) return plasticStepReference(cfg, args);
  const g = kernelGeometry('plasticStep', geometry('plasticStep', cfg, args, true), args.mod);
  const t = tape ? tape.next() : 0;
  const [h, hebb, elig] = runOp(plasticStepDef, inputList(args, g.rule === 'retroactive'), { g, tape, t });
  return { h, hebb, elig: elig ?? null };
}

const hebbUpdateDef: OpDef<{ g: PlasticGeometry }> = {
  name: 'hebbUpdate',
  forward: (backend, inputs, { g }) => {
    const retro = g.rule === 'retroactive';
    const out = backend.hebbUpdate(g, inputs[HEBB].buf, retro ? inputs[4].buf : null, inputs[PRE].buf, inputs[POST].buf, inputs[MOD].buf, retro ? inputs[5].buf : null);
    const shape = inputs[HEBB].shape;
    return out.elig ? [{ buf: out.hebb, shape }, { buf: out.elig, shape }] : [{ buf: out.hebb, shape }];
  },
};

/**
 * The trace update alone, without gradient (for a final update after an episode, inspection,
 * or recomputation). Differentiable training goes through `plasticStep`.
 */
export function hebbUpdate(cfg: PlasticConfig, args: Omit<PlasticStepArgs, 'x' | 'drive' | 'w' | 'alpha'>): { hebb: Tensor; elig: Tensor | null } {
  const full = { ...args, x: args.pre, drive: args.pre, w: args.pre, alpha: args.pre };
  const geo = geometry('hebbUpdate', cfg, full, false);
  // Without the fused kernels (Backend.fusedPlastic): the reference update, its intermediates freed.
  if (!getBackend().fusedPlastic) {
    const [hebb, elig] = noGrad(() => tidy(() => {
      const u = referenceUpdate(geo, args);
      return [u.hebb, u.elig];
    }));
    return { hebb: hebb!, elig };
  }
  const g = kernelGeometry('hebbUpdate', geo, args.mod);
  const inputs = [args.hebb, args.pre, args.post, args.mod];
  if (g.rule === 'retroactive') inputs.push(args.elig!, args.eta!);
  const [hebb, elig] = runOp(hebbUpdateDef, inputs, { g });
  return { hebb, elig: elig ?? null };
}

/** The trace update (H, E) → (H', E') of plasticStepReference, composed of primitive ops. */
function referenceUpdate(g: StepGeometry, a: Omit<PlasticStepArgs, 'x' | 'drive' | 'w' | 'alpha'>): { hebb: Tensor; elig: Tensor | null } {
  const c = g.clipValue;
  const modShape = { global: [1, 1, 1], episode: [g.batch, 1, 1], neuron: [g.batch, g.n, 1], connection: [a.mod.rank === 2 ? 1 : g.batch, g.n, g.n] };
  const m = reshape(a.mod, modShape[g.modKind]);
  const delta = mul(unsqueeze(a.post, 2), unsqueeze(a.pre, 1)); // Δ[b,i,j] = post_i·pre_j
  const bound = (h: Tensor, d: Tensor): Tensor => {
    if (g.clip === 'none') return add(h, d);
    if (g.clip === 'hard') return clamp(add(h, d), -c, c);
    // soft: H + max(d,0)·(1 − H/c) + min(d,0)·(1 + H/c), then clamp
    const up = mul(relu(d), add(mul(h, -1 / c), 1));
    const down = mul(clamp(d, -Infinity, 0), add(mul(h, 1 / c), 1));
    return clamp(add(add(h, up), down), -c, c);
  };
  let hebb: Tensor;
  let elig: Tensor | null = null;
  switch (g.rule) {
    case 'hebbian':
      hebb = bound(a.hebb, mul(m, delta));
      break;
    case 'decay':
      hebb = add(mul(a.hebb, affine(m, -1, 1)), mul(m, delta));
      break;
    case 'oja': {
      const post = unsqueeze(a.post, 2);
      hebb = add(a.hebb, mul(mul(m, post), sub(unsqueeze(a.pre, 1), mul(post, a.hebb))));
      break;
    }
    case 'retroactive': {
      hebb = bound(a.hebb, mul(m, a.elig!));
      const eta = reshape(a.eta!, [1, 1, 1]);
      elig = add(mul(a.elig!, affine(eta, -1, 1)), mul(eta, delta));
      break;
    }
  }
  return { hebb, elig };
}

/**
 * The same math as `plasticStep`, composed of primitive ops (materialising Δ and w + α⊙H'):
 * the reference the fused kernels are checked against, forward and backward.
 */
export function plasticStepReference(cfg: PlasticConfig, a: PlasticStepArgs): PlasticStepResult {
  const g = geometry('plasticStepReference', cfg, a, true);
  const { hebb, elig } = referenceUpdate(g, a);
  const alpha = reshape(a.alpha, g.alphaKind === 'full' ? [g.n, g.n] : g.alphaKind === 'neuron' ? [g.n, 1] : [1, 1]);
  const weff = add(a.w, mul(alpha, hebb)); // [B, N, N]
  const h = tanh(add(a.drive, squeeze(matmul(weff, unsqueeze(a.x, 2)), 2)));
  return { h, hebb, elig };
}
