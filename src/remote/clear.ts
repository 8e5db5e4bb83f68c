/** `clear(names, pids?)`: reset shipped globals on workers (Julia's `clear!(syms, pids)`). */
import { myid, workers } from '../cluster/process-group';
import { connectionTo, peerState } from '../messages/messaging';
import { forgetSentGlobals } from '../serialization/functions';
import { remotecall_fetch } from './remotecall';

const IDENTIFIER = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u;

/** Removes the globals `names` from this process (a `var`-declared one cannot be deleted: it becomes undefined). */
function resetGlobals(names: string[]): void {
  const g = globalThis as Record<string, unknown>;
  for (const n of names) if (!delete g[n]) g[n] = undefined;
}

/**
 * Resets the globals `names` on processes `pids` (default: every worker), the way Julia's `clear!` sets
 * them to `nothing`: they stop holding their (possibly large) values, and the caller forgets it sent
 * them, so the next shipped call that uses one sends the caller's current value again.
 *
 * ```ts
 * globalThis.big = new Float64Array(1e7);
 * await remotecall_fetch(() => big.length, 2); // big travels once
 * await clear(['big'], [2]);                   // worker 2 lets it go
 * ```
 *
 * An object with a `clear()` method (Julia's `clear!(pool)` for a CachingPool) is cleared by that method.
 */
export async function clear(names: string | readonly string[] | { clear(): unknown }, pids: number | readonly number[] = workers()): Promise<void> {
  // Julia's clear!(pool): an object that knows how to clear itself (a CachingPool) does so.
  if (names !== null && typeof names === 'object' && !Array.isArray(names) && typeof (names as { clear?: unknown }).clear === 'function') {
    await (names as { clear(): unknown }).clear();
    return;
  }
  const list = typeof names === 'string' ? [names] : [...(names as readonly string[])];
  for (const n of list) {
    if (typeof n !== 'string' || !IDENTIFIER.test(n)) throw new TypeError(`clear: ${JSON.stringify(n)} is not an identifier`);
  }
  const targets = typeof pids === 'number' ? [pids] : [...pids];
  await Promise.all(
    targets.map(async (pid) => {
      if (pid === myid()) return resetGlobals(list);
      forgetSentGlobals(peerState(connectionTo(pid)), list);
      await remotecall_fetch(resetGlobals, pid, list);
    }),
  );
}
