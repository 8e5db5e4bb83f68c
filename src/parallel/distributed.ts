/**
 * Julia's `@distributed` and `@sync` as functions: `distributed(range, body, reducer?)` splits the range
 * into one contiguous chunk per worker (Julia's `splitrange`) and runs each chunk as one call;
 * `sync(async () => …)` waits for every remote call, `remote_do` and `distributed` loop started inside.
 */
import { nworkers, workers } from '../cluster/process-group';
import { CompositeException } from '../errors';
import { remotecall, remotecall_fetch } from '../remote/remotecall';
import type { Future } from '../remote/future';
import { registerInternal } from './internal-functions';
import { Range } from './range';
import { asTask, internally, runInScope } from './sync-scope';

/**
 * Julia's `splitrange(firstIndex, lastIndex, np)`, 0-based and half-open: `[lo, hi)` index chunks, `np`
 * of them (fewer when there are fewer indices than `np`), the first `extras` one longer.
 *
 * ```ts
 * splitrange(0, 10, 3) // [[0, 4], [4, 7], [7, 10]]
 * ```
 */
export function splitrange(first: number, stop: number, np: number): Array<[number, number]> {
  if (!Number.isInteger(np) || np < 1) throw new RangeError(`splitrange: the number of chunks must be a positive integer, got ${np}`);
  const n = Math.max(0, stop - first);
  const each = Math.floor(n / np);
  let extras = n % np;
  const nchunks = each > 0 ? np : extras;
  const chunks: Array<[number, number]> = [];
  let lo = first;
  for (let i = 0; i < nchunks; i++) {
    let hi = lo + each;
    if (extras > 0) {
      hi += 1;
      extras -= 1;
    }
    chunks.push([lo, hi]);
    lo = hi;
  }
  return chunks;
}

/** What `distributed` loops over: a Range, an array (or typed array), or a `[start, stop)` pair. */
export type LoopRange = Range | ArrayLike<unknown> | readonly [number, number];

function asLoopRange(r: LoopRange): Range | ArrayLike<unknown> {
  if (r instanceof Range) return r;
  if (Array.isArray(r) && r.length === 2 && typeof r[0] === 'number' && typeof r[1] === 'number' && Number.isInteger(r[0]) && Number.isInteger(r[1]) && r[1] >= r[0]) {
    // A [start, stop) pair, as the issue defines it (an array of two integers counts as the pair).
    return new Range(r[0], r[1]);
  }
  if (Array.isArray(r) || ArrayBuffer.isView(r)) return r as ArrayLike<unknown>;
  throw new TypeError('distributed: the range must be a range(...), an array, or a [start, stop) pair');
}

/** The chunk a worker gets: a sub-range, or the slice of an array. */
function chunkOf(r: Range | ArrayLike<unknown>, lo: number, hi: number): Range | unknown[] {
  if (r instanceof Range) return r.slice(lo, hi);
  return Array.prototype.slice.call(r, lo, hi) as unknown[];
}

/**
 * Runs on a worker: the body over one chunk, reduced with `reducer` when there is one (Julia's
 * `make_preduce_body`), else only run. An async body is awaited item by item. Travels by path.
 */
function runChunk(body: (x: unknown) => unknown, reducer: ((a: unknown, b: unknown) => unknown) | undefined, chunk: Range | unknown[]): unknown {
  if (chunk instanceof Range) return runRangeChunk(body, reducer, chunk.start, chunk.step, chunk.length);
  return runArrayChunk(body, reducer, chunk);
}

/**
 * The hot case (`distributed(range(0, 2e8), …)`): a plain counted loop. No closure captures its locals
 * (the async fallback builds its indexer elsewhere), so they stay in registers rather than in a
 * context object read on every iteration (that cost ~15% of a coin-flip loop).
 */
function runRangeChunk(body: (x: unknown) => unknown, reducer: ((a: unknown, b: unknown) => unknown) | undefined, start: number, step: number, n: number): unknown {
  if (n === 0) return undefined;
  let v = body(start);
  if (isThenable(v)) return finishAsync(body, reducer, rangeIndexer(start, step), n, 0, undefined, v as Promise<unknown>);
  if (reducer === undefined) {
    for (let i = 1; i < n; i++) {
      v = body(start + i * step);
      if (isThenable(v)) return finishAsync(body, reducer, rangeIndexer(start, step), n, i, undefined, v as Promise<unknown>);
    }
    return undefined;
  }
  let ac = v;
  for (let i = 1; i < n; i++) {
    v = body(start + i * step);
    if (isThenable(v)) return finishAsync(body, reducer, rangeIndexer(start, step), n, i, ac, v as Promise<unknown>);
    ac = reducer(ac, v);
  }
  return ac;
}

function rangeIndexer(start: number, step: number): (i: number) => number {
  return (i) => start + i * step;
}

function arrayIndexer(chunk: readonly unknown[]): (i: number) => unknown {
  return (i) => chunk[i];
}

function runArrayChunk(body: (x: unknown) => unknown, reducer: ((a: unknown, b: unknown) => unknown) | undefined, chunk: readonly unknown[]): unknown {
  const n = chunk.length;
  let ac: unknown = undefined;
  for (let i = 0; i < n; i++) {
    const v = body(chunk[i]);
    if (isThenable(v)) return finishAsync(body, reducer, arrayIndexer(chunk), n, i, ac, v as Promise<unknown>);
    if (reducer !== undefined) ac = i === 0 ? v : reducer(ac, v);
  }
  return reducer !== undefined ? ac : undefined;
}

async function finishAsync(
  body: (x: unknown) => unknown,
  reducer: ((a: unknown, b: unknown) => unknown) | undefined,
  at: (i: number) => unknown,
  n: number,
  from: number,
  ac: unknown,
  pending: Promise<unknown>,
): Promise<unknown> {
  for (let i = from; i < n; i++) {
    const v = await (i === from ? pending : body(at(i)));
    if (reducer !== undefined) ac = i === 0 ? v : await reducer(ac, v);
  }
  return reducer !== undefined ? ac : undefined;
}

const isThenable = (v: unknown): boolean => v !== null && typeof v === 'object' && typeof (v as PromiseLike<unknown>).then === 'function';

registerInternal('distributedChunk', runChunk);

/**
 * Julia's `@distributed`: splits `range` (a `range(a, b)`, an array, or a `[start, stop)` pair) into
 * `nworkers()` contiguous chunks and runs `body` on every element, one call per chunk. With a
 * `reducer`, each worker reduces its chunk and the caller reduces the chunk results: resolves with the
 * value. Without one, returns the chunks' Futures at once (wait for them with `sync` or `fetch`).
 *
 * ```ts
 * const heads = await distributed(range(0, 1e8), () => (Math.random() < 0.5 ? 1 : 0), (a, b) => a + b);
 * await sync(async () => { distributed(range(0, 4), (i) => console.log(i)); });
 * ```
 */
export function distributed<T, R>(r: LoopRange, body: (x: T) => R, reducer: (a: Awaited<R>, b: Awaited<R>) => Awaited<R>): Promise<Awaited<R>>;
export function distributed<T>(r: LoopRange, body: (x: T) => unknown): Array<Future<undefined>>;
export function distributed<T, R>(
  r: LoopRange,
  body: (x: T) => R,
  reducer?: (a: Awaited<R>, b: Awaited<R>) => Awaited<R>,
): Promise<Awaited<R>> | Array<Future<undefined>> {
  if (typeof body !== 'function') throw new TypeError(`distributed: the body must be a function, got ${typeof body}`);
  if (reducer !== undefined && typeof reducer !== 'function') throw new TypeError(`distributed: the reducer must be a function, got ${typeof reducer}`);
  const R = asLoopRange(r);
  const chunks = splitrange(0, R.length, nworkers());
  const ws = workers();
  if (reducer === undefined) {
    return chunks.map(([lo, hi], i) => remotecall(runChunk as (...a: unknown[]) => undefined, ws[i % ws.length], body, undefined, chunkOf(R, lo, hi)));
  }
  if (chunks.length === 0) return Promise.reject(new Error('distributed: cannot reduce over an empty range'));
  // One task for sync(), the reduction here included; the per-chunk calls are its internals.
  return asTask(() =>
    Promise.all(chunks.map(([lo, hi], i) => internally(() => remotecall_fetch(runChunk as (...a: unknown[]) => unknown, ws[i % ws.length], body, reducer, chunkOf(R, lo, hi))))).then(
      (parts) => (parts as Array<Awaited<R>>).reduce((a, b) => reducer(a, b)),
    ),
  );
}

/**
 * Julia's `@sync`: runs `block` and waits for it and for every task started inside it, through any depth
 * of awaits: each remote call (`remotecall`, `remotecall_fetch`, `remotecall_wait`, `remote_do`,
 * `spawnat`, `fetchfrom`, `distributed` without a reducer, calls given a pool, `remote(f)`) and each of
 * the library's own asynchronous operations as one task (`pmap`, `asyncmap`, `everywhere` with its part
 * on this process, `distributed` with a reducer, `SharedArray.create` and `fromFile`). Resolves with the
 * block's value; if the block threw, rethrows that; if started tasks failed, rejects with a
 * `CompositeException` of their errors in start order, each error once (a task that is handled inside
 * the block still counts, as in Julia).
 *
 * A promise of your own (an `async` function you call without `await`) is not a task: Julia's `@async`
 * has no counterpart here, so await it in the block or return it (`return Promise.all(mine)`). Work
 * started from a detached callback (a timer nothing awaits) is not waited for either.
 *
 * ```ts
 * await sync(async () => {
 *   for (const w of workers()) remotecall(() => doWork(), w);
 *   pmap(step, items); // not awaited: sync waits for it
 * }); // every call and the pmap have finished here
 * ```
 */
export async function sync<T>(block: () => T | Promise<T>): Promise<Awaited<T>> {
  if (typeof block !== 'function') throw new TypeError(`sync: expected a function, got ${typeof block}`);
  const { result, tasks } = await runInScope(block);
  if (result.status === 'rejected') throw result.reason;
  // The same error object from two tasks (a failed call and an operation that rejects with it) is one failure.
  const errors = [...new Set(tasks.filter((t): t is PromiseRejectedResult => t.status === 'rejected').map((t) => t.reason))];
  if (errors.length > 0) throw new CompositeException(errors);
  return result.value;
}
