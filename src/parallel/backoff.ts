/**
 * Julia's `ExponentialBackOff` and `retry`: delays (in seconds) that grow geometrically with jitter, and a
 * wrapper that calls a function again after each delay while it fails.
 */

/** Options of {@link ExponentialBackOff} (Julia's keyword arguments and defaults). */
export interface BackOffOptions {
  /** How many delays (default 1). */
  n?: number;
  /** The first delay, seconds (default 0.05). */
  first_delay?: number;
  /** No delay exceeds this, seconds (default 10). */
  max_delay?: number;
  /** Each delay is the previous one times this (default 5). */
  factor?: number;
  /** Each delay is scaled by a random factor in [1 - jitter, 1 + jitter] (default 0.1). */
  jitter?: number;
}

function check(name: string, v: number, min: number): void {
  if (typeof v !== 'number' || Number.isNaN(v) || v < min) throw new RangeError(`ExponentialBackOff: ${name} must be a number ≥ ${min}, got ${String(v)}`);
}

/** The iterable `ExponentialBackOff` returns: `n` delays, each iteration drawing fresh jitter. */
export interface BackOff extends Iterable<number> {
  readonly n: number;
  readonly length: number;
}

/**
 * An iterable of `n` delays in seconds: `first_delay`, then each previous one times `factor` (with random
 * jitter of ±`jitter` as a fraction), never above `max_delay`. Use it as `retry_delays` or `retry`'s `delays`.
 *
 * ```ts
 * [...ExponentialBackOff({ n: 3, jitter: 0 })] // [0.05, 0.25, 1.25]
 * ```
 */
export function ExponentialBackOff(opts: BackOffOptions = {}): BackOff {
  const { n = 1, first_delay = 0.05, max_delay = 10, factor = 5, jitter = 0.1 } = opts;
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`ExponentialBackOff: n must be a non-negative integer, got ${String(n)}`);
  check('first_delay', first_delay, 0);
  check('max_delay', max_delay, 0);
  check('factor', factor, 0);
  check('jitter', jitter, 0);
  return {
    n,
    length: n,
    *[Symbol.iterator](): Iterator<number> {
      // Julia's iteration exactly: the jittered product is capped, so no delay exceeds max_delay.
      let cur = Math.min(first_delay, max_delay);
      for (let i = 0; i < n; i++) {
        yield cur;
        cur = Math.min(max_delay, cur * factor * (1 - jitter + Math.random() * 2 * jitter));
      }
    },
  };
}

/** Options of {@link retry}. */
export interface RetryOptions<S = unknown> {
  /** Seconds to wait before each new attempt (default `ExponentialBackOff()`: one retry after 0.05 s). */
  delays?: Iterable<number>;
  /**
   * Decides whether to retry after error `err`: returns `[state, retry]` (or just `retry`). `state` starts
   * `undefined` and is what the previous call returned (Julia threads the delays' iteration state).
   */
  check?: (state: S | undefined, err: unknown) => [S | undefined, boolean] | boolean | Promise<[S | undefined, boolean] | boolean>;
}

/** Resolves after `s` seconds. */
export function sleep(s: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, s * 1000)));
}

/** Runs `check` and normalises its answer to `[state, retry]`. */
export async function runCheck<S>(check: RetryOptions<S>['check'], state: S | undefined, err: unknown): Promise<[S | undefined, boolean]> {
  if (check === undefined) return [state, true];
  const r = await check(state, err);
  if (Array.isArray(r)) return [r[0] as S | undefined, Boolean(r[1])];
  return [state, Boolean(r)];
}

/**
 * Returns an async function that calls `f` and, while it fails, waits the next delay and calls it again;
 * once the delays are used up, the last attempt's error is thrown. `check` can stop the retries early.
 *
 * ```ts
 * const get = retry(() => remotecall_fetch(flaky, 2), { delays: ExponentialBackOff({ n: 3 }) });
 * await get();
 * ```
 */
export function retry<A extends unknown[], R, S = unknown>(f: (...args: A) => R, opts: RetryOptions<S> = {}): (...args: A) => Promise<Awaited<R>> {
  if (typeof f !== 'function') throw new TypeError(`retry: the first argument must be a function, got ${typeof f}`);
  const { delays = ExponentialBackOff(), check } = opts;
  if (delays == null || typeof (delays as Iterable<number>)[Symbol.iterator] !== 'function') throw new TypeError('retry: delays must be an iterable of seconds');
  if (check !== undefined && typeof check !== 'function') throw new TypeError('retry: check must be a function');
  return async (...args: A): Promise<Awaited<R>> => {
    let state: S | undefined;
    for (const delay of delays) {
      try {
        return await f(...args);
      } catch (e) {
        let again: boolean;
        [state, again] = await runCheck(check, state, e);
        if (!again) throw e;
      }
      await sleep(delay);
    }
    return await f(...args);
  };
}
