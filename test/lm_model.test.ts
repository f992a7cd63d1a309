/**
 * The language model's bookkeeping: parameter counts (the paper's AWD figures exactly), the
 * hidden-size solver of the matching protocol, parameter names and initial values, and the
 * perplexity of a uniform model.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import * as bp from '../src/autograd/index.js';
import { CpuBackend } from '../src/kernels/cpu/cpu_backend.js';
import { LanguageModel, LM_CELLS, lmParameterCount, matchHiddenSize, type LmSize } from '../src/models/lm.js';
import { lmPreset } from '../src/tasks/lm_presets.js';
import { meanCi95, medianRange } from '../src/tasks/lm_stats.js';
import { evaluateLm } from '../src/tasks/lm_eval.js';
import { batchify } from '../src/tasks/lm_batch.js';

beforeAll(() => bp.setBackend(new CpuBackend('f64')));

const AWD: Omit<LmSize, 'hiddenSize' | 'cell'> = { vocabSize: 10_000, embeddingSize: 400, numLayers: 3, tied: true, alpha: 'neuron' };

describe('parameter counts', () => {
  test('reproduce the AWD-LSTM figures of the paper (PAPER.md §2.3(b))', () => {
    expect(lmParameterCount({ ...AWD, hiddenSize: 1150, cell: 'lstm' })).toBe(24_221_600);
    expect(lmParameterCount({ ...AWD, hiddenSize: 1149, cell: 'neuromodulated' })).toBe(24_198_893);
    expect(lmParameterCount({ ...AWD, hiddenSize: 1149, cell: 'hebbian' })).toBe(24_190_799);
  });

  test('the solver gives 1149 to both plastic large models, as the authors chose', () => {
    const target = lmParameterCount({ ...AWD, hiddenSize: 1150, cell: 'lstm' });
    expect(matchHiddenSize({ ...AWD, cell: 'neuromodulated' }, target)).toBe(1149);
    expect(matchHiddenSize({ ...AWD, cell: 'hebbian' }, target)).toBe(1149);
    expect(matchHiddenSize({ ...AWD, cell: 'lstm' }, target)).toBe(1150);
  });

  test('the basic presets match every condition to the baseline within one hidden unit', () => {
    const counts = LM_CELLS.map((cell) => {
      const o = lmPreset({ preset: 'basic', cell, scale: 'paper', vocabSize: 10_000, seed: 1 });
      const n = lmParameterCount({ ...o.model, vocabSize: 10_000 });
      const more = lmParameterCount({ ...o.model, hiddenSize: o.model.hiddenSize + 1, vocabSize: 10_000 });
      return { cell, hidden: o.model.hiddenSize, n, more };
    });
    const base = counts[0].n;
    expect(counts[0].hidden).toBe(200);
    for (const c of counts) {
      expect(c.n, c.cell).toBeLessThanOrEqual(base);
      expect(c.more, c.cell).toBeGreaterThan(base);
    }
  });

  test('the formula counts exactly what the models register, for every cell, α, fan-out and tying', () => {
    for (const cell of LM_CELLS) {
      for (const alpha of ['neuron', 'full'] as const) {
        for (const tied of [false, true]) {
          for (const fanout of ['neuron', 'connection'] as const) {
            const size: LmSize = { vocabSize: 11, embeddingSize: 5, hiddenSize: 7, numLayers: 3, tied, cell, alpha, fanout };
            const m = new LanguageModel({ ...size, rng: new bp.Rng(1) });
            expect(m.parameters().reduce((a, p) => a + p.size, 0), JSON.stringify(size)).toBe(lmParameterCount(size));
            m.dispose();
          }
        }
      }
    }
  });
});

describe('LanguageModel', () => {
  test('parameter names and shapes of a modulated plastic layer; the last tied layer has the embedding width', () => {
    const m = new LanguageModel({ vocabSize: 11, embeddingSize: 5, hiddenSize: 7, numLayers: 2, tied: true, cell: 'retroactive', rng: new bp.Rng(1) });
    const shapes = Object.fromEntries(m.namedParameters().map(([k, t]) => [k, t.shape]));
    expect(shapes).toEqual({
      'encoder.weight': [11, 5],
      'rnns.0.x2h.weight': [28, 5], 'rnns.0.x2h.bias': [28], 'rnns.0.h2h.weight': [21, 7], 'rnns.0.h2h.bias': [21],
      'rnns.0.w': [7, 7], 'rnns.0.alpha': [7, 1],
      'rnns.0.h2mod.weight': [1, 7], 'rnns.0.h2mod.bias': [1], 'rnns.0.modfanout.weight': [7, 1], 'rnns.0.modfanout.bias': [7], 'rnns.0.etaet': [1],
      'rnns.1.x2h.weight': [20, 7], 'rnns.1.x2h.bias': [20], 'rnns.1.h2h.weight': [15, 5], 'rnns.1.h2h.bias': [15],
      'rnns.1.w': [5, 5], 'rnns.1.alpha': [5, 1],
      'rnns.1.h2mod.weight': [1, 5], 'rnns.1.h2mod.bias': [1], 'rnns.1.modfanout.weight': [5, 1], 'rnns.1.modfanout.bias': [5], 'rnns.1.etaet': [1],
      'decoder.bias': [11],
    });
    m.dispose();
  });

  test('initial values: AWD w ~ U(±0.01), α ~ 1e-4·U[0,1), η 0.01; with initScale every other weight ~ U(±scale)', async () => {
    const range = async (t: bp.Tensor) => {
      const d = await t.data();
      return [Math.min(...d), Math.max(...d)];
    };
    const awd = new LanguageModel({ vocabSize: 50, embeddingSize: 20, hiddenSize: 30, numLayers: 1, tied: false, cell: 'hebbian', rng: new bp.Rng(2) });
    const sd = awd.stateDict();
    const [wLo, wHi] = await range(sd['rnns.0.w']);
    expect(wLo).toBeGreaterThanOrEqual(-0.01);
    expect(wHi).toBeLessThanOrEqual(0.01);
    expect(wHi - wLo).toBeGreaterThan(0.019);
    const [aLo, aHi] = await range(sd['rnns.0.alpha']);
    expect(aLo).toBeGreaterThanOrEqual(0);
    expect(aHi).toBeLessThan(1e-4);
    expect(await sd['rnns.0.eta'].item()).toBeCloseTo(0.01, 12);
    expect(await range(sd['decoder.bias'])).toEqual([0, 0]);
    awd.dispose();
    const z = new LanguageModel({ vocabSize: 50, embeddingSize: 20, hiddenSize: 30, numLayers: 1, tied: false, cell: 'neuromodulated', initScale: 0.05, rng: new bp.Rng(2) });
    for (const [k, p] of z.namedParameters()) {
      const [lo, hi] = await range(p);
      if (k.endsWith('alpha')) expect(hi).toBeLessThan(1e-4);
      else expect(Math.max(-lo, hi), k).toBeLessThanOrEqual(0.05);
    }
    z.dispose();
  });

  test('a uniform model (zero decoder) has perplexity equal to the vocabulary size', async () => {
    const V = 37;
    const m = new LanguageModel({ vocabSize: V, embeddingSize: 4, hiddenSize: 6, numLayers: 2, tied: false, cell: 'neuromodulated', rng: new bp.Rng(3) });
    for (const p of [m.decoder.weight!, m.decoder.bias]) bp.assign(p, { data: new Float64Array(p.size), shape: p.shape });
    const rng = new bp.Rng(4);
    const tokens = Int32Array.from({ length: 400 }, () => rng.int(V));
    const r = await evaluateLm(m, batchify(tokens, 3), 7);
    expect(r.ppl).toBeCloseTo(V, 9);
    expect(r.tokens).toBe(3 * (Math.floor(400 / 3) - 1));
    m.dispose();
  });
});

describe('Table 1 statistics', () => {
  test('mean ± 95% CI uses Student\'s t; median (min, max)', () => {
    const r = meanCi95([1, 2, 3, 4]);
    expect(r.mean).toBe(2.5);
    // s = √(5/3), t(3) = 3.182
    expect(r.ci).toBeCloseTo((3.182 * Math.sqrt(5 / 3)) / 2, 10);
    expect(meanCi95([7]).ci).toBeNaN();
    expect(medianRange([5, 1, 3, 9])).toEqual({ median: 4, min: 1, max: 9, n: 4 });
    expect(medianRange([62.6, 62.4, 62.48]).median).toBe(62.48);
  });
});
