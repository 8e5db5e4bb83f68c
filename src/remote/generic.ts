/** Julia's generic `fetch`, `wait`, `isready` and `put!` as free functions over references. */

interface Fetchable<T> { fetch(): Promise<T> }
interface Waitable { wait(): Promise<unknown> }
interface Readyable { isready(): Promise<boolean> | boolean }
interface Puttable<T> { put(v: T): Promise<unknown> }

function has<K extends string>(x: unknown, key: K): x is Record<K, (...a: unknown[]) => unknown> {
  return x !== null && (typeof x === 'object' || typeof x === 'function') && typeof (x as Record<string, unknown>)[key] === 'function';
}

/**
 * The value of a `Future` or `RemoteChannel` (waiting for it); any other value is returned as is.
 *
 * ```ts
 * await fetch(remotecall(() => 1, 2)); // 1
 * await fetch(5); // 5
 * ```
 */
export function fetch<T>(x: Fetchable<T>): Promise<T>;
export function fetch<T>(x: T): Promise<T>;
export function fetch(x: unknown): Promise<unknown> {
  return has(x, 'fetch') ? Promise.resolve((x as unknown as Fetchable<unknown>).fetch()) : Promise.resolve(x);
}

/**
 * Waits until a `Future` (or channel) is ready.
 *
 * ```ts
 * await wait(remotecall(() => 1, 2));
 * ```
 */
export function wait<T extends Waitable>(x: T): Promise<unknown> {
  if (!has(x, 'wait')) throw new TypeError('wait: argument has no wait() method (expected a Future or a channel)');
  return x.wait();
}

/**
 * Whether a `Future` (or channel) has a value.
 *
 * ```ts
 * await isready(new Future()); // false
 * ```
 */
export async function isready(x: Readyable): Promise<boolean> {
  if (!has(x, 'isready')) throw new TypeError('isready: argument has no isready() method (expected a Future or a channel)');
  return x.isready();
}

/**
 * Stores `v` into a `Future` (write-once) or channel; resolves with the reference.
 *
 * ```ts
 * const f = new Future(2); await put(f, 1);
 * ```
 */
export async function put<T, R extends Puttable<T>>(x: R, v: T): Promise<R> {
  if (!has(x, 'put')) throw new TypeError('put: argument has no put() method (expected a Future or a channel)');
  await x.put(v);
  return x;
}

interface Takeable<T> { take(): Promise<T> }
interface Closable { close(): unknown }

/**
 * Removes and returns a value from a channel or RemoteChannel (Julia's `take!`), waiting while it is empty.
 *
 * ```ts
 * const c = new Channel<number>(1); await put(c, 1); await take(c); // 1
 * ```
 */
export function take<T>(x: Takeable<T>): Promise<T> {
  if (!has(x, 'take')) throw new TypeError('take: argument has no take() method (expected a channel or a RemoteChannel)');
  return x.take();
}

/**
 * Closes a channel or RemoteChannel: waiting operations fail, values already in it can still be taken.
 *
 * ```ts
 * await close(jobs);
 * ```
 */
export async function close(x: Closable): Promise<void> {
  if (!has(x, 'close')) throw new TypeError('close: argument has no close() method (expected a channel or a RemoteChannel)');
  await x.close();
}
