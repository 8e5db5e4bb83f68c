/**
 * Baseline 5: the machine's measured 2-process capacity. The same CPU-bound loop, for a fixed amount of
 * work, runs in one child process alone and then in two child processes at once; the speed-up is
 * 2 × T(one) / T(two). 2.0 = two idle cores; less on a shared/noisy box.
 */
import { performance } from 'node:perf_hooks';
import { cpuWork } from '../lib/cpu';
import { median } from '../lib/stats';
import { Peer } from './peer-control';

export interface TwoProcessCapacityResult {
  /** Median over repeats of 2 × oneMs / twoMs. */
  speedup: number;
  /** Median time of the work in one process alone, ms. */
  oneMs: number;
  /** Median time until both processes finished the same work each (first start → last end), ms. */
  twoMs: number;
  /** Loop iterations per process (calibrated so that one process takes about `ms`). */
  iterations: number;
  speedups: number[];
}

/** Iterations of cpuWork that take about `ms` here (calibrated in this process). */
function calibrate(ms: number): number {
  cpuWork(2_000_000);
  let n = 1_000_000;
  for (let k = 0; k < 30; k++) {
    const t0 = performance.now();
    cpuWork(n);
    const dt = performance.now() - t0;
    if (dt >= 20) return Math.max(1, Math.round((n * ms) / dt));
    n *= 4;
  }
  return n;
}

/**
 * Measures the 2-process speed-up with work sized so one process takes about `ms` (default 500),
 * `repeats` (default 3) times; two peer processes are reused for all runs and stopped at the end.
 */
export async function twoProcessCapacity(ms = 500, repeats = 3): Promise<TwoProcessCapacityResult> {
  const workMs = Math.max(10, Math.min(ms, 60_000));
  const reps = Math.max(1, Math.min(Math.floor(repeats), 20));
  const n = calibrate(workMs);
  const timeout = 20 * workMs + 30_000;
  const lifetimeMs = reps * 3 * timeout + 30_000;
  const peers = [new Peer({ mode: 'cpu', lifetimeMs }), new Peer({ mode: 'cpu', lifetimeMs })];
  try {
    await Promise.all(peers.map((p) => p.next('ready', 30_000)));
    const ones: number[] = [];
    const twos: number[] = [];
    const speedups: number[] = [];
    for (let r = 0; r < reps; r++) {
      const solo = peers[r % 2];
      solo.send({ type: 'go', n });
      const m = await solo.guard(solo.next('cpu', timeout), timeout, 'cpu (one process)');
      const one = Number(BigInt(m.end) - BigInt(m.start)) / 1e6;

      for (const p of peers) p.send({ type: 'go', n });
      const ms2 = await Promise.all(peers.map((p) => p.guard(p.next('cpu', timeout), timeout, 'cpu (two processes)')));
      const start = ms2.map((x) => BigInt(x.start)).reduce((a, b) => (a < b ? a : b));
      const end = ms2.map((x) => BigInt(x.end)).reduce((a, b) => (a > b ? a : b));
      const two = Number(end - start) / 1e6;
      ones.push(one);
      twos.push(two);
      speedups.push((2 * one) / two);
    }
    return { speedup: median(speedups), oneMs: median(ones), twoMs: median(twos), iterations: n, speedups };
  } finally {
    await Promise.all(peers.map((p) => p.stop()));
  }
}
