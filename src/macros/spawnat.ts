/**
 * `spawnat`, `spawn`, `fetchfrom`: Julia's `@spawnat`, `@spawn` and `@fetchfrom`/`@fetch` as functions.
 * `':any'` picks workers in turn, as Julia's `nextproc()` does.
 */
import { workers } from '../cluster/process-group';
import type { Future } from '../remote/future';
import { remotecall, remotecall_fetch, type RemoteFunction, type Result } from '../remote/remotecall';

/** Where a spawned call runs: a process id, or `':any'` for the next worker in turn. */
export type Where = number | ':any';

let nextIndex = 0;

/** The next worker in turn (round robin over `workers()`, which is `[1]` when there are none). */
export function nextproc(): number {
  const ws = workers();
  const p = ws[nextIndex % ws.length];
  nextIndex = (nextIndex + 1) % Number.MAX_SAFE_INTEGER;
  return p;
}

function target(p: Where, fname: string): number {
  if (p === ':any') return nextproc();
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 1) {
    throw new TypeError(`${fname}: where must be a process id or ':any', got ${typeof p === 'string' ? JSON.stringify(p) : String(p)}`);
  }
  return p;
}

/**
 * Runs `fn(...args)` on process `p` (or on the next worker in turn with `':any'`) and returns a `Future`
 * for its result at once (Julia's `@spawnat p expr`).
 *
 * ```ts
 * const a = spawnat(':any', countHeads, 1e8);
 * const b = spawnat(':any', countHeads, 1e8);
 * (await a.fetch()) + (await b.fetch());
 * ```
 */
export function spawnat<A extends unknown[], R>(p: Where, fn: RemoteFunction<A, R>, ...args: A): Future<Result<R>> {
  return remotecall(fn, target(p, 'spawnat'), ...args);
}

/**
 * Runs `fn(...args)` on the next worker in turn and returns a `Future` at once (Julia's `@spawn`).
 *
 * ```ts
 * await spawn(() => myid()).fetch(); // 2, then 3, … on later calls
 * ```
 */
export function spawn<A extends unknown[], R>(fn: RemoteFunction<A, R>, ...args: A): Future<Result<R>> {
  return remotecall(fn, nextproc(), ...args);
}

/**
 * Runs `fn(...args)` on process `p` (or the next worker with `':any'`) and resolves with its result
 * (Julia's `@fetchfrom p expr`; `fetchfrom(':any', fn)` is Julia's `@fetch expr`).
 *
 * ```ts
 * await fetchfrom(2, () => myid()); // 2
 * ```
 */
export function fetchfrom<A extends unknown[], R>(p: Where, fn: RemoteFunction<A, R>, ...args: A): Promise<Result<R>> {
  let pid: number;
  try {
    pid = target(p, 'fetchfrom');
  } catch (e) {
    return Promise.reject(e);
  }
  return remotecall_fetch(fn, pid, ...args);
}
