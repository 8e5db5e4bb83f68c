/**
 * The Julia manual's advection kernel, `q[i,j,t+1] = q[i,j,t] + u[i,j,t]`, in the manual's three
 * variants (its SharedArrays section): serial, distributed per time step, and shared chunks split along
 * the second dimension. Used by examples/advection.ts, bench/shared-array.ts and the tests.
 *
 * Functions that run on workers travel as source, so they use no imports: `sdata`, `indexpids` and
 * `procs` are globals there (every package export is, SPEC §3a), and the kernel itself is passed along
 * as an argument.
 */
// Aliased: the bare names below are the worker-side globals shipped code sees.
import { procs as procsOf, remotecall_fetch, remotecall_wait, workers, type SharedArray } from '../src/index';
import type * as Api from '../src/index';

declare const sdata: typeof Api.sdata;
declare const indexpids: typeof Api.indexpids;
declare const procs: typeof Api.procs;

/** The kernel over column-major n1×n2×n3 arrays, on i in [i0, i1), j in [j0, j1), t in [t0, t1). */
export function advectionChunk(
  q: Float64Array,
  u: Float64Array,
  n1: number,
  n2: number,
  i0: number,
  i1: number,
  j0: number,
  j1: number,
  t0: number,
  t1: number,
): void {
  const plane = n1 * n2;
  for (let t = t0; t < t1; t++) {
    for (let j = j0; j < j1; j++) {
      const at = t * plane + j * n1;
      const next = at + plane;
      for (let i = i0; i < i1; i++) q[next + i] = q[at + i] + u[at + i];
    }
  }
}

/** `advection_serial!`: the whole kernel in this process, on plain typed arrays. */
export function advectionSerial(q: Float64Array, u: Float64Array, dims: readonly number[]): void {
  const [n1, n2, n3] = dims;
  advectionChunk(q, u, n1, n2, 0, n1, 0, n2, 0, n3 - 1);
}

/** The manual's `myrange(q)`: this process's (irange, jrange), splitting the 2nd dimension by indexpids. */
export function myrange(q: SharedArray): [[number, number], [number, number]] {
  const idx = indexpids(q);
  if (idx < 0) return [[0, 0], [0, 0]];
  const nchunks = procs(q).length;
  const n2 = q.dims[1];
  const split = (s: number) => Math.round((s * n2) / nchunks);
  return [[0, q.dims[0]], [split(idx), split(idx + 1)]];
}

/** `advection_shared_chunk!`: runs on a participant, on its own myrange over all time steps. */
export function advectionSharedChunk(q: SharedArray<'Float64'>, u: SharedArray<'Float64'>, chunk: typeof advectionChunk, range: typeof myrange): void {
  const [[i0, i1], [j0, j1]] = range(q);
  chunk(sdata(q), sdata(u), q.dims[0], q.dims[1], i0, i1, j0, j1, 0, q.dims[2] - 1);
}

/** `advection_shared!`: every participant computes its chunk for all time steps, all at once. */
export async function advectionShared(q: SharedArray<'Float64'>, u: SharedArray<'Float64'>): Promise<void> {
  await Promise.all(procsOf(q).map((p) => remotecall_wait(advectionSharedChunk, p, q, u, advectionChunk, myrange)));
}

/** One worker's part of one time step of the distributed variant: columns [j0, j1) of step t. */
export function advectionStep(q: SharedArray<'Float64'>, u: SharedArray<'Float64'>, chunk: typeof advectionChunk, j0: number, j1: number, t: number): void {
  chunk(sdata(q), sdata(u), q.dims[0], q.dims[1], 0, q.dims[0], j0, j1, t, t + 1);
}

/**
 * `advection_parallel!`: for each time step, the columns split in contiguous chunks, one
 * `remotecall_fetch` per worker per step (what `@sync @distributed for j` does; `distributed()` itself
 * is not in this version). Steps follow one another because step t+1 reads what step t wrote.
 */
export async function advectionParallel(q: SharedArray<'Float64'>, u: SharedArray<'Float64'>, pids: readonly number[] = workers()): Promise<void> {
  const [, n2, n3] = q.dims;
  const split = (s: number) => Math.round((s * n2) / pids.length);
  for (let t = 0; t < n3 - 1; t++) {
    await Promise.all(pids.map((p, w) => remotecall_fetch(advectionStep, p, q, u, advectionChunk, split(w), split(w + 1), t)));
  }
}

/** Deterministic inputs: u[i,j,t] and q[i,j,0] are small multiples of 1/16 (exact sums, any order). */
export function fillInputs(q: Float64Array, u: Float64Array, dims: readonly number[], from = 0, to = u.length): void {
  const [n1, n2] = dims;
  const plane = n1 * n2;
  for (let k = from; k < to; k++) {
    const i = k % n1;
    const j = Math.floor(k / n1) % n2;
    const t = Math.floor(k / plane);
    u[k] = ((i * 7 + j * 13 + t * 3) % 17) / 16;
    if (k < plane) q[k] = ((i + 2 * j) % 5) / 16;
  }
}

/** Zeroes every time step after the first, so a variant that skipped work cannot pass for right. */
export function resetSteps(q: Float64Array, dims: readonly number[]): void {
  q.fill(0, dims[0] * dims[1]);
}

/** The first linear index where two arrays differ, or -1 when they are identical. */
export function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let k = 0; k < a.length; k++) if (!Object.is(a[k], b[k])) return k;
  return -1;
}
