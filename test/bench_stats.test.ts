/**
 * The figure scripts' statistics (bench/stats.ts). Reference values are SciPy 1.17 / NumPy:
 * `np.percentile`, `scipy.stats.ranksums` and `scipy.stats.mannwhitneyu(use_continuity=False,
 * method='asymptotic')` on the same samples.
 */
import { describe, expect, test } from 'vitest';
import { erfc, movingAverage, quantile, rankSum, ranks, spread } from '../bench/stats.js';

describe('quantile', () => {
  test('interpolates linearly like np.percentile', () => {
    const xs = [3, 1, 4, 1, 5, 9, 2, 6];
    expect(spread(xs)).toEqual({ q25: 1.75, median: 3.5, q75: 5.25 });
    expect(quantile(xs, 0)).toBe(1);
    expect(quantile(xs, 1)).toBe(9);
    expect(quantile([7], 0.25)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
  });
});

test('movingAverage keeps the length and averages the available prefix', () => {
  expect(movingAverage([2, 4, 6, 8, 10], 2)).toEqual([2, 3, 5, 7, 9]);
  expect(movingAverage([1, 2, 3], 20)).toEqual([1, 1.5, 2]);
});

test('ranks share the mean rank across ties', () => {
  expect(ranks([10, 20, 20, 5, 20])).toEqual([2, 4, 4, 1, 4]);
});

describe('rankSum', () => {
  test('matches scipy.stats.ranksums without ties', () => {
    const r = rankSum([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]);
    expect(r.w).toBe(15);
    expect(r.z).toBeCloseTo(-2.6111648393354674, 10);
    expect(r.p).toBeCloseTo(0.009023438818080326, 6);
  });

  test('corrects the variance for ties like mannwhitneyu', () => {
    const x = [1, 2, 2, 3, 5, 5, 5, 8];
    const y = [2, 4, 5, 6, 6, 9, 10];
    const r = rankSum(x, y);
    expect(r.p).toBeCloseTo(0.11326762363401209, 6);
    // scipy.stats.ranksums (no tie correction) gives p 0.1182 here: the correction shrinks p.
    expect(r.p).toBeLessThan(0.1182);
    expect(rankSum(y, x).z).toBeCloseTo(-r.z, 12);
  });

  test('is uninformative when every value is equal', () => {
    expect(rankSum([0, 0, 0], [0, 0])).toMatchObject({ z: 0, p: 1 });
  });
});

test('erfc is accurate to 1e-7', () => {
  // math.erfc in Python.
  expect(erfc(0)).toBeCloseTo(1, 7);
  expect(erfc(1)).toBeCloseTo(0.15729920705028513, 7);
  expect(erfc(-0.5)).toBeCloseTo(1.5204998778130465, 7);
  expect(erfc(3) / 2.209049699858544e-5).toBeCloseTo(1, 6);
});
