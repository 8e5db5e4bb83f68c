/**
 * `RemoteChannel`: a reference to a channel that lives on process `where` (Julia's `RemoteChannel`).
 * Every operation runs on the backing channel on its owner; the reference travels to any process and
 * the owner frees the channel once no process holds a reference to it.
 */
import { myid } from '../cluster/process-group';
import { InvalidStateException, RemoteException } from '../errors';
import { afterSend, connectionTo, peerOfContext, sendFrame } from '../messages/messaging';
import { MessageKind } from '../wire/generated/dts/wire/message-kind';
import { RefOp } from '../wire/generated/dts/wire/ref-op';
import { sendRequest } from '../messages/requests';
import type { ValueReader, ValueWriter } from '../serialization/registry';
import { Channel } from './channel';
import { asRemoteException, finalizedError } from './future';
import { findRef, lookupRef, nextId, type ChannelLike } from './ref-store';
import { heldObject, hold, keepFindable, registerReceiver, release, type Holding } from './ref-tracking';

export type { ChannelLike };

/** Makes a RemoteChannel's backing store on its owner (shipped there as source: keep it self-contained). */
export type ChannelFactory = () => ChannelLike | Promise<ChannelLike>;

/** The backing-store method each operation calls. */
export const CHANNEL_METHODS: Partial<Record<RefOp, keyof ChannelLike>> = {
  [RefOp.Put]: 'put',
  [RefOp.Take]: 'take',
  [RefOp.Fetch]: 'fetch',
  [RefOp.IsReady]: 'isready',
  [RefOp.Wait]: 'wait',
  [RefOp.Close]: 'close',
};

/** Operations whose answer is the backing method's result (the others answer nothing). */
export function answersValue(op: RefOp): boolean {
  return op === RefOp.Take || op === RefOp.Fetch || op === RefOp.IsReady;
}

/** Checks what a factory made; throws naming what is missing. */
export function checkChannel(c: unknown, where: number): ChannelLike {
  const ok = c !== null && typeof c === 'object' && typeof (c as ChannelLike).put === 'function' && typeof (c as ChannelLike).take === 'function';
  if (!ok) {
    const what = c === null ? 'null' : typeof c === 'object' ? `an object without put/take methods` : typeof c;
    throw new TypeError(`RemoteChannel: the factory run on process ${where} returned ${what}; it must return a channel (an object with put and take methods, e.g. new Channel(n))`);
  }
  return c as ChannelLike;
}

/** Calls `method` of the backing store `ch` (throws a clear error when it has none). */
export function callChannel(ch: ChannelLike, method: keyof ChannelLike, args: unknown[], where: number): unknown {
  const m = ch[method];
  if (typeof m !== 'function') throw new TypeError(`the channel behind this RemoteChannel (on process ${where}) has no ${method} method`);
  return (m as (...a: unknown[]) => unknown).apply(ch, args);
}

/** Whether `e` says the channel is closed (locally, or raised on its owner). */
export function isClosedError(e: unknown): boolean {
  const ex = e instanceof RemoteException ? e.captured.ex : e;
  return ex instanceof InvalidStateException && ex.state === 'closed';
}

let fromWireBuild = false;

let waiting = 0;
let keeper: NodeJS.Timeout | undefined;
/** Counts local RemoteChannel operations under way; while there are some, the event loop stays alive. */
function keepAlive(delta: number): void {
  waiting += delta;
  if (waiting > 0 && keeper === undefined) keeper = setInterval(() => undefined, 1 << 30);
  else if (waiting === 0 && keeper !== undefined) {
    clearInterval(keeper);
    keeper = undefined;
  }
}

/**
 * A reference to a channel on process `where`. `new RemoteChannel(pid?)` makes a `Channel(1)` on `pid`
 * (default: this process); `new RemoteChannel(() => new Channel(10), pid)` runs the factory on `pid`.
 * The factory travels as source, so it must be self-contained (package exports such as `Channel` are
 * globals on every process). Any object with the channel methods can be the backing store, including
 * keyed ones: `put(k, v)`, `take(k)`, … pass their arguments through. A RemoteChannel travels by
 * reference only.
 *
 * ```ts
 * const jobs = new RemoteChannel<number>(() => new Channel(32));
 * await remotecall_fetch(async (c: RemoteChannel<number>) => c.put(myid()), 2, jobs);
 * await jobs.take(); // 2
 * ```
 */
export class RemoteChannel<T = unknown> implements AsyncIterable<T> {
  /** The process that owns the backing channel. */
  readonly where: number;
  /** The process that created the reference. */
  readonly whence: number;
  /** The reference's counter on `whence`. */
  readonly id: number;
  #holding: Holding | undefined;
  #finalized = false;

  constructor(pid?: number);
  constructor(factory: ChannelFactory, pid?: number);
  constructor(a?: number | ChannelFactory, b?: number) {
    const factory = typeof a === 'function' ? a : undefined;
    const pid = factory !== undefined ? b ?? myid() : a ?? myid();
    if (a !== undefined && factory === undefined && typeof a !== 'number') {
      throw new TypeError(`RemoteChannel: expected a factory function or a process id, got ${a === null ? 'null' : typeof a}`);
    }
    if (typeof pid !== 'number' || !Number.isInteger(pid) || pid < 1) {
      throw new TypeError(`RemoteChannel: pid must be a positive integer, got ${String(pid)}`);
    }
    this.where = pid;
    this.whence = myid();
    this.id = fromWireBuild ? 0 : nextId();
    if (fromWireBuild) return;
    if (pid === myid()) {
      const made = factory === undefined ? new Channel(1) : factory();
      const pending = made !== null && typeof made === 'object' && typeof (made as PromiseLike<ChannelLike>).then === 'function' && typeof (made as ChannelLike).take !== 'function';
      if (!pending) checkChannel(made, pid);
      const rv = lookupRef(this.whence, this.id);
      if (pending) {
        (made as Promise<ChannelLike>).then(
          (c) => {
            try {
              rv.installChannel(checkChannel(c, pid));
            } catch (e) {
              rv.installChannel(undefined, { error: e });
            }
          },
          (e: unknown) => rv.installChannel(undefined, { error: e }),
        );
      } else {
        rv.installChannel(made as ChannelLike);
      }
      this.#holding = hold(this, pid, this.whence, this.id, 1, true, /* arrived */ false);
    } else {
      // The Create frame registers this process with the owner.
      sendFrame(connectionTo(pid), MessageKind.ChannelOp, factory, { refWhence: this.whence, refId: this.id, op: RefOp.Create, rootPath: 'factory' });
      this.#holding = hold(this, pid, this.whence, this.id, 1, false, /* arrived */ false);
    }
  }

  async #op(op: RefOp, args: unknown[], what: string): Promise<unknown> {
    if (this.#finalized) throw finalizedError('RemoteChannel', this.where, this.whence, this.id, what);
    if (this.where === myid()) {
      const rv = findRef(this.whence, this.id);
      if (rv === undefined) throw new Error(`RemoteChannel ${this.whence}:${this.id}: its channel is no longer stored on process ${this.where}`);
      // Waiting here on other processes (a take that a worker's put will answer) keeps this process
      // alive, as a remote operation's pending request does.
      keepAlive(1);
      try {
        const ch = await rv.whenChannel();
        return await callChannel(ch, CHANNEL_METHODS[op]!, args, this.where);
      } finally {
        keepAlive(-1);
      }
    }
    const r = await sendRequest(connectionTo(this.where), MessageKind.ChannelOp, args, { refWhence: this.whence, refId: this.id, op, rootPath: 'args' });
    if (r.isError) throw asRemoteException(this.where, r.value);
    return r.value;
  }

  /**
   * Puts a value into the backing channel (waiting while it is full); resolves with this RemoteChannel.
   * A keyed backing store gets every argument (`put(k, v)`).
   *
   * ```ts
   * await new RemoteChannel<number>(2).put(1);
   * ```
   */
  put(value: T): Promise<this>;
  put(...args: unknown[]): Promise<this>;
  async put(...args: unknown[]): Promise<this> {
    await this.#op(RefOp.Put, args, 'put into');
    return this;
  }

  /**
   * Removes and returns a value (waiting while the channel is empty). Fails with an
   * `InvalidStateException` (in a `RemoteException` when the owner is another process) once the channel
   * is closed and empty.
   *
   * ```ts
   * const v = await results.take();
   * ```
   */
  take(...args: unknown[]): Promise<T> {
    return this.#op(RefOp.Take, args, 'take from') as Promise<T>;
  }

  /**
   * Returns a value without removing it (waiting while the channel is empty).
   *
   * ```ts
   * const next = await jobs.fetch();
   * ```
   */
  fetch(...args: unknown[]): Promise<T> {
    return this.#op(RefOp.Fetch, args, 'fetch from') as Promise<T>;
  }

  /**
   * Whether a value is available.
   *
   * ```ts
   * await new RemoteChannel(2).isready(); // false
   * ```
   */
  async isready(...args: unknown[]): Promise<boolean> {
    return (await this.#op(RefOp.IsReady, args, 'query')) as boolean;
  }

  /**
   * Waits until a value is available; resolves with this RemoteChannel.
   *
   * ```ts
   * await results.wait();
   * ```
   */
  async wait(...args: unknown[]): Promise<this> {
    await this.#op(RefOp.Wait, args, 'wait for');
    return this;
  }

  /**
   * Closes the backing channel: waiting operations fail, values already in it can still be taken.
   *
   * ```ts
   * await jobs.close();
   * ```
   */
  async close(...args: unknown[]): Promise<void> {
    await this.#op(RefOp.Close, args, 'close');
  }

  /**
   * Takes values until the channel is closed and empty (`for await (const x of rc)`).
   *
   * ```ts
   * for await (const r of results) console.log(r);
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      let v: T;
      try {
        v = await this.take();
      } catch (e) {
        if (isClosedError(e)) return;
        throw e;
      }
      yield v;
    }
  }

  /**
   * Releases this reference now (Julia's `finalize`): the owner frees the channel once no other process
   * holds it, and any later use of this RemoteChannel throws.
   *
   * ```ts
   * const c = new RemoteChannel(2); c.finalize();
   * ```
   */
  finalize(): void {
    if (this.#finalized) return;
    this.#finalized = true;
    if (this.#holding !== undefined) release(this.#holding);
  }

  /** @internal Writes the reference for the process at the other end of `context`. */
  static toWire(c: RemoteChannel, w: ValueWriter, context: unknown): void {
    if (c.#finalized) throw finalizedError('RemoteChannel', c.where, c.whence, c.id, 'send');
    w.uint(c.where);
    w.uint(c.whence);
    w.uint(c.id);
    const to = peerOfContext(context);
    const h = c.#holding;
    if (h !== undefined && !h.released) {
      keepFindable(c, h); // it may come back
      if (to !== 0) afterSend(() => registerReceiver(c.where, c.whence, c.id, to));
    }
  }

  /** @internal Reads a reference written by `toWire` (one already held here is that same object). */
  static fromWire(r: ValueReader): RemoteChannel {
    const where = r.uint();
    const whence = r.uint();
    const id = r.uint();
    const known = heldObject(whence, id);
    if (known instanceof RemoteChannel) {
      if (where !== myid()) known.#holding!.weight++;
      return known;
    }
    fromWireBuild = true;
    let c: RemoteChannel;
    try {
      c = new RemoteChannel(where);
    } finally {
      fromWireBuild = false;
    }
    (c as { whence: number }).whence = whence;
    (c as { id: number }).id = id;
    c.#holding = hold(c, where, whence, id, 1, where === myid());
    return c;
  }
}
