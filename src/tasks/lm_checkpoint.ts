/**
 * Checkpoints of a language-model run: everything a resumed run needs to continue exactly as an
 * uninterrupted one (DESIGN.md, reliability), in one safetensors file written atomically.
 *
 * Tensors: `model.<param>`, the ASGD averages `avg.<param>`, the best-validation parameters
 * `best.<param>`, and mid-epoch the carried recurrent state `state.<layer>.<h|c|hebb|elig|pre|post|mod>`.
 * Metadata `lm`: JSON of the options, the progress counters and the RNG state. SGD without
 * momentum has no state of its own; the learning rate follows from the schedule.
 */
import { keep, loadCheckpoint, saveCheckpoint, tensor, type HostTensor, type RngState, type Tensor } from '../autograd/index.js';
import type { LayerState } from '../models/lstm.js';
import type { LanguageModel, LmState } from '../models/lm.js';
import type { LmEpochRecord, LmTrainOptions } from './lm_options.js';

export interface LmProgress {
  /** The epoch being trained (1-based); epochs + 1 once training is over. */
  epoch: number;
  /** Next row of the batched training stream. */
  position: number;
  step: number;
  /** Training tokens and Σ CE of the current epoch, and its training seconds so far. */
  epochTokens: number;
  epochLoss: number;
  epochSeconds: number;
  /** Whole-run training tokens and seconds (for tokens/s). */
  trainTokens: number;
  trainSeconds: number;
  /** Steps averaged since the switch to ASGD; null before it. */
  asgdSteps: number | null;
  bestValid: number | null;
  bestEpoch: number;
  history: LmEpochRecord[];
}

export interface LmSnapshot {
  options: LmTrainOptions;
  progress: LmProgress;
  rng: RngState;
  /** ASGD running averages, by parameter name. */
  avg: Map<string, Tensor> | null;
  best: Map<string, Tensor> | null;
  /** The carried state when the checkpoint is taken mid-epoch. */
  state: LmState | null;
}

const STATE_FIELDS = ['h', 'c', 'hebb', 'elig', 'pre', 'post', 'mod'] as const;

function stateTensors(s: LayerState): Record<(typeof STATE_FIELDS)[number], Tensor | null> {
  return { h: s.h, c: s.c, hebb: s.hebb, elig: s.elig, pre: s.pending?.pre ?? null, post: s.pending?.post ?? null, mod: s.pending?.mod ?? null };
}

export async function saveLmCheckpoint(path: string, model: LanguageModel, snap: LmSnapshot): Promise<void> {
  const tensors: Record<string, Tensor> = {};
  for (const [k, p] of model.namedParameters()) tensors[`model.${k}`] = p;
  for (const [prefix, map] of [['avg', snap.avg], ['best', snap.best]] as const) {
    if (map) for (const [k, t] of map) tensors[`${prefix}.${k}`] = t;
  }
  snap.state?.forEach((s, l) => {
    for (const [f, t] of Object.entries(stateTensors(s))) if (t) tensors[`state.${l}.${f}`] = t;
  });
  const meta = { version: 1, options: snap.options, progress: snap.progress, rng: snap.rng };
  await saveCheckpoint(path, tensors, { lm: JSON.stringify(meta) });
}

/** Dotted keys whose values differ between two JSON-like objects. */
export function diffOptions(a: unknown, b: unknown, prefix = ''): string[] {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !Array.isArray(a)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => diffOptions((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${prefix}${k}.`));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix.slice(0, -1)];
}

/**
 * Reads a checkpoint written by saveLmCheckpoint, loads its parameters into `model`, and returns
 * the rest as fresh tensors owned by the caller. Throws if it was written with other options.
 */
export async function loadLmCheckpoint(path: string, model: LanguageModel, options: LmTrainOptions): Promise<LmSnapshot> {
  const { tensors, metadata } = await loadCheckpoint(path);
  if (!metadata.lm) throw new Error(`resume: ${path} is not a language-model checkpoint (no 'lm' metadata)`);
  const meta = JSON.parse(metadata.lm) as { version: number; options: LmTrainOptions; progress: LmProgress; rng: RngState };
  const diff = diffOptions(meta.options, options);
  if (diff.length) {
    throw new Error(`resume: ${path} was written with different options (${diff.join(', ')}); rerun with the same options or another --out`);
  }
  const group = (prefix: string) => {
    const entries = Object.entries(tensors).filter(([k]) => k.startsWith(prefix));
    return new Map(entries.map(([k, t]) => [k.slice(prefix.length), t]));
  };
  model.loadStateDict(Object.fromEntries(group('model.')));
  const toTensor = (h: HostTensor) => keep(tensor(h.data, h.shape));
  const toMap = (m: Map<string, HostTensor>) => (m.size ? new Map([...m].map(([k, h]) => [k, toTensor(h)])) : null);
  const saved = group('state.');
  let state: LmState | null = null;
  if (saved.size) {
    state = model.layers.map((_, l) => {
      const get = (f: string) => {
        const h = saved.get(`${l}.${f}`);
        return h ? toTensor(h) : null;
      };
      const [pre, post, mod] = [get('pre'), get('post'), get('mod')];
      return { h: get('h')!, c: get('c')!, hebb: get('hebb'), elig: get('elig'), pending: pre && post && mod ? { pre, post, mod } : null };
    });
  }
  return { options: meta.options, progress: meta.progress, rng: meta.rng, avg: toMap(group('avg.')), best: toMap(group('best.')), state };
}
