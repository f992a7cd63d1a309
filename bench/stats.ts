/**
 * The statistics of the figure scripts (PAPER.md §2.1-2.2, `sr/makefigure.py`, `maze/makefigure.py`):
 * quantiles across runs, a moving average along episodes, and the Wilcoxon rank-sum test between
 * two groups of runs. Small enough to own rather than pull in a statistics package.
 */

/** The q-quantile of `xs` with linear interpolation between order statistics (NumPy's default). */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export interface Spread {
  median: number;
  q25: number;
  q75: number;
}

export function spread(xs: readonly number[]): Spread {
  return { median: quantile(xs, 0.5), q25: quantile(xs, 0.25), q75: quantile(xs, 0.75) };
}

/**
 * Trailing moving average over `width` points; the first points average what precedes them, so the
 * curve keeps its length and its start.
 */
export function movingAverage(xs: readonly number[], width: number): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; i < xs.length; i++) {
    sum += xs[i];
    if (i >= width) sum -= xs[i - width];
    out.push(sum / Math.min(i + 1, width));
  }
  return out;
}

/** 1-based ranks of `xs`, ties sharing the mean of the ranks they span. */
export function ranks(xs: readonly number[]): number[] {
  const order = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
  const r = new Array<number>(xs.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && xs[order[j + 1]] === xs[order[i]]) j++;
    for (let k = i; k <= j; k++) r[order[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

export interface RankSum {
  /** Sum of the ranks of `x` in the pooled sample. */
  w: number;
  /** Standardised statistic: positive when `x` tends to be larger. */
  z: number;
  /** Two-sided p-value from the normal approximation. */
  p: number;
}

/**
 * The Wilcoxon rank-sum test, normal approximation with the variance corrected for ties and no
 * continuity correction: the same p as `scipy.stats.mannwhitneyu(x, y, use_continuity=False,
 * method='asymptotic')`, and as `scipy.stats.ranksums` (which the authors' figure scripts call)
 * whenever there are no ties. With learning curves, ties are common (e.g. all runs at 0 reward).
 */
export function rankSum(x: readonly number[], y: readonly number[]): RankSum {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) return { w: NaN, z: NaN, p: NaN };
  const pooled = [...x, ...y];
  const r = ranks(pooled);
  const w = r.slice(0, n1).reduce((a, b) => a + b, 0);
  const n = n1 + n2;
  // Σ(t³ − t) over groups of tied values.
  const counts = new Map<number, number>();
  for (const v of pooled) counts.set(v, (counts.get(v) ?? 0) + 1);
  let ties = 0;
  for (const t of counts.values()) ties += t ** 3 - t;
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  // All values equal: no evidence either way.
  if (!(variance > 0)) return { w, z: 0, p: 1 };
  const z = (w - (n1 * (n + 1)) / 2) / Math.sqrt(variance);
  return { w, z, p: Math.min(1, erfc(Math.abs(z) / Math.SQRT2)) };
}

/**
 * The complementary error function, from the Chebyshev fit of Numerical Recipes (`erfcc`, relative
 * error below 1.2e-7 everywhere): ample for p-values.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly =
    -z * z - 1.26551223 +
    t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const r = t * Math.exp(poly);
  return x >= 0 ? r : 2 - r;
}
