import { performance } from 'node:perf_hooks';
import { stats, Stats } from './stats';

export interface TimeitOptions {
  /** Run at least this many timed calls (default 10). */
  minIterations?: number;
  /** ...and keep going until at least this much time was spent in timed calls (default 200 ms). */
  minMs?: number;
  /** Hard upper bound on timed calls, whatever minMs says (default 10_000_000). */
  maxIterations?: number;
  /** Hard upper bound on wall time of the timed phase (default max(10 × minMs, 10 s)). */
  maxMs?: number;
  /** Untimed calls first (default 0). */
  warmup?: number;
}

export interface TimeitResult extends Stats {
  /** Timed calls made. */
  iterations: number;
  /** Wall time of the timed phase, ms. */
  totalMs: number;
  /** iterations / totalMs, per second. */
  opsPerSec: number;
  /** Per-call samples are in microseconds: mean/median/p99/min/max/stdev are µs. */
  unit: 'us';
  /** Same as mean / median / p99, named with their unit. */
  meanUs: number;
  medianUs: number;
  p99Us: number;
}

/**
 * Times `fn` (sync or async) call by call, until both `minIterations` calls and `minMs` of timed wall
 * time are reached, bounded by `maxIterations` and `maxMs`. Per-call samples are in µs.
 */
export async function timeit(fn: () => unknown, opts: TimeitOptions = {}): Promise<TimeitResult> {
  const minIterations = Math.max(1, opts.minIterations ?? 10);
  const minMs = opts.minMs ?? 200;
  const maxIterations = Math.max(minIterations, opts.maxIterations ?? 10_000_000);
  const maxMs = opts.maxMs ?? Math.max(10 * minMs, 10_000);
  const warmup = opts.warmup ?? 0;

  for (let i = 0; i < warmup; i++) {
    const r = fn();
    if (r instanceof Promise) await r;
  }

  const samples: number[] = [];
  const start = performance.now();
  let now = start;
  while (samples.length < maxIterations && now - start < maxMs) {
    const t0 = performance.now();
    const r = fn();
    if (r instanceof Promise) await r;
    now = performance.now();
    samples.push((now - t0) * 1000);
    if (samples.length >= minIterations && now - start >= minMs) break;
  }
  const totalMs = now - start;
  const s = stats(samples);
  return {
    ...s,
    meanUs: s.mean,
    medianUs: s.median,
    p99Us: s.p99,
    iterations: samples.length,
    totalMs,
    opsPerSec: totalMs > 0 ? samples.length / (totalMs / 1000) : Infinity,
    unit: 'us',
  };
}
