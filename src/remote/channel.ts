/**
 * `Channel<T>`: a local, bounded, waitable queue (Julia's `Channel{T}(sz)`), the usual backing store of a
 * `RemoteChannel`.
 */
import { InvalidStateException } from '../errors';

interface Waiter<V> {
  resolve: (v: V) => void;
  reject: (e: unknown) => void;
}

interface Putter<T> extends Waiter<T> {
  value: T;
}

function closedError(): InvalidStateException {
  return new InvalidStateException('Channel is closed.', 'closed');
}

/**
 * A first-in first-out queue of at most `size` values, local to this process.
 *
 * `put` waits while the channel is full and `take` while it is empty; `fetch` returns the oldest value
 * without removing it; `close` makes every waiting and later `put`, and every `take`/`fetch`/`wait` once
 * the values left are gone, fail with an `InvalidStateException` (`state: 'closed'`). `size` is a
 * non-negative integer or `Infinity`. `size` 0 (the default, as in Julia) is unbuffered: `put` waits
 * until a `take` receives the value, and `fetch` is not supported.
 *
 * ```ts
 * const c = new Channel<number>(2);
 * await c.put(1); await c.put(2);
 * c.close();
 * for await (const x of c) console.log(x); // 1, 2
 * ```
 */
export class Channel<T = unknown> implements AsyncIterable<T> {
  /** The capacity (Julia's `sz_max`). */
  readonly sz_max: number;
  #buf: T[] = [];
  #head = 0;
  readonly #takers: Array<Waiter<T>> = [];
  readonly #putters: Array<Putter<T>> = [];
  readonly #waiters: Array<Waiter<void>> = [];
  #closed: unknown = undefined;
  #isClosed = false;

  constructor(size = 0) {
    if (!(size === Infinity || (Number.isInteger(size) && size >= 0))) {
      throw new RangeError(`Channel: size must be a non-negative integer or Infinity, got ${String(size)}`);
    }
    this.sz_max = size;
  }

  /**
   * How many values are in the buffer (for an unbuffered channel: how many `put`s wait).
   *
   * ```ts
   * const c = new Channel(4); await c.put(1); c.n_avail(); // 1
   * ```
   */
  n_avail(): number {
    return this.sz_max === 0 ? this.#putters.length : this.#buf.length - this.#head;
  }

  /**
   * Appends `v`, waiting while the channel is full (an unbuffered channel: until a `take` receives it).
   * Resolves with `v`; rejects with `InvalidStateException` if the channel is or gets closed first.
   *
   * ```ts
   * await new Channel<number>(1).put(5); // 5
   * ```
   */
  put(v: T): Promise<T> {
    if (this.#isClosed) return Promise.reject(this.#closed);
    const taker = this.#takers.shift();
    if (taker !== undefined) {
      taker.resolve(v);
      return Promise.resolve(v);
    }
    if (this.#buf.length - this.#head < this.sz_max) {
      this.#buf.push(v);
      this.#wakeWaiters();
      return Promise.resolve(v);
    }
    return new Promise<T>((resolve, reject) => {
      this.#putters.push({ value: v, resolve, reject });
      if (this.sz_max === 0) this.#wakeWaiters();
    });
  }

  /**
   * Removes and returns the oldest value, waiting while the channel is empty. Rejects with
   * `InvalidStateException` once the channel is closed and empty.
   *
   * ```ts
   * const c = new Channel<string>(1); await c.put('a'); await c.take(); // 'a'
   * ```
   */
  take(): Promise<T> {
    if (this.#buf.length > this.#head) {
      const v = this.#shift();
      const putter = this.#putters.shift();
      if (putter !== undefined) {
        this.#buf.push(putter.value);
        putter.resolve(putter.value);
      }
      return Promise.resolve(v);
    }
    const putter = this.#putters.shift();
    if (putter !== undefined) {
      putter.resolve(putter.value);
      return Promise.resolve(putter.value);
    }
    if (this.#isClosed) return Promise.reject(this.#closed);
    return new Promise<T>((resolve, reject) => this.#takers.push({ resolve, reject }));
  }

  /**
   * Returns the oldest value without removing it, waiting while the channel is empty. Not supported on
   * an unbuffered channel (as in Julia). Rejects with `InvalidStateException` once closed and empty.
   *
   * ```ts
   * const c = new Channel<number>(1); await c.put(3); await c.fetch(); // 3, still in c
   * ```
   */
  async fetch(): Promise<T> {
    if (this.sz_max === 0) throw new Error('fetch is not supported on an unbuffered Channel (size 0)');
    while (this.#buf.length === this.#head) await this.wait();
    return this.#buf[this.#head];
  }

  /**
   * Whether a value is available: `take` would not wait (for an unbuffered channel: a `put` is waiting).
   *
   * ```ts
   * new Channel(1).isready(); // false
   * ```
   */
  isready(): boolean {
    return this.n_avail() > 0;
  }

  /**
   * Waits until a value is available. Rejects with `InvalidStateException` once closed and empty.
   *
   * ```ts
   * const c = new Channel<number>(1); setTimeout(() => c.put(1), 10); await c.wait();
   * ```
   */
  wait(): Promise<void> {
    if (this.isready()) return Promise.resolve();
    if (this.#isClosed) return Promise.reject(this.#closed);
    return new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /**
   * Closes the channel: every waiting `put`, `take`, `fetch` and `wait` fails with `err` (by default an
   * `InvalidStateException` with `state: 'closed'`), and so do later `put`s. Values already in the buffer
   * can still be taken. Closing twice does nothing.
   *
   * ```ts
   * const c = new Channel(1); c.close(); c.isopen(); // false
   * ```
   */
  close(err: unknown = closedError()): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#closed = err;
    for (const w of this.#takers.splice(0)) w.reject(err);
    for (const w of this.#putters.splice(0)) w.reject(err);
    for (const w of this.#waiters.splice(0)) w.reject(err);
  }

  /**
   * Whether the channel is still open.
   *
   * ```ts
   * new Channel().isopen(); // true
   * ```
   */
  isopen(): boolean {
    return !this.#isClosed;
  }

  /**
   * Takes values until the channel is closed and empty (`for await (const x of c)`).
   *
   * ```ts
   * for await (const job of jobs) console.log(job);
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      let v: T;
      try {
        v = await this.take();
      } catch (e) {
        if (this.#isClosed && !this.isready()) return;
        throw e;
      }
      yield v;
    }
  }

  #shift(): T {
    const v = this.#buf[this.#head];
    this.#buf[this.#head++] = undefined as T;
    if (this.#head === this.#buf.length) {
      this.#buf.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#buf.length) {
      this.#buf = this.#buf.slice(this.#head);
      this.#head = 0;
    }
    return v;
  }

  #wakeWaiters(): void {
    if (this.#waiters.length === 0) return;
    for (const w of this.#waiters.splice(0)) w.resolve();
  }
}
