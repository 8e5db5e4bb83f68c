/** Julia's `finalize(x)`: release a remote reference (or another finalizable object) now. */
import { Future } from './future';
import { RemoteChannel } from './remote-channel';

/** Anything `finalize` accepts: a Future, a RemoteChannel, or an object with its own `finalize()`. */
export interface Finalizable {
  finalize(): void;
}

/**
 * Releases `x` now instead of when the garbage collector gets to it: a `Future` or `RemoteChannel`
 * releases its reference (the owner frees the value once nobody holds it) and fails clearly if used
 * afterwards; a SharedArray is unmapped on every process that maps it; any other object with a
 * `finalize()` method has it called.
 *
 * ```ts
 * const f = remotecall(() => new Float64Array(1e6), 2);
 * finalize(f);
 * ```
 */
export function finalize(x: Finalizable): void {
  if (x instanceof Future || x instanceof RemoteChannel) return x.finalize();
  if (x !== null && typeof x === 'object' && typeof (x as Finalizable).finalize === 'function') return (x as Finalizable).finalize();
  const what = x === null ? 'null' : typeof x === 'object' ? (Object.getPrototypeOf(x)?.constructor?.name ?? 'object') : typeof x;
  throw new TypeError(`finalize: expected a Future, a RemoteChannel, a SharedArray or an object with a finalize() method (got ${what})`);
}
