/**
 * `Future`: a write-once reference to a value that lives on process `where` (Julia's `Future`).
 */
import { myid } from '../cluster/process-group';
import { CapturedException, RemoteException } from '../errors';
import { afterSend, connectionTo, peerOfContext } from '../messages/messaging';
import { MessageKind } from '../wire/generated/dts/wire/message-kind';
import { RefOp } from '../wire/generated/dts/wire/ref-op';
import { sendRequest } from '../messages/requests';
import type { ValueReader, ValueWriter } from '../serialization/registry';
import { findRef, lookupRef, nextId } from './ref-store';
import { heldObject, hold, keepFindable, registerReceiver, release, type Holding } from './ref-tracking';

/** Wraps an error raised by the computation behind a reference the way Julia does. */
export function asRemoteException(pid: number, err: unknown): RemoteException {
  if (err instanceof RemoteException) return err;
  return new RemoteException(pid, err instanceof CapturedException ? err : new CapturedException(err));
}

/** Sends a reference operation to the owner and waits for its answer. */
export async function refOp(where: number, op: RefOp, whence: number, id: number, payload?: unknown): Promise<{ value: unknown; isError: boolean }> {
  return sendRequest(connectionTo(where), MessageKind.RefOp, payload, { refWhence: whence, refId: id, op, rootPath: 'value' });
}

/** The error a finalized reference raises when used. */
export function finalizedError(kind: string, where: number, whence: number, id: number, what: string): Error {
  return new Error(`cannot ${what} a ${kind} that was finalized (reference ${whence}:${id} on process ${where}): its remote value is freed`);
}

/** Set while `fromWire` builds a Future: the constructor then registers nothing. */
let fromWireBuild = false;

/** How a Future travels: by reference, or (once its value is here) with its value or its error. */
const enum Wire {
  Reference = 0,
  Value = 1,
  Error = 2,
}

/**
 * A remote reference to a value that will be set once, on process `where` (by default this one).
 * `remotecall` returns one; `new Future(pid)` makes an empty one that `put` fills. A Future can be sent
 * to any process; the owner keeps the value until no process holds an unfetched reference to it (a
 * fetch brings the value here and releases the owner's copy; so do `finalize(f)` and the garbage
 * collector). A fetched Future travels with its value.
 *
 * ```ts
 * const f = remotecall(Math.sqrt, 2, 16);
 * await f.fetch(); // 4
 * ```
 */
export class Future<T = unknown> {
  /** The process that owns the value. */
  readonly where: number;
  /** The process that created the reference. */
  readonly whence: number;
  /** The reference's counter on `whence`. */
  readonly id: number;
  #cached: { value: T } | undefined;
  #failed: RemoteException | undefined;
  #fetching: Promise<T> | undefined;
  #holding: Holding | undefined;
  #finalized = false;

  constructor(pid?: number);
  /** @internal (where, whence, id) of a reference the message that made it registered this process for. */
  constructor(pid: number, whence: number, id: number);
  constructor(pid: number = myid(), whence?: number, id?: number) {
    if (!Number.isInteger(pid) || pid < 1) throw new TypeError(`Future: pid must be a positive integer, got ${String(pid)}`);
    this.where = pid;
    this.whence = whence ?? myid();
    this.id = id ?? nextId();
    if (fromWireBuild) return;
    // A fresh Future registers itself with its owner; one made for a Call was registered by the Call.
    this.#holding = hold(this, this.where, this.whence, this.id, 1, whence === undefined || pid === myid(), /* arrived */ false);
  }

  #check(what: string): void {
    if (this.#finalized) throw finalizedError('Future', this.where, this.whence, this.id, what);
  }

  /**
   * Waits for the value and returns it. The value is cached: later fetches return it without a message,
   * and the owner's copy is released. If the computation failed, throws its `RemoteException`.
   *
   * ```ts
   * const v = await remotecall(() => 42, 2).fetch(); // 42
   * ```
   */
  fetch(): Promise<T> {
    if (this.#finalized) return Promise.reject(finalizedError('Future', this.where, this.whence, this.id, 'fetch'));
    if (this.#cached !== undefined) return Promise.resolve(this.#cached.value);
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    return (this.#fetching ??= this.#fetchOnce());
  }

  async #fetchOnce(): Promise<T> {
    try {
      let value: unknown, isError: boolean;
      if (this.where === myid()) {
        const rv = lookupRef(this.whence, this.id);
        await rv.whenSettled();
        ({ value, isError } = rv);
      } else {
        ({ value, isError } = await refOp(this.where, RefOp.Fetch, this.whence, this.id));
      }
      if (this.#finalized) throw finalizedError('Future', this.where, this.whence, this.id, 'fetch');
      if (isError) this.#failed = asRemoteException(this.where, value);
      else this.#cached = { value: value as T };
      // The value is here now: the owner's copy is no longer needed on our account.
      if (this.#holding !== undefined) release(this.#holding);
      if (this.#failed !== undefined) throw this.#failed;
      return value as T;
    } finally {
      this.#fetching = undefined;
    }
  }

  /**
   * Waits until the value is set; returns this Future. Throws the `RemoteException` if the computation failed.
   *
   * ```ts
   * await remotecall(() => 1, 2).wait();
   * ```
   */
  async wait(): Promise<this> {
    this.#check('wait for');
    if (this.#cached !== undefined) return this;
    if (this.#failed !== undefined) throw this.#failed;
    if (this.where === myid()) {
      const rv = lookupRef(this.whence, this.id);
      await rv.whenSettled();
      if (rv.isError) throw asRemoteException(this.where, rv.value);
      return this;
    }
    const { value, isError } = await refOp(this.where, RefOp.Wait, this.whence, this.id);
    if (isError) throw asRemoteException(this.where, value);
    return this;
  }

  /**
   * Whether the value is set (a Future, once set, stays set).
   *
   * ```ts
   * const f = new Future(); await f.isready(); // false
   * ```
   */
  async isready(): Promise<boolean> {
    this.#check('query');
    if (this.#cached !== undefined || this.#failed !== undefined) return true;
    if (this.where === myid()) return findRef(this.whence, this.id)?.settled ?? false;
    return (await refOp(this.where, RefOp.IsReady, this.whence, this.id)).value as boolean;
  }

  /**
   * Sets the value. Futures are write-once: a second `put` throws.
   *
   * ```ts
   * const f = new Future(2); await f.put(7); await f.fetch(); // 7
   * ```
   */
  async put(value: T): Promise<this> {
    this.#check('put into');
    if (this.#cached !== undefined || this.#failed !== undefined) throw new Error('Future can be set only once');
    if (this.where === myid()) {
      lookupRef(this.whence, this.id).set(value, false);
    } else {
      const r = await refOp(this.where, RefOp.Put, this.whence, this.id, value);
      if (r.isError) throw r.value instanceof Error ? r.value : asRemoteException(this.where, r.value);
    }
    this.#cached = { value };
    return this;
  }

  /**
   * Releases this reference now (Julia's `finalize(f)`): the owner frees the value once no other process
   * holds it, and any later use of this Future throws. Finalizing twice does nothing.
   *
   * ```ts
   * const f = remotecall(() => new Float64Array(1e6), 2);
   * f.finalize(); // worker 2 frees the array (unless the Future was sent elsewhere too)
   * ```
   */
  finalize(): void {
    if (this.#finalized) return;
    this.#finalized = true;
    this.#cached = undefined;
    this.#failed = undefined;
    if (this.#holding !== undefined) release(this.#holding);
  }

  /** The cached value, if fetched or put here. @internal */
  get cachedValue(): { value: T } | undefined {
    return this.#cached;
  }

  /** @internal Writes a Future for the process at the other end of `context`. */
  static toWire(f: Future, w: ValueWriter, context: unknown): void {
    if (f.#finalized) throw finalizedError('Future', f.where, f.whence, f.id, 'send');
    const mode = f.#cached !== undefined ? Wire.Value : f.#failed !== undefined ? Wire.Error : Wire.Reference;
    w.uint(mode);
    w.uint(f.where);
    w.uint(f.whence);
    w.uint(f.id);
    if (mode === Wire.Value) w.value(f.#cached!.value, '.value');
    else if (mode === Wire.Error) w.value(f.#failed, '.error');
    else {
      const to = peerOfContext(context);
      const h = f.#holding;
      if (h !== undefined && !h.released) {
        keepFindable(f, h); // it may come back
        if (to !== 0) afterSend(() => registerReceiver(f.where, f.whence, f.id, to));
      }
    }
  }

  /** @internal Reads a Future written by `toWire` (one already held here is that same object). */
  static fromWire(r: ValueReader): Future {
    const mode = r.uint() as Wire;
    const where = r.uint();
    const whence = r.uint();
    const id = r.uint();
    const existing = heldObject(whence, id);
    const known = existing instanceof Future ? existing : undefined;
    if (mode !== Wire.Reference) {
      const v = r.value();
      const f = known ?? bare(where, whence, id);
      if (f.#cached === undefined && f.#failed === undefined) {
        if (mode === Wire.Value) f.#cached = { value: v };
        else f.#failed = v instanceof RemoteException ? v : asRemoteException(where, v);
      }
      if (f.#holding !== undefined) release(f.#holding);
      return f;
    }
    if (known !== undefined) {
      // The sender registered this process again: one more registration to release with this object.
      if (where !== myid()) known.#holding!.weight++;
      return known;
    }
    const f = bare(where, whence, id);
    // The owner counts its own new holding; elsewhere the sender has registered this process.
    f.#holding = hold(f, where, whence, id, 1, where === myid());
    return f;
  }
}

/** A Future that registers nothing (fromWire decides what it counts for). */
function bare(where: number, whence: number, id: number): Future {
  fromWireBuild = true;
  try {
    return new Future(where, whence, id);
  } finally {
    fromWireBuild = false;
  }
}
