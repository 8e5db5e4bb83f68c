/**
 * `clear(names, pids?)`: reset shipped globals on workers (Julia's `clear!(syms, pids)`), and
 * `clear(pool)`: empty a CachingPool's cache (Julia's `clear!(pool::CachingPool)`). One implementation
 * for both: a pool is cleared by its own `clear()` method.
 */
import { myid, workers } from '../cluster/process-group';
import { connectionTo, peerState } from '../messages/messaging';
import { forgetSentGlobals } from '../serialization/functions';
import { AbstractWorkerPool } from '../pools/worker-pool';
import { remotecall_fetch } from './remotecall';

const IDENTIFIER = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u;

/** Something that clears itself: a CachingPool (or a pool class of your own with a `clear()` method; not a collection). */
export interface Clearable {
  clear(): unknown;
}

/** Removes the globals `names` from this process (a `var`-declared one cannot be deleted: it becomes undefined). */
function resetGlobals(names: string[]): void {
  const g = globalThis as Record<string, unknown>;
  for (const n of names) if (!delete g[n]) g[n] = undefined;
}

/** A short description of a value for an error message. */
function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'object') return `a ${(x as object).constructor?.name ?? 'object'}`;
  return typeof x === 'string' ? JSON.stringify(x) : `${typeof x} ${String(x)}`;
}

/** A pool (or other object) with a clear() method; a collection of names (a Set has clear() too) is not one. */
function isClearable(x: unknown): x is Clearable {
  return x !== null && typeof x === 'object' && typeof (x as Partial<Clearable>).clear === 'function' && !isIterable(x);
}

function isIterable(x: unknown): x is Iterable<unknown> {
  return x !== null && typeof x === 'object' && typeof (x as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function';
}

/** The global names to clear, checked. */
function namesOf(names: unknown): string[] {
  if (typeof names === 'string') names = [names];
  else if (names instanceof AbstractWorkerPool) {
    // Julia has clear!(pool) for a CachingPool only: a WorkerPool caches nothing.
    throw new TypeError(
      `clear: ${describe(names)} has no cache to clear: clear(pool) empties a CachingPool's cache (Julia's clear!(pool::CachingPool)); ` +
        `to reset globals on workers, give their names: clear(['name'], pids)`,
    );
  }
  if (!isIterable(names)) throw new TypeError(`clear: expected a global's name, an array of names, or a CachingPool; got ${describe(names)}`);
  const list = [...names];
  for (const n of list) {
    if (typeof n !== 'string') throw new TypeError(`clear: names must be strings, got ${describe(n)}`);
    if (!IDENTIFIER.test(n)) throw new TypeError(`clear: ${JSON.stringify(n)} is not an identifier`);
  }
  return list as string[];
}

/** The processes to clear on, checked. */
function pidsOf(pids: unknown): number[] {
  const list = typeof pids === 'number' ? [pids] : isIterable(pids) ? [...pids] : undefined;
  if (list === undefined) throw new TypeError(`clear: pids must be a process id or an array of them, got ${describe(pids)}`);
  for (const p of list) {
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 1) throw new TypeError(`clear: pids must be process ids (positive integers), got ${describe(p)}`);
  }
  return list as number[];
}

/**
 * Resets the globals `names` on processes `pids` (default: every worker), the way Julia's `clear!` sets
 * them to `nothing`: they stop holding their (possibly large) values, and the caller forgets it sent
 * them, so the next shipped call that uses one sends the caller's current value again.
 *
 * Given a CachingPool instead (Julia's `clear!(pool)`), removes every function it cached on its workers
 * (its `clear()` method: any object with one is cleared by it) and resolves with the pool. A WorkerPool
 * caches nothing: passing one is an error.
 *
 * ```ts
 * globalThis.big = new Float64Array(1e7);
 * await remotecall_fetch(() => big.length, 2); // big travels once
 * await clear(['big'], [2]);                   // worker 2 lets it go
 * await clear(cachingPool);                    // its functions are sent again on next use
 * ```
 */
export function clear<P extends Clearable & { [Symbol.iterator]?: never }>(pool: P): Promise<P>;
export function clear(names: string | Iterable<string>, pids?: number | Iterable<number>): Promise<void>;
export async function clear(what: string | Iterable<string> | Clearable, ...rest: unknown[]): Promise<unknown> {
  if (isClearable(what)) {
    if (rest.length > 0) throw new TypeError(`clear: clear(pool) takes no process ids (it clears ${describe(what)} on all its workers)`);
    await what.clear();
    return what;
  }
  const list = namesOf(what);
  const targets = rest.length === 0 || rest[0] === undefined ? workers() : pidsOf(rest[0]);
  await Promise.all(
    targets.map(async (pid) => {
      if (pid === myid()) return resetGlobals(list);
      forgetSentGlobals(peerState(connectionTo(pid)), list);
      await remotecall_fetch(resetGlobals, pid, list);
    }),
  );
  return undefined;
}
