/**
 * Evaluation of the language models, and the recurrent state carried across BPTT segments.
 *
 * Perplexity is exp of the mean cross-entropy per token over a split, run without dropout from a
 * zero state (traces included) that is carried from one segment to the next, as in training.
 */
import { crossEntropy, detach, dispose, keep, noGrad, scale, tidy, type Tensor } from '../autograd/index.js';
import type { LanguageModel, LmState } from '../models/lm.js';
import type { LayerState } from '../models/lstm.js';
import { getBatch, type Batched } from './lm_batch.js';

/** A copy with its own storage, no graph, kept out of every scope. */
export const cloneTensor = (t: Tensor) => noGrad(() => keep(scale(t, 1)));

/**
 * The state cut from the graph and kept out of every scope (the caller disposes it). The pending
 * modulation is copied: for the non-modulated layer it is η itself, which the optimizer changes
 * in place before the update is applied.
 */
export function carryState(state: LmState): LmState {
  const c = (t: Tensor) => keep(detach(t));
  const one = (s: LayerState): LayerState => ({
    h: c(s.h),
    c: c(s.c),
    hebb: s.hebb && c(s.hebb),
    elig: s.elig && c(s.elig),
    pending: s.pending && { pre: c(s.pending.pre), post: c(s.pending.post), mod: cloneTensor(s.pending.mod) },
  });
  return state.map(one);
}

export function disposeState(state: LmState | null): void {
  for (const s of state ?? []) dispose([s.h, s.c, s.hebb, s.elig, s.pending?.pre ?? null, s.pending?.post ?? null, s.pending?.mod ?? null]);
}

/**
 * Mean cross-entropy (nats per token) and perplexity over `data`, without dropout, from a zero
 * state; `maxTokens` limits it to a prefix of every column.
 */
export async function evaluateLm(model: LanguageModel, data: Batched, bptt: number, maxTokens: number | null = null): Promise<{ loss: number; ppl: number; tokens: number }> {
  const rows = maxTokens === null ? data.length : Math.max(2, Math.min(data.length, Math.floor(maxTokens / data.batch) + 1));
  const src = { ...data, length: rows };
  const sums: Tensor[] = [];
  let tokens = 0;
  noGrad(() => {
    let state = model.initialState(data.batch);
    for (let i = 0; i < rows - 1; i += bptt) {
      const b = getBatch(src, i, bptt);
      let next: LmState = [];
      sums.push(
        tidy(() => {
          const f = model.forward(b.inputs, b.seqLen, state, null);
          next = carryState(f.state);
          return crossEntropy(f.logits, b.targets, { reduction: 'sum' });
        }),
      );
      disposeState(state);
      state = next;
      tokens += b.targets.length;
    }
    disposeState(state);
  });
  let total = 0;
  for (const s of sums) total += await s.item();
  dispose(sums);
  return { loss: total / tokens, ppl: Math.exp(total / tokens), tokens };
}
