/** Summary statistics over a set of samples (any unit; the caller keeps track of which). */
export interface Stats {
  n: number;
  mean: number;
  median: number;
  p99: number;
  min: number;
  max: number;
  /** Sample standard deviation (0 when n < 2). */
  stdev: number;
}

/** Nearest-rank-with-interpolation quantile of an ascending-sorted array, q in [0, 1]. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  if (n === 1) return sorted[0];
  const pos = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** mean / median / p99 / min / max / stdev of the samples. Empty input gives NaNs with n = 0. */
export function stats(samples: ArrayLike<number>): Stats {
  const n = samples.length;
  if (n === 0) return { n: 0, mean: NaN, median: NaN, p99: NaN, min: NaN, max: NaN, stdev: NaN };
  const sorted = Float64Array.from(samples as ArrayLike<number>).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i];
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (sorted[i] - mean) ** 2;
  return {
    n,
    mean,
    median: quantileSorted(sorted, 0.5),
    p99: quantileSorted(sorted, 0.99),
    min: sorted[0],
    max: sorted[n - 1],
    stdev: n > 1 ? Math.sqrt(sq / (n - 1)) : 0,
  };
}

/** Median of the samples (NaN when empty). */
export function median(samples: ArrayLike<number>): number {
  return stats(samples).median;
}
