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
import { distributed, procs as procsOf, range, remotecall_wait, sync, type SharedArray } from '../src/index';
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

// The distributed variant's body is Julia's `@distributed for j` body, which captures q, u and t. Here
// they are globals of the caller: shipped code receives the globals it reads (SPEC §3 rule 4), each sent
// to a worker once and again only when rebound (t, every step), so no closure capture is needed.
declare global {
  // eslint-disable-next-line no-var
  var advectionQ: SharedArray<'Float64'> | undefined;
  // eslint-disable-next-line no-var
  var advectionU: SharedArray<'Float64'> | undefined;
  // eslint-disable-next-line no-var
  var advectionT: number | undefined;
}

/** The body of one time step's `@distributed for j`: column j of step advectionT, on the shared arrays. */
export function advectionColumn(j: number): void {
  // Bare names: free identifiers that are globals on the caller travel with the call.
  const Q = advectionQ as SharedArray<'Float64'>;
  const q = sdata(Q);
  const u = sdata(advectionU as SharedArray<'Float64'>);
  const [n1, n2] = Q.dims;
  const at = n1 * (j + n2 * (advectionT as number));
  const next = at + n1 * n2;
  for (let i = 0; i < n1; i++) q[next + i] = q[at + i] + u[at + i];
}

/**
 * `advection_parallel!`: for each time step, `@sync @distributed for j in 1:size(q,2)`: the columns split
 * in one contiguous chunk per worker, one call each. Steps follow one another because step t+1 reads
 * what step t wrote.
 */
export async function advectionParallel(q: SharedArray<'Float64'>, u: SharedArray<'Float64'>): Promise<void> {
  const [, n2, n3] = q.dims;
  globalThis.advectionQ = q;
  globalThis.advectionU = u;
  try {
    for (let t = 0; t < n3 - 1; t++) {
      globalThis.advectionT = t;
      await sync(async () => {
        distributed(range(0, n2), advectionColumn);
      });
    }
  } finally {
    globalThis.advectionQ = globalThis.advectionU = globalThis.advectionT = undefined;
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
