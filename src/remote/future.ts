/**
 * `Future`: a write-once reference to a value that lives on process `where` (Julia's `Future`).
 */
import { myid } from '../cluster/process-group';
import { CapturedException, RemoteException } from '../errors';
import { connectionTo, MessageKind, RefOp, sendFrame } from '../messages/messaging';
import { sendRequest } from '../messages/requests';
import { deleteClient, findRef, lookupRef, nextId } from './ref-store';

/** Wraps an error raised by the computation behind a reference the way Julia does. */
export function asRemoteException(pid: number, err: unknown): RemoteException {
  if (err instanceof RemoteException) return err;
  return new RemoteException(pid, err instanceof CapturedException ? err : new CapturedException(err));
}

/** Sends a reference operation to the owner and waits for its answer. */
export async function refOp(where: number, op: RefOp, whence: number, id: number, payload?: unknown): Promise<{ value: unknown; isError: boolean }> {
  return sendRequest(connectionTo(where), MessageKind.RefOp, payload, { refWhence: whence, refId: id, op, rootPath: 'value' });
}

/** Tells owners about unfetched Futures this process dropped, in batches. */
const unfetched = new FinalizationRegistry<{ where: number; whence: number; id: number }>((r) => queueDelete(r.where, r.whence, r.id));
const deleteQueue = new Map<number, number[]>();
let flushScheduled = false;

function queueDelete(where: number, whence: number, id: number): void {
  if (where === myid()) {
    deleteClient(whence, id, where);
    return;
  }
  let q = deleteQueue.get(where);
  if (q === undefined) deleteQueue.set(where, (q = []));
  q.push(whence, id);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushDeletes).unref();
  }
}

function flushDeletes(): void {
  flushScheduled = false;
  for (const [where, ids] of deleteQueue) {
    deleteQueue.delete(where);
    try {
      sendFrame(connectionTo(where), MessageKind.DelRefs, ids, { rootPath: 'ids' });
    } catch {
      // The owner is gone, and its values with it.
    }
  }
}

/**
 * A remote reference to a value that will be set once, on process `where` (by default this one).
 * `remotecall` returns one; `new Future(pid)` makes an empty one that `put` fills.
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

  constructor(pid?: number);
  /** @internal (where, whence, id) of an existing reference. */
  constructor(pid: number, whence: number, id: number);
  constructor(pid: number = myid(), whence?: number, id?: number) {
    if (!Number.isInteger(pid) || pid < 1) throw new TypeError(`Future: pid must be a positive integer, got ${String(pid)}`);
    this.where = pid;
    this.whence = whence ?? myid();
    this.id = id ?? nextId();
    if (this.where === myid()) lookupRef(this.whence, this.id, myid());
    else unfetched.register(this, { where: this.where, whence: this.whence, id: this.id }, this);
  }

  /**
   * Waits for the value and returns it. The value is cached: later fetches return it without a message.
   * If the computation failed, throws its `RemoteException`.
   *
   * ```ts
   * const v = await remotecall(() => 42, 2).fetch(); // 42
   * ```
   */
  fetch(): Promise<T> {
    if (this.#cached !== undefined) return Promise.resolve(this.#cached.value);
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    return (this.#fetching ??= this.#fetchOnce());
  }

  async #fetchOnce(): Promise<T> {
    try {
      let value: unknown, isError: boolean;
      if (this.where === myid()) {
        const rv = findRef(this.whence, this.id) ?? lookupRef(this.whence, this.id, myid());
        await rv.whenSettled();
        ({ value, isError } = rv);
        deleteClient(this.whence, this.id, myid());
      } else {
        ({ value, isError } = await refOp(this.where, RefOp.Fetch, this.whence, this.id));
        unfetched.unregister(this);
      }
      if (isError) {
        throw (this.#failed = asRemoteException(this.where, value));
      }
      this.#cached = { value: value as T };
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
    if (this.#cached !== undefined) return this;
    if (this.#failed !== undefined) throw this.#failed;
    if (this.where === myid()) {
      const rv = lookupRef(this.whence, this.id, myid());
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
    if (this.#cached !== undefined || this.#failed !== undefined) throw new Error('Future can be set only once');
    if (this.where === myid()) {
      lookupRef(this.whence, this.id, myid()).set(value, false);
    } else {
      const r = await refOp(this.where, RefOp.Put, this.whence, this.id, value);
      if (r.isError) throw r.value instanceof Error ? r.value : asRemoteException(this.where, r.value);
    }
    this.#cached = { value };
    return this;
  }

  /** The cached value, if fetched or put here. @internal */
  get cachedValue(): { value: T } | undefined {
    return this.#cached;
  }
}
