/**
 * The plastic kernels on WebGPU (PlasticKernels in backend.ts; DESIGN.md "The plastic kernels"):
 * argument checks, parameter packing, dispatch geometry and the order of the passes.
 *
 * Forward, `plasticStep` and `hebbUpdate`: one pass, plastic_step.wgsl (the update alone with its
 * cell switched off), reading each trace once and writing it once.
 * Backward, `plasticStepBackward`:
 *   1. plastic_step_bwd_prep    per-row coefficients (dz, m, ...) and ddrive             [B, N]
 *   2. plastic_step_bwd         the one pass over the traces: reads H, dH' (E, dE'), writes dH (dE),
 *                               dx and dpre, each lane's shares of the row sums [B·N, lanes, ns]
 *                               (with subgroups, their sums over each workgroup's 8 lanes
 *                               [B·N, column groups, 4]) and partials of dalpha (and, at
 *                               B ≤ EB, of dw) [B/EB, parts, N, N] (a lane per CPL columns,
 *                               EB episodes per workgroup)
 *   3. plastic_step_bwd_finish  dpost; dmod, deta, dalpha per row, or summed over each
 *                               episode (a workgroup per episode)                   [B, N] or [B]
 *   4. dw = ddriveᵀ·x as a matmul (unless the pass gave it), and the backend's reduce: the
 *      partials to dalpha (split from dw by buffer copies, no dispatch); the per-episode sums over
 *      B (nothing to do at B = 1), per-neuron dalpha over B
 * Each pass over the traces is compiled twice: with Chunk = vec4 when N % 4 = 0 (rows start on
 * vec4 boundaries, and vec4 accesses are 2.5-3x cheaper on lavapipe), and with Chunk = f32 for
 * other N. The rule math lives once, in plastic_common.wgsl, appended to every plastic kernel.
 */
import { checkDhParts, PLASTIC_DH_PARTS, type Backend, type Buf, type PlasticGeometry, type PlasticKernels, type PlasticRule, type PlasticStepGrads, type PlasticStepInputs } from '../backend.js';
import { storageBufferCount, wgslFiles, type KernelSource, type SourceFile } from './pipelines.js';
import type { ParamsWriter } from './uniform_ring.js';
import plasticCommon from '../../../shaders/plastic_common.wgsl';
import chunkF32 from '../../../shaders/chunk_f32.wgsl';
import plasticStep from '../../../shaders/plastic_step.wgsl';
import plasticStepBwd from '../../../shaders/plastic_step_bwd.wgsl';
import plasticStepBwdFinish from '../../../shaders/plastic_step_bwd_finish.wgsl';
import plasticStepBwdPrep from '../../../shaders/plastic_step_bwd_prep.wgsl';
import plasticSharesF32 from '../../../shaders/plastic_shares_f32.wgsl';
import plasticSharesSubgroup from '../../../shaders/plastic_shares_subgroup.wgsl';
import plasticSharesVec4 from '../../../shaders/plastic_shares_vec4.wgsl';
import chunkVec4 from '../../../shaders/chunk_vec4.wgsl';

/**
 * A plastic kernel's files: the kernel's own, then the rule math, the Chunk type and `extra`
 * (appended, not prepended, so that the kernel keeps its own line numbers; WGSL declarations may
 * come in any order). The prep and finish kernels use only the rule constants and hsum, so they
 * get the vec4 Chunk.
 */
const withChunk = (kernel: [string, string], chunk: Chunk, ...extra: [string, string][]): { files: SourceFile[] } => ({
  files: wgslFiles(kernel, ['plastic_common', plasticCommon], chunk, ...extra),
});
type Chunk = [file: string, text: string];
const VEC4: Chunk = ['chunk_vec4', chunkVec4];
const F32: Chunk = ['chunk_f32', chunkF32];

/** Position = the rule's code in plastic_common.wgsl. */
const RULES = ['hebbian', 'decay', 'oja', 'retroactive'] as const;
/** Kernel-name suffix and Chunk type: vec4 when N % 4 = 0, else f32. */
const CHUNKS = [['', VEC4], ['_f32', F32]] as const;
type ForwardKernel = `plastic_${'step' | 'update'}${'' | '_f32'}_${PlasticRule}`;

/** Lanes per workgroup of plastic_step_bwd.wgsl, one per Chunk column (its WGC, where the why is). */
const BWD_LANES = 8;
type BwdKernel = `plastic_step_bwd${'' | '_dw'}${'' | '_f32'}_${PlasticRule}${'' | '_soft'}${'' | '_rowalpha'}${'' | '_last'}`;

/**
 * What plastic_step_bwd.wgsl is specialised to besides the rule (its override constants): the sum
 * of dw (B ≤ EB: see plasticStepBackward), the soft clip, α per row (per neuron or scalar) rather
 * than full, and no incoming trace gradients (an episode's last step).
 */
interface BwdVariant {
  dw: boolean;
  soft: boolean;
  rowAlpha: boolean;
  last: boolean;
}
const bwdKernel = (rule: PlasticRule, chunk: '' | '_f32', v: BwdVariant): BwdKernel =>
  `plastic_step_bwd${v.dw ? '_dw' : ''}${chunk}_${rule}${v.soft ? '_soft' : ''}${v.rowAlpha ? '_rowalpha' : ''}${v.last ? '_last' : ''}`;
/** Every variant of a rule; decay and oja are never clipped, so they have no soft one. */
const bwdVariants = (rule: PlasticRule): BwdVariant[] =>
  [false, true].flatMap((dw) =>
    (rule === 'hebbian' || rule === 'retroactive' ? [false, true] : [false]).flatMap((soft) =>
      [false, true].flatMap((rowAlpha) => [false, true].map((last) => ({ dw, soft, rowAlpha, last }))),
    ),
  );

/**
 * The backward's tiling by rule: episodes per workgroup and Chunk columns per lane (EB and CPL of
 * plastic_step_bwd.wgsl). The retroactive rule, with two traces, ran 0.90-0.92x the time with 2
 * episodes of 2 columns instead of 4 episodes of 1 (B = 1 to 128, N = 100 to 200; 1.035x at B =
 * 30, N = 500), and 1.04x with 1 episode of 2 or 4 columns, 1.37-1.47x with 4 of 2 or 2 of 4 (out
 * of registers). Hebbian ran 1.05x slower with 2 of 2, and 1.07x with 2 of 1. The whole
 * plasticStepBackward timed, bench/plastic_time.ts builds alternated 3-4 times.
 */
const BWD_TILING: Record<PlasticRule, { episodes: number; chunks: number }> = {
  hebbian: { episodes: 4, chunks: 1 },
  decay: { episodes: 4, chunks: 1 },
  oja: { episodes: 4, chunks: 1 },
  retroactive: { episodes: 2, chunks: 2 },
};

/**
 * plastic_step_bwd.wgsl specialised by its override constants to the rule (a branch on the rule in
 * the uniforms made the B=30, N=200 retroactive backward about 1.2x slower on lavapipe) and to each
 * BwdVariant `which` keeps (the shader says what those saved). With subgroups the row-sum shares
 * are summed across the lanes (plastic_shares_subgroup.wgsl); without, hebbian stores them as
 * floats (plastic_shares_f32.wgsl) and the other rules as vec4s.
 */
const backwardSources = (subgroups: boolean, which: (v: BwdVariant) => boolean): Record<string, KernelSource> =>
  Object.fromEntries(
    CHUNKS.flatMap(([variant, chunk]) =>
      RULES.flatMap((rule, code) => {
        const shares: [string, string] = subgroups
          ? ['plastic_shares_subgroup', plasticSharesSubgroup]
          : rule === 'hebbian'
            ? ['plastic_shares_f32', plasticSharesF32]
            : ['plastic_shares_vec4', plasticSharesVec4];
        const { episodes, chunks } = BWD_TILING[rule];
        const tiling: [string, string] = ['plastic_bwd_tiling', `const EB: u32 = ${episodes}u;\nconst CPL: u32 = ${chunks}u;\n`];
        return bwdVariants(rule).filter(which).map((v) => {
          const constants = { RULE: code, WITH_DW: Number(v.dw), SOFT_CLIP: Number(v.soft), ALPHA_FULL: Number(!v.rowAlpha), TRACE_GRADS: Number(!v.last) };
          const source = { ...withChunk(['plastic_step_bwd', plasticStepBwd], chunk, shares, tiling), constants };
          return [bwdKernel(rule, variant, v), subgroups ? { ...source, enable: ['subgroups'] } : source];
        });
      }),
    ),
  );

/** plastic_step.wgsl specialised by the rule, and with its cell on (`step`) or off (`update`). */
const forwardSources: Record<string, KernelSource> = Object.fromEntries(
  CHUNKS.flatMap(([variant, chunk]) =>
    RULES.flatMap((rule, code) =>
      (['step', 'update'] as const).map((what) => [
        `plastic_${what}${variant}_${rule}`,
        { ...withChunk(['plastic_step', plasticStep], chunk), constants: { RULE: code, CELL: what === 'step' ? 1 : 0 } },
      ]),
    ),
  ),
);

/** The backward variants of the RL networks (hard clip, full α) before their last step. */
const rlVariant = (v: BwdVariant) => !v.soft && !v.rowAlpha && !v.last;

/**
 * The plastic kernels for the backend's pipeline cache, for a device with or without subgroups
 * (GpuDevice.subgroups); `_f32` marks the Chunk = f32 variants.
 */
export const plasticSources = (subgroups: boolean) => ({
  ...(forwardSources as Record<ForwardKernel, KernelSource>),
  plastic_step_bwd_prep: withChunk(['plastic_step_bwd_prep', plasticStepBwdPrep], VEC4),
  plastic_step_bwd_finish: withChunk(['plastic_step_bwd_finish', plasticStepBwdFinish], VEC4),
  ...(backwardSources(subgroups, rlVariant) as Record<BwdKernel, KernelSource>),
});
/**
 * The backward's other variants, compiled where first used: a model meets a few of them (its
 * clip kind and α shape, and the last step's), and compiling all 80 with the backend took its
 * creation from 0.5 to 1.2 s on lavapipe.
 */
export const plasticSourcesOnFirstUse = (subgroups: boolean): Record<string, KernelSource> =>
  backwardSources(subgroups, (v) => !rlVariant(v));
export type PlasticKernelName = keyof ReturnType<typeof plasticSources> | BwdKernel;

/** The most storage buffers a plastic kernel binds (15, plastic_step_bwd.wgsl): devices with fewer skip them. */
export const PLASTIC_STORAGE_BUFFERS = Math.max(
  ...[false, true].flatMap((sg) => [...Object.values(plasticSources(sg)), ...Object.values(plasticSourcesOnFirstUse(sg))].map(storageBufferCount)),
);

/** What the plastic kernels need from the backend that records them. */
export interface PlasticRecorder {
  /** For the small reductions that finish the backward. */
  readonly backend: Backend;
  /** The backward's kernels come from plasticSources(subgroups). */
  readonly subgroups: boolean;
  /** A buffer to bind where a kernel writes nothing (k = 0 or 1: distinct, for two such bindings of one dispatch). */
  standIn(k: 0 | 1): GPUBuffer;
  /** The GPU buffer behind `buf`, checked to be live and to hold at least `need` elements. */
  buffer(op: string, arg: string, buf: Buf, need: number): GPUBuffer;
  /** A fresh buffer of `n` elements. */
  output(op: string, n: number): { buf: Buf; buffer: GPUBuffer };
  /** Records one dispatch of `workgroups` workgroups; fill the returned Params slot at once. */
  run(kernel: PlasticKernelName, buffers: readonly GPUBuffer[], workgroups: number): ParamsWriter;
}

/** Threads per workgroup: WG in common.wgsl. */
const WG = 64;
/** Episodes of one thread of plastic_step.wgsl (its EB). */
const EPISODES_PER_THREAD = 2;
/** The clip bound that means "unbounded": finite, so that the clamp and its bound test stay plain arithmetic. */
const UNBOUNDED = 3e38;

/** The geometry checked and turned into the numbers the kernels take. */
interface Layout {
  batch: number;
  n: number;
  /** Chunks per trace row, and the suffix of the kernel variant. */
  nc: number;
  variant: '' | '_f32';
  rule: number;
  retro: boolean;
  /** The soft clip's 1/c (0 for the others), and the clip bound (UNBOUNDED if none). */
  softK: number;
  clip: number;
  /** m[b, i] = mod[b·modB + i·modI]. */
  modB: number;
  modI: number;
  modSize: number;
  alphaFull: boolean;
  alphaStride: number;
  alphaSize: number;
}

function layout(op: string, g: PlasticGeometry): Layout {
  const { batch, n } = g;
  for (const [arg, v] of [['batch', batch], ['n', n]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${op}: geometry ${arg} must be a positive integer, got ${v}`);
  }
  const rule = RULES.indexOf(g.rule);
  if (rule < 0) throw new RangeError(`${op}: unknown rule '${g.rule}' (expected one of ${RULES.join(', ')})`);
  if (g.clip !== 'hard' && g.clip !== 'soft' && g.clip !== 'none') throw new RangeError(`${op}: unknown clip '${g.clip}' (expected hard, soft or none)`);
  // decay and oja are never clipped (backend.ts)
  const bounded = g.clip !== 'none' && (g.rule === 'hebbian' || g.rule === 'retroactive');
  if (bounded && !(g.clipValue > 0 && g.clipValue < UNBOUNDED)) throw new RangeError(`${op}: clipValue must be a positive finite number, got ${g.clipValue}`);
  const mod = { global: [0, 0, 1], episode: [1, 0, batch], neuron: [n, 1, batch * n] }[g.modKind];
  if (!mod) throw new RangeError(`${op}: unknown modKind '${g.modKind}' (expected global, episode or neuron)`);
  const alpha = { full: [0, n * n], neuron: [1, n], scalar: [0, 1] }[g.alphaKind];
  if (!alpha) throw new RangeError(`${op}: unknown alphaKind '${g.alphaKind}' (expected full, neuron or scalar)`);
  const vec4 = n % 4 === 0;
  return {
    batch,
    n,
    nc: vec4 ? n / 4 : n,
    variant: vec4 ? '' : '_f32',
    rule,
    retro: g.rule === 'retroactive',
    softK: bounded && g.clip === 'soft' ? 1 / g.clipValue : 0,
    clip: bounded ? g.clipValue : UNBOUNDED,
    modB: mod[0],
    modI: mod[1],
    modSize: mod[2],
    alphaFull: g.alphaKind === 'full',
    alphaStride: alpha[0],
    alphaSize: alpha[1],
  };
}

/** The GPU buffers of the inputs every plastic kernel reads, checked against the geometry. */
interface TraceInputs {
  hebb: GPUBuffer;
  /** The eligibility trace and eta, or null unless the rule is retroactive. */
  elig: GPUBuffer | null;
  eta: GPUBuffer | null;
  pre: GPUBuffer;
  post: GPUBuffer;
  mod: GPUBuffer;
}

/** The plastic kernels of one WebGPUBackend. */
export class WebGPUPlastic implements PlasticKernels {
  readonly #rec: PlasticRecorder;

  constructor(recorder: PlasticRecorder) {
    this.#rec = recorder;
  }

  hebbUpdate(g: PlasticGeometry, hebb: Buf, elig: Buf | null, pre: Buf, post: Buf, mod: Buf, eta: Buf | null): { hebb: Buf; elig: Buf | null } {
    const op = 'hebbUpdate';
    const l = layout(op, g);
    const t = this.#traceInputs(op, l, { hebb, elig, pre, post, mod, eta });
    // The cell is off: its inputs are never read, so any buffer will do, and h is never written.
    return this.#forward(op, l, t, [t.pre, t.pre, t.pre, t.pre, t.pre], this.#rec.standIn(1), false);
  }

  plasticStep(g: PlasticGeometry, inp: PlasticStepInputs): { h: Buf; hebb: Buf; elig: Buf | null } {
    const op = 'plasticStep';
    const l = layout(op, g);
    const t = this.#traceInputs(op, l, inp);
    const cell = this.#cellInputs(op, l, inp);
    const h = this.#rec.output(op, l.batch * l.n);
    const out = this.#forward(op, l, t, [cell.x, cell.drive, cell.w, cell.alpha, cell.alpha], h.buffer, true);
    return { h: h.buf, ...out };
  }

  plasticStepBackward(g: PlasticGeometry, inp: PlasticStepInputs, h: Buf, dh: readonly Buf[], dhebb: Buf | null, delig: Buf | null): PlasticStepGrads {
    const op = 'plasticStepBackward';
    const l = layout(op, g);
    const t = this.#traceInputs(op, l, inp);
    const cell = this.#cellInputs(op, l, inp);
    const { batch, n } = l;
    const rows = batch * n;
    const hIn = this.#rec.buffer(op, 'h', h, rows);
    checkDhParts(dh, rows);
    const dhIn = dh.map((part, k) => this.#rec.buffer(op, `dh[${k}]`, part, rows));
    const dHebbGiven = dhebb && this.#rec.buffer(op, 'dhebb', dhebb, rows * n);
    const dEligGiven = delig && l.retro ? this.#rec.buffer(op, 'delig', delig, rows * n) : null;
    const out = (count: number) => this.#rec.output(op, count);
    // Intermediates, freed once everything is recorded. Outputs a variant does not write are bound
    // to the recorder's stand-ins.
    const scratch: Buf[] = [];
    const temp = (count: number) => {
      const o = out(count);
      scratch.push(o.buf);
      return o;
    };
    // The pass takes both trace gradients or neither (TRACE_GRADS): zeros stand in for dH' or dE'
    // where only the other comes in.
    const traceGrads = dHebbGiven !== null || dEligGiven !== null;
    const zeros = () => {
      const z = this.#rec.backend.fill(rows * n, 0);
      scratch.push(z);
      return this.#rec.buffer(op, 'zeros', z, rows * n);
    };
    const dHebbIn = traceGrads ? (dHebbGiven ?? zeros()) : null;
    const dEligIn = traceGrads && l.retro ? (dEligGiven ?? zeros()) : null;

    // 1. per-row coefficients
    const ddrive = out(rows);
    const coef = temp(rows * 8);
    this.#rec
      .run(
        'plastic_step_bwd_prep',
        [hIn, t.mod, t.post, cell.alpha, t.eta ?? t.mod, ddrive.buffer, coef.buffer, ...Array.from({ length: PLASTIC_DH_PARTS }, (_, k) => dhIn[k] ?? hIn)],
        Math.ceil(rows / WG),
      )
      .u32(batch, n, l.rule, dhIn.length, l.alphaStride, l.modB, l.modI);

    // 2. the pass over the traces
    const tiling = BWD_TILING[g.rule];
    const colGroups = Math.ceil(l.nc / (BWD_LANES * tiling.chunks));
    const episodeBlocks = Math.ceil(batch / tiling.episodes);
    const dHebb = out(rows * n);
    const dElig = l.retro ? out(rows * n) : null;
    const dx = out(rows);
    const dpre = out(rows);
    // Shares of the row sums per row (plastic_shares_*.wgsl): one per column group with subgroups,
    // else one per lane; and floats per share: 4, or for hebbian without subgroups S1 (and S4
    // unless alpha is full).
    const shares = this.#rec.subgroups ? colGroups : colGroups * BWD_LANES;
    const ns = this.#rec.subgroups || g.rule !== 'hebbian' ? 4 : l.alphaFull ? 1 : 2;
    const rowPart = temp(rows * shares * ns);
    // dalpha and dw partials per episode block, [episodeBlocks, parts, N, N]. dw comes from this
    // pass only where one block holds every episode: then it needs no sum and saves the matmul's
    // dispatch. The whole backward took 0.85-0.89x the time at B = 1 and N = 100 or 200 and at
    // B = 4, N = 100 (hebbian), 0.86-0.93x at B = 1 (retroactive): the two ways alternated 15
    // times in one process. Over more blocks the partials move as many bytes as the matmul saves
    // work: at B = 30, N = 200 it ran 1.01x (hebbian) and 1.07x (retroactive) the time
    // (bench/plastic_time.ts builds alternated 4 times). Fewer partials, each workgroup walking
    // several blocks and adding to its rows of them while they are in cache, took the whole
    // backward there 1.01-1.15x the time with 2 to 15 blocks per workgroup (retroactive; hebbian
    // 1.00-1.07x), and 1.03-1.13x with dw summed too: fewer, longer workgroups slowed the pass
    // more than the reduction and the matmul cost (one scratch process, the settings alternated
    // 9 times).
    const withDw = episodeBlocks === 1;
    const parts = (l.alphaFull ? 1 : 0) + (withDw ? 1 : 0);
    const gradPart = parts > 0 ? out(episodeBlocks * parts * n * n) : null;
    this.#rec
      .run(
        bwdKernel(g.rule, l.variant, { dw: withDw, soft: l.softK > 0, rowAlpha: !l.alphaFull, last: !traceGrads }),
        [
          t.hebb, t.elig ?? t.hebb, dHebbIn ?? t.hebb, dEligIn ?? t.hebb, t.pre, cell.x, cell.w, cell.alpha, coef.buffer,
          dHebb.buffer, dElig?.buffer ?? this.#rec.standIn(0), dx.buffer, dpre.buffer, gradPart?.buffer ?? this.#rec.standIn(1), rowPart.buffer,
        ],
        colGroups * episodeBlocks,
      )
      .u32(batch, n, l.nc, colGroups, episodeBlocks, ns)
      .f32(l.softK, l.clip);

    // 3. the per-row gradients, and their sums over each episode's rows where the shapes of mod,
    // eta and alpha take no more
    const modRows = g.modKind === 'neuron';
    const alphaRows = g.alphaKind === 'neuron';
    const dpost = out(rows);
    const dmodOut = out(modRows ? rows : batch);
    const detaOut = l.retro ? out(batch) : null;
    const dalphaOut = l.alphaFull ? null : out(alphaRows ? rows : batch);
    this.#rec
      .run(
        'plastic_step_bwd_finish',
        [rowPart.buffer, rowPart.buffer, coef.buffer, dpost.buffer, dmodOut.buffer, detaOut?.buffer ?? this.#rec.standIn(0), dalphaOut?.buffer ?? this.#rec.standIn(1)],
        batch,
      )
      .u32(batch, n, shares, ns, l.rule, l.alphaFull ? 1 : 0, modRows ? 1 : 0, alphaRows ? 1 : 0);

    // 4. reductions to the shapes of w, alpha, mod and eta
    const be = this.#rec.backend;
    /** Σ over the middle axis of `part` viewed as [outer, len, inner]; consumes `part`. */
    const sum = (part: Buf, outer: number, len: number, inner: number): Buf => {
      if (len === 1) return part;
      const total = be.reduce('sum', part, outer, len, inner);
      be.free(part);
      return total;
    };
    const grads = gradPart && sum(gradPart.buf, 1, episodeBlocks, parts * n * n);
    /** Part `k` of `grads` (the whole buffer if it is the only part), or null. */
    const gradOf = (k: number): Buf | null => {
      if (parts === 1 || !grads) return grads;
      // a buffer copy: a few µs, where a dispatch takes 20-100 on lavapipe
      const one = be.alloc(n * n);
      be.copyStrided(grads, { offset: k * n * n, strides: [1] }, one, { offset: 0, strides: [1] }, [n * n]);
      return one;
    };
    // dw[i, j] = Σ_b dz[b, i]·x[b, j]: ddrive read transposed, times x.
    const w = withDw
      ? gradOf(parts - 1)!
      : be.matmul(ddrive.buf, inp.x, { batch: 1, m: n, k: batch, n, transA: true, transB: false, aBatchStride: 0, bBatchStride: 0 });
    const alpha = dalphaOut ? sum(dalphaOut.buf, 1, batch, alphaRows ? n : 1) : gradOf(0)!;
    if (parts === 2) be.free(grads!);
    const mod = g.modKind === 'global' ? sum(dmodOut.buf, 1, batch, 1) : dmodOut.buf;
    const eta = detaOut && sum(detaOut.buf, 1, batch, 1);
    for (const buf of scratch) be.free(buf);
    return { hebb: dHebb.buf, elig: dElig?.buf ?? null, pre: dpre.buf, post: dpost.buf, mod, eta, x: dx.buf, drive: ddrive.buf, w, alpha };
  }

  /** Records plastic_step.wgsl; `cell` = [x, drive, w, alpha (as Chunks), alpha (as floats)]. */
  #forward(op: string, l: Layout, t: TraceInputs, cell: readonly GPUBuffer[], h: GPUBuffer, withCell: boolean): { hebb: Buf; elig: Buf | null } {
    const traces = l.batch * l.n * l.n;
    const hebb = this.#rec.output(op, traces);
    const elig = l.retro ? this.#rec.output(op, traces) : null;
    // Without E' (and with the cell off, for h), the stand-ins take the unwritten outputs.
    const rowGroups = Math.ceil(l.n / WG);
    this.#rec
      .run(
        `plastic_${withCell ? 'step' : 'update'}${l.variant}_${RULES[l.rule]}`,
        [t.hebb, t.elig ?? t.hebb, t.pre, t.post, t.mod, t.eta ?? t.mod, ...cell, h, hebb.buffer, elig?.buffer ?? this.#rec.standIn(0)],
        rowGroups * Math.ceil(l.batch / EPISODES_PER_THREAD),
      )
      .u32(l.batch, l.n, l.nc, rowGroups, l.alphaFull ? 1 : 0, l.alphaStride, l.modB, l.modI)
      .f32(l.softK, l.clip);
    return { hebb: hebb.buf, elig: elig?.buf ?? null };
  }

  #traceInputs(op: string, l: Layout, a: { hebb: Buf; elig: Buf | null; pre: Buf; post: Buf; mod: Buf; eta: Buf | null }): TraceInputs {
    const rows = l.batch * l.n;
    const get = (arg: string, buf: Buf, need: number) => this.#rec.buffer(op, arg, buf, need);
    if (l.retro && (!a.elig || !a.eta)) throw new Error(`${op}: the retroactive rule needs elig and eta buffers`);
    return {
      hebb: get('hebb', a.hebb, rows * l.n),
      elig: l.retro ? get('elig', a.elig!, rows * l.n) : null,
      eta: l.retro ? get('eta', a.eta!, 1) : null,
      pre: get('pre', a.pre, rows),
      post: get('post', a.post, rows),
      mod: get('mod', a.mod, l.modSize),
    };
  }

  #cellInputs(op: string, l: Layout, a: PlasticStepInputs): { x: GPUBuffer; drive: GPUBuffer; w: GPUBuffer; alpha: GPUBuffer } {
    const rows = l.batch * l.n;
    return {
      x: this.#rec.buffer(op, 'x', a.x, rows),
      drive: this.#rec.buffer(op, 'drive', a.drive, rows),
      w: this.#rec.buffer(op, 'w', a.w, l.n * l.n),
      alpha: this.#rec.buffer(op, 'alpha', a.alpha, l.alphaSize),
    };
  }
}
