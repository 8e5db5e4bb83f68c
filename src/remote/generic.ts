/**
 * Julia's generic `fetch`, `wait`, `isready`, `put!`, `take!` and `close` as free functions over references.
 *
 * Every argument after the reference is passed on to its method, as Julia's methods do: a RemoteChannel
 * over a keyed store (the manual's `DictChannel`) takes keys, so `put(dc, k, v)` is `dc.put(k, v)` and
 * `take(dc, k)` is `dc.take(k)`.
 */

interface Fetchable<T> { fetch(...args: never[]): Promise<T> }
interface Waitable { wait(...args: never[]): Promise<unknown> }
interface Readyable { isready(...args: never[]): Promise<boolean> | boolean }
interface Puttable<T> { put(v: T, ...rest: never[]): Promise<unknown> }

type Method = (...a: unknown[]) => unknown;

function has<K extends string>(x: unknown, key: K): x is Record<K, Method> {
  return x !== null && (typeof x === 'object' || typeof x === 'function') && typeof (x as Record<string, unknown>)[key] === 'function';
}

/** `x[key](...args)`, called as a method. */
function call(x: unknown, key: string, args: unknown[]): unknown {
  return (x as Record<string, Method>)[key]!(...args);
}

/**
 * The value of a `Future` or `RemoteChannel` (waiting for it); any other value is returned as is.
 * Further arguments go to the reference's `fetch` (a key, for a keyed channel); given with a value that
 * has no `fetch`, they are an error rather than dropped.
 *
 * ```ts
 * await fetch(remotecall(() => 1, 2)); // 1
 * await fetch(5); // 5
 * await fetch(dictChannel, 'a'); // dictChannel.fetch('a')
 * ```
 */
export function fetch<T>(x: Fetchable<T>, ...args: unknown[]): Promise<T>;
export function fetch<T>(x: T): Promise<T>;
export function fetch(x: unknown, ...args: unknown[]): Promise<unknown> {
  if (has(x, 'fetch')) return Promise.resolve(call(x, 'fetch', args));
  if (args.length > 0) return Promise.reject(new TypeError(`fetch: ${describe(x)} has no fetch() method, so the extra arguments (${args.length}) have nothing to go to (expected a Future or a channel)`));
  return Promise.resolve(x);
}

/**
 * Waits until a `Future` (or channel) is ready. Further arguments go to its `wait` (a key, for a keyed
 * channel).
 *
 * ```ts
 * await wait(remotecall(() => 1, 2));
 * ```
 */
export function wait<T extends Waitable>(x: T, ...args: unknown[]): Promise<unknown> {
  if (!has(x, 'wait')) throw new TypeError(`wait: ${describe(x)} has no wait() method (expected a Future or a channel)`);
  return call(x, 'wait', args) as Promise<unknown>;
}

/**
 * Whether a `Future` (or channel) has a value. Further arguments go to its `isready` (a key, for a keyed
 * channel).
 *
 * ```ts
 * await isready(new Future()); // false
 * ```
 */
export async function isready(x: Readyable, ...args: unknown[]): Promise<boolean> {
  if (!has(x, 'isready')) throw new TypeError(`isready: ${describe(x)} has no isready() method (expected a Future or a channel)`);
  return (await call(x, 'isready', args)) as boolean;
}

/**
 * Stores `v` into a `Future` (write-once) or channel; resolves with the reference. Every argument after
 * the reference goes to its `put`, so a keyed channel gets `put(dc, key, value)`.
 *
 * ```ts
 * const f = new Future(2); await put(f, 1);
 * ```
 */
export async function put<T, R extends Puttable<T>>(x: R, v: T, ...rest: unknown[]): Promise<R> {
  if (!has(x, 'put')) throw new TypeError(`put: ${describe(x)} has no put() method (expected a Future or a channel)`);
  await call(x, 'put', [v, ...rest]);
  return x;
}

interface Takeable<T> { take(...args: never[]): Promise<T> }
interface Closable { close(...args: never[]): unknown }

/**
 * Removes and returns a value from a channel or RemoteChannel (Julia's `take!`), waiting while it is empty.
 * Further arguments go to its `take` (a key, for a keyed channel).
 *
 * ```ts
 * const c = new Channel<number>(1); await put(c, 1); await take(c); // 1
 * ```
 */
export function take<T>(x: Takeable<T>, ...args: unknown[]): Promise<T> {
  if (!has(x, 'take')) throw new TypeError(`take: ${describe(x)} has no take() method (expected a channel or a RemoteChannel)`);
  return call(x, 'take', args) as Promise<T>;
}

/**
 * Closes a channel or RemoteChannel: waiting operations fail, values already in it can still be taken.
 * Further arguments go to its `close`.
 *
 * ```ts
 * await close(jobs);
 * ```
 */
export async function close(x: Closable, ...args: unknown[]): Promise<void> {
  if (!has(x, 'close')) throw new TypeError(`close: ${describe(x)} has no close() method (expected a channel or a RemoteChannel)`);
  await call(x, 'close', args);
}

/** A short name for a value in an error message. */
function describe(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x === 'object') return `the ${x.constructor?.name ?? 'Object'} given`;
  return `the ${typeof x} given`;
}
