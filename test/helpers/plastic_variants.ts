/**
 * The plastic-step variants every backend's unrolled test runs: each rule, clip, modulation and
 * alpha shape at least once, with the clip active on some entries, negative modulation, N not a
 * multiple of the workgroup (or of 4), and B = 1.
 */
import type { Variant } from './plastic_unroll.js';

export const VARIANTS: Variant[] = [
  { name: 'hebbian, global eta, full alpha', cfg: { rule: 'hebbian' }, batch: 3, n: 7, steps: 8, mod: 'global', alpha: 'full' },
  { name: 'neuromodulated M per episode', cfg: { rule: 'hebbian' }, batch: 2, n: 67, steps: 8, mod: 'episode', alpha: 'full' },
  { name: 'fan-out per neuron, per-neuron alpha, clip 2', cfg: { rule: 'hebbian', clipValue: 2 }, batch: 2, n: 9, steps: 8, mod: 'neuron', alpha: 'neuron' },
  { name: 'soft clip, scalar alpha, B = 1', cfg: { rule: 'hebbian', clip: 'soft' }, batch: 1, n: 5, steps: 9, mod: 'episode', alpha: 'scalar' },
  { name: 'no clip', cfg: { rule: 'hebbian', clip: 'none' }, batch: 2, n: 6, steps: 8, mod: 'episode', alpha: 'full' },
  { name: 'decay', cfg: { rule: 'decay' }, batch: 2, n: 6, steps: 8, mod: 'global', alpha: 'full' },
  { name: 'oja', cfg: { rule: 'oja' }, batch: 2, n: 6, steps: 8, mod: 'global', alpha: 'full' },
  { name: 'retroactive', cfg: { rule: 'retroactive' }, batch: 3, n: 11, steps: 10, mod: 'episode', alpha: 'full' },
  { name: 'retroactive, soft clip, fan-out', cfg: { rule: 'retroactive', clip: 'soft' }, batch: 2, n: 5, steps: 8, mod: 'neuron', alpha: 'neuron' },
];
