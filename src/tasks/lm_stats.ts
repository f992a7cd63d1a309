/**
 * The statistics of Table 1 (PAPER.md §3.1): mean ± 95% confidence interval over the basic
 * model's runs, median (min, max) over the large model's.
 */

/** Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101,
  2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** Mean and the half-width of its 95% confidence interval (t·s/√n; NaN for a single value). */
export function meanCi95(xs: readonly number[]): { mean: number; ci: number; n: number } {
  const n = xs.length;
  if (n === 0) throw new RangeError('meanCi95: no values');
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, ci: NaN, n };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  return { mean, ci: (T975[n - 2] ?? 1.96) * (sd / Math.sqrt(n)), n };
}

export function medianRange(xs: readonly number[]): { median: number; min: number; max: number; n: number } {
  if (xs.length === 0) throw new RangeError('medianRange: no values');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return { median: s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2, min: s[0], max: s[s.length - 1], n: s.length };
}
