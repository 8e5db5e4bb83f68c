/**
 * Worker pools (Julia's `AbstractWorkerPool`, `WorkerPool`, `CachingPool`, `default_worker_pool`,
 * `remote`): a set of workers and a queue of the free ones. Remote calls given a pool take a free worker,
 * call it, and put it back. Workers that leave the cluster leave every pool.
 *
 * A pool lives on the process that made it. A `WorkerPool` sent to another process arrives as a proxy
 * holding a `RemoteChannel` whose backing store is the pool itself (Julia's `pool.ref`), so `take`/`put`
 * from a worker act on the creator's pool.
 */
import { PGRP, myid } from '../cluster/process-group';
import { Future } from '../remote/future';
import { RemoteChannel } from '../remote/remote-channel';
import { channel_from_id, remoteref_id } from '../remote/ref-api';
import { lookupRef } from '../remote/ref-store';
import { remotecall, remotecall_fetch, remotecall_wait, remote_do } from '../remote/remotecall';
import type { ValueReader, ValueWriter } from '../serialization/registry';
import { registerInternal } from '../parallel/internal-functions';
import { POOL_CALL, type CallForm } from './pool-call';
import { internally } from '../parallel/sync-scope';

/** Pools of this process, so a departing worker leaves them all. */
const livePools = new Set<WeakRef<AbstractWorkerPool>>();
const poolsGone = new FinalizationRegistry<WeakRef<AbstractWorkerPool>>((ref) => livePools.delete(ref));

PGRP.onGone.push((id) => {
  for (const ref of livePools) ref.deref()?.dropWorker(id);
});

/** Whether process `w` can take calls (a worker being removed by rmprocs no longer takes new ones). */
export function usable(w: number): boolean {
  return w === myid() || PGRP.get(w)?.state === 'up';
}

function checkWorkerId(w: unknown, fname: string): number {
  if (typeof w !== 'number' || !Number.isInteger(w) || w < 1) throw new TypeError(`${fname}: a worker id must be a positive integer, got ${String(w)}`);
  return w;
}

/** A `take` that can be called off, or sent to the back of the queue of takes (see `takeCancellable`). */
export interface PendingTake {
  promise: Promise<number | undefined>;
  cancel(): void;
  /** Lets every take queued now go first. */
  toBack(): void;
}

/**
 * What every pool offers (Julia's `AbstractWorkerPool`): `push` adds a worker, `take` waits for a free
 * one and takes it, `put` gives it back, `wait` waits until one is free, `length` counts the pool's
 * workers (free and busy), `isready` says whether a `take` would not wait. Every method returns a Promise
 * because a pool used from another process answers over the network.
 */
export abstract class AbstractWorkerPool {
  /** Every worker of the pool, free or busy. */
  protected readonly members = new Set<number>();
  /** Free workers, in the order they became free. */
  #free: number[] = [];
  #waiters: Array<{ resolve: (w: number) => void; reject: (e: unknown) => void }> = [];
  /** The default pool lends process 1 when it has no workers (Julia's rule). */
  protected isDefault = false;

  constructor() {
    const ref = new WeakRef<AbstractWorkerPool>(this);
    livePools.add(ref);
    poolsGone.register(this, ref);
  }

  /** @internal Adds `w` here (as free). */
  localPush(w: number): void {
    checkWorkerId(w, 'push');
    if (!this.members.has(w)) this.members.add(w);
    this.localPut(w);
  }

  /** @internal Gives `w` back, if it still belongs to the pool and can take calls. */
  localPut(w: number): number {
    if (!this.members.has(w)) return w;
    if (!usable(w)) {
      this.dropWorker(w);
      return w;
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter.resolve(w);
    else if (!this.#free.includes(w)) this.#free.push(w);
    return w;
  }

  /** @internal A free worker now, or undefined when a `take` would wait (or fail). */
  tryTake(): number | undefined {
    while (this.#free.length > 0) {
      const w = this.#free.shift()!;
      if (usable(w) && this.members.has(w)) return w;
      this.members.delete(w);
    }
    if (this.members.size === 0 && this.isDefault) return 1;
    return undefined;
  }

  /** @internal Takes a free worker, waiting for one; fails when the pool has none at all. */
  localTake(): Promise<number> {
    const w = this.tryTake();
    if (w !== undefined) return Promise.resolve(w);
    if (this.members.size === 0) return Promise.reject(new Error('No active worker available in pool'));
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /**
   * @internal Waits for a free worker, as `take`, but can be called off: after `cancel()` the promise
   * resolves `undefined` and no worker is taken for it.
   */
  takeCancellable(): PendingTake {
    const w = this.tryTake();
    const none = (): void => undefined;
    if (w !== undefined) return { promise: Promise.resolve(w), cancel: none, toBack: none };
    if (this.members.size === 0) return { promise: Promise.reject(new Error('No active worker available in pool')), cancel: none, toBack: none };
    let entry!: { resolve: (w: number) => void; reject: (e: unknown) => void };
    let settle!: (w: number | undefined) => void;
    const promise = new Promise<number | undefined>((resolve, reject) => {
      settle = resolve;
      entry = { resolve, reject };
    });
    this.#waiters.push(entry);
    const cancel = (): void => {
      const i = this.#waiters.indexOf(entry);
      if (i >= 0) {
        this.#waiters.splice(i, 1);
        settle(undefined);
      }
    };
    const toBack = (): void => {
      const i = this.#waiters.indexOf(entry);
      if (i >= 0) this.#waiters.push(...this.#waiters.splice(i, 1));
    };
    return { promise, cancel, toBack };
  }

  /** @internal How many takes are waiting for a free worker. */
  waiterCount(): number {
    return this.#waiters.length;
  }

  /** @internal Worker `w` left the cluster: it leaves the pool. */
  dropWorker(w: number): void {
    if (!this.members.delete(w)) return;
    this.#free = this.#free.filter((x) => x !== w);
    this.workerDropped(w);
    if (this.members.size === 0 && !this.isDefault) {
      for (const waiter of this.#waiters.splice(0)) waiter.reject(new Error('No active worker available in pool'));
    }
    if (this.members.size === 0 && this.isDefault) for (const waiter of this.#waiters.splice(0)) waiter.resolve(1);
  }

  /** Subclasses forget what they keep for a worker that left. */
  protected workerDropped(_w: number): void {}

  /** @internal The pool's workers, sorted (Julia: `[1]` for an empty default pool). */
  localWorkers(): number[] {
    if (this.members.size === 0 && this.isDefault) return [1];
    return [...this.members].sort((a, b) => a - b);
  }

  /** @internal Whether this object is the pool itself (not a proxy of one elsewhere). */
  isLocal(): boolean {
    return true;
  }

  /**
   * Adds worker `w` to the pool (free).
   *
   * ```ts
   * const pool = new WorkerPool([]); await pool.push(2);
   * ```
   */
  async push(w: number): Promise<this> {
    this.localPush(w);
    return this;
  }

  /**
   * Puts worker `w` back among the free workers (a worker not in the pool, or gone, is ignored).
   *
   * ```ts
   * const w = await pool.take(); try { … } finally { await pool.put(w); }
   * ```
   */
  async put(w: number): Promise<number> {
    return this.localPut(checkWorkerId(w, 'put'));
  }

  /**
   * Waits for a free worker and takes it; rejects when the pool has no workers at all.
   *
   * ```ts
   * const w = await pool.take();
   * ```
   */
  take(): Promise<number> {
    return this.localTake();
  }

  /**
   * Waits until a worker is free (without taking it).
   *
   * ```ts
   * await pool.wait();
   * ```
   */
  async wait(): Promise<void> {
    const w = await this.localTake();
    this.localPut(w);
  }

  /**
   * The number of workers in the pool, free and busy.
   *
   * ```ts
   * await new WorkerPool([2, 3]).length(); // 2
   * ```
   */
  async length(): Promise<number> {
    return this.members.size;
  }

  /**
   * Whether a worker is free now (a `take` would not wait).
   *
   * ```ts
   * await new WorkerPool([2]).isready(); // true
   * ```
   */
  async isready(): Promise<boolean> {
    return this.#free.some(usable) || (this.members.size === 0 && this.isDefault);
  }

  /**
   * The pool's workers, sorted.
   *
   * ```ts
   * await new WorkerPool([3, 2]).workers(); // [2, 3]
   * ```
   */
  async workers(): Promise<number[]> {
    return this.localWorkers();
  }

  /**
   * The number of workers (1 for an empty default pool, whose calls run on process 1).
   *
   * ```ts
   * await default_worker_pool().nworkers();
   * ```
   */
  async nworkers(): Promise<number> {
    return this.localWorkers().length;
  }

  /**
   * @internal What stands for `f` in a call to worker `w`: `f` itself, or (CachingPool) a token the
   * worker resolves to its cached copy with `cachedFunction`.
   */
  functionToken(f: Function, _w: number): unknown {
    return f;
  }

  /** How a call to worker `w` is sent: `[f, args]`, or through the worker's cache (CachingPool). */
  protected prepare(f: Function, w: number, args: unknown[]): [Function, unknown[]] {
    const token = this.functionToken(f, w);
    return token === f ? [f, args] : [execFromCache, [token, ...args]];
  }

  /** A call whose Future is already made failed before it was sent: forget what `prepare` recorded. */
  /** @internal Forgets a cached function on `w` (its worker died before caching it). */
  unprepare(_f: Function, _w: number): void {}

  /** @internal Runs one remote-call form on a free worker of the pool (Julia's `remotecall_pool`). */
  [POOL_CALL](form: CallForm, f: Function, args: unknown[]): unknown {
    switch (form) {
      case 'remotecall_fetch':
      case 'remotecall_wait':
        return this.#callTaken(form, f, args);
      case 'remote_do':
        this.take().then(
          (w) => {
            try {
              const [g, a] = this.prepare(f, w, args);
              remote_do(g as (...x: unknown[]) => unknown, w, ...a);
            } catch (e) {
              console.error('Error in remote_do on a worker pool:', e);
            } finally {
              void this.put(w).catch(() => undefined);
            }
          },
          (e: unknown) => console.error('Error in remote_do on a worker pool:', e),
        );
        return undefined;
      case 'remotecall':
        return this.#remotecall(f, args);
    }
  }

  async #callTaken(form: 'remotecall_fetch' | 'remotecall_wait', f: Function, args: unknown[]): Promise<unknown> {
    const w = await this.take();
    try {
      const [g, a] = this.prepare(f, w, args);
      try {
        const call = form === 'remotecall_fetch' ? remotecall_fetch : remotecall_wait;
        // Internal: inside sync() the call made with the pool is the task (registered by the caller).
        return await internally(() => call(g as (...x: unknown[]) => unknown, w, ...a));
      } catch (e) {
        if (!usable(w)) this.unprepare(f, w);
        throw e;
      }
    } finally {
      await this.put(w);
    }
  }

  /** A Future at once: with a free worker, the call's own; else a local Future the call fills. */
  #remotecall(f: Function, args: unknown[]): Future {
    const now = this.isLocal() ? this.tryTake() : undefined;
    if (now !== undefined) {
      let fut: Future;
      try {
        const [g, a] = this.prepare(f, now, args);
        fut = internally(() => remotecall(g as (...x: unknown[]) => unknown, now, ...a));
      } catch (e) {
        this.localPut(now);
        throw e;
      }
      fut.wait().then(
        () => this.localPut(now),
        () => this.localPut(now),
      );
      return fut;
    }
    const fut = new Future(myid());
    const rv = lookupRef(fut.whence, fut.id, myid());
    this.#callTaken('remotecall_fetch', f, args).then(
      (v) => rv.set(v, false),
      (e) => rv.set(e, true),
    );
    return fut;
  }
}

/**
 * A pool of workers (Julia's `WorkerPool`). Remote calls given the pool run on a free worker of it. It
 * can be sent to other processes: there it acts on this pool (through a RemoteChannel to it).
 *
 * ```ts
 * const pool = new WorkerPool([2, 3]);
 * await remotecall_fetch(() => myid(), pool); // 2 or 3
 * ```
 */
export class WorkerPool extends AbstractWorkerPool {
  /** The reference other processes reach this pool through (made when the pool is first sent). */
  #ref: RemoteChannel<number> | undefined;
  /** Set on a proxy: the owner's pool, reached through its RemoteChannel. */
  #remote: RemoteChannel<number> | undefined;
  /** Set on a worker's default pool proxy before it has asked process 1 for the pool. */
  #resolving: Promise<RemoteChannel<number>> | undefined;

  constructor(pids: Iterable<number> = []) {
    super();
    if (pids == null || typeof (pids as Iterable<number>)[Symbol.iterator] !== 'function') {
      throw new TypeError('WorkerPool: expected an array (or iterable) of worker ids');
    }
    for (const w of pids) this.localPush(checkWorkerId(w, 'WorkerPool'));
  }

  /** @internal The proxy of a pool owned elsewhere. */
  static proxy(ref: RemoteChannel<number> | (() => Promise<RemoteChannel<number>>)): WorkerPool {
    const p = new WorkerPool();
    livePoolsForget(p);
    if (ref instanceof RemoteChannel) p.#remote = ref;
    else p.#resolving = ref();
    return p;
  }

  /** @internal The reference a proxy reaches its owner's pool through. */
  static remoteOf(p: WorkerPool): RemoteChannel<number> {
    if (p.#remote === undefined) throw new Error('remoteOf: not a proxy of a pool on another process');
    return p.#remote;
  }

  override isLocal(): boolean {
    return this.#remote === undefined && this.#resolving === undefined;
  }

  async #owner(): Promise<RemoteChannel<number>> {
    if (this.#remote === undefined) this.#remote = await this.#resolving!;
    return this.#remote;
  }

  /** Runs method `op` of the owner's pool. */
  async #onOwner(op: PoolOp, arg?: number): Promise<unknown> {
    const ref = await this.#owner();
    return remotecall_fetch(poolOp, ref.where, ref, op, arg);
  }

  override async push(w: number): Promise<this> {
    if (this.isLocal()) return super.push(w);
    await this.#onOwner('push', checkWorkerId(w, 'push'));
    return this;
  }

  override async put(w: number): Promise<number> {
    if (this.isLocal()) return super.put(w);
    await (await this.#owner()).put(checkWorkerId(w, 'put'));
    return w;
  }

  override async take(): Promise<number> {
    if (this.isLocal()) return super.take();
    return (await this.#owner()).take();
  }

  override async wait(): Promise<void> {
    if (this.isLocal()) return super.wait();
    await this.#onOwner('wait');
  }

  override async length(): Promise<number> {
    if (this.isLocal()) return super.length();
    return (await this.#onOwner('length')) as number;
  }

  override async isready(): Promise<boolean> {
    if (this.isLocal()) return super.isready();
    return (await this.#onOwner('isready')) as boolean;
  }

  override async workers(): Promise<number[]> {
    if (this.isLocal()) return super.workers();
    return (await this.#onOwner('workers')) as number[];
  }

  override async nworkers(): Promise<number> {
    if (this.isLocal()) return super.nworkers();
    return (await this.#onOwner('nworkers')) as number;
  }

  /** @internal The backing store of the pool's RemoteChannel: this pool's own put/take. */
  asChannel(): { put(w: number): Promise<number>; take(): Promise<number>; isready(): Promise<boolean>; wait(): Promise<void>; pool: WorkerPool } {
    return { put: (w) => this.put(w), take: () => this.take(), isready: () => this.isready(), wait: () => this.wait(), pool: this };
  }

  /** @internal Writes the pool as a reference to it (tag 4). */
  static toWire(p: WorkerPool, w: ValueWriter): void {
    if (p.#remote !== undefined) return w.value(p.#remote, '.ref');
    if (p.#resolving !== undefined) throw new Error('cannot send this default worker pool before it has reached process 1; await one of its methods first');
    p.#ref ??= new RemoteChannel<number>(() => p.asChannel());
    w.value(p.#ref, '.ref');
  }

  /** @internal Reads a pool written by `toWire`: the pool itself on its owner, a proxy elsewhere. */
  static fromWire(r: ValueReader): WorkerPool {
    const ref = r.value() as RemoteChannel<number>;
    if (ref.where === myid()) {
      const backing = channel_from_id(remoteref_id(ref)) as unknown as { pool?: WorkerPool };
      if (backing.pool instanceof WorkerPool) return backing.pool;
    }
    return WorkerPool.proxy(ref);
  }
}

/** A proxy is not a pool of this process: departures here do not concern it. */
function livePoolsForget(p: AbstractWorkerPool): void {
  for (const ref of livePools) if (ref.deref() === p) livePools.delete(ref);
}

type PoolOp = 'push' | 'wait' | 'length' | 'isready' | 'workers' | 'nworkers';

/** Runs on a pool's owner: method `op` of the pool behind `ref`. Travels by path (an internal export). */
function poolOp(ref: RemoteChannel<number>, op: PoolOp, arg?: number): unknown {
  const backing = channel_from_id(remoteref_id(ref)) as unknown as { pool: WorkerPool };
  const pool = backing.pool;
  switch (op) {
    case 'push':
      return pool.push(arg!).then(() => undefined);
    default:
      return pool[op]();
  }
}

/**
 * A pool that caches the functions it runs on each worker (Julia's `CachingPool`): the first call of
 * `f` on a worker sends `f` and keeps it there in a RemoteChannel owned by that worker; later calls send
 * only that reference. So a function's code (and, with free-identifier shipping, the globals it carries,
 * which travel inside the function's encoding) is sent once per worker for the pool's life, or until
 * `clear(pool)`. A CachingPool cannot be sent to other processes.
 *
 * ```ts
 * const pool = new CachingPool(workers());
 * await pmap((x: number) => x * 2, pool, range(0, 100));
 * clear(pool);
 * ```
 */
export class CachingPool extends AbstractWorkerPool {
  /** (worker, function) → the RemoteChannel on that worker holding the function. */
  #cache = new Map<number, Map<Function, RemoteChannel<Function>>>();

  constructor(pids: Iterable<number> = []) {
    super();
    if (pids == null || typeof (pids as Iterable<number>)[Symbol.iterator] !== 'function') {
      throw new TypeError('CachingPool: expected an array (or iterable) of worker ids');
    }
    for (const w of pids) this.localPush(checkWorkerId(w, 'CachingPool'));
  }

  override functionToken(f: Function, w: number): unknown {
    if (w === myid()) return f;
    let perWorker = this.#cache.get(w);
    if (perWorker === undefined) this.#cache.set(w, (perWorker = new Map()));
    const rc = perWorker.get(f);
    if (rc !== undefined) return rc;
    // The first call carries the function (and whatever travels inside its encoding) with the channel
    // it is to be kept in; every later call sends the channel only.
    const fresh = new RemoteChannel<Function>(w);
    perWorker.set(f, fresh);
    return [f, fresh];
  }

  override unprepare(f: Function, w: number): void {
    const m = this.#cache.get(w);
    m?.get(f)?.finalize();
    m?.delete(f);
  }

  protected override workerDropped(w: number): void {
    const m = this.#cache.get(w);
    if (m === undefined) return;
    this.#cache.delete(w);
    for (const rc of m.values()) rc.finalize();
  }

  /**
   * Removes every function this pool cached on its workers (Julia's `clear!(pool)`; the free
   * `clear(pool)` calls this); later calls send them again. Returns the pool.
   *
   * ```ts
   * pool.clear();
   * ```
   */
  clear(): this {
    for (const m of this.#cache.values()) for (const rc of m.values()) rc.finalize();
    this.#cache.clear();
    return this;
  }

  /** @internal How many (worker, function) pairs are cached. */
  cachedCount(): number {
    let n = 0;
    for (const m of this.#cache.values()) n += m.size;
    return n;
  }
}

/**
 * Runs on the worker: the first call caches `f` in its channel (local to the worker, so nothing is
 * copied) and calls it; later calls find it there. Travels by path (an internal export).
 */
async function execFromCache(token: unknown, ...args: unknown[]): Promise<unknown> {
  const f = await cachedFunction(token);
  return f(...args);
}

/**
 * Runs on the worker: the function a token stands for. `[f, channel]` (a first call) caches `f` in the
 * channel, which is local to this worker so nothing is copied; a channel alone is a later call.
 */
export function cachedFunction(token: unknown): Function | Promise<Function> {
  if (typeof token === 'function') return token;
  if (Array.isArray(token)) {
    const [f, rc] = token as [Function, RemoteChannel<Function>];
    return rc.put(f).then(() => f);
  }
  if (token instanceof RemoteChannel) return (token as RemoteChannel<Function>).fetch();
  throw new TypeError('a CachingPool call carried neither a function nor a cached function reference');
}

let defaultPool: WorkerPool | undefined;

/**
 * The pool of idle workers that `remote(f)` and `pmap` use by default (Julia's `default_worker_pool()`).
 * On process 1 it holds every worker and follows `addprocs`, `rmprocs` and worker deaths; with no
 * workers, its calls run on process 1. On a worker it is process 1's default pool, reached remotely.
 *
 * ```ts
 * await addprocs(2); await default_worker_pool().workers(); // [2, 3]
 * ```
 */
export function default_worker_pool(): WorkerPool {
  if (defaultPool !== undefined) return defaultPool;
  if (myid() === 1) {
    defaultPool = new WorkerPool(PGRP.upIds().filter((p) => p !== 1 && PGRP.get(p)?.state === 'up'));
    (defaultPool as unknown as { isDefault: boolean }).isDefault = true;
  } else {
    defaultPool = WorkerPool.proxy(async () => {
      const p = (await remotecall_fetch(defaultPoolOfMaster, 1)) as WorkerPool;
      return WorkerPool.remoteOf(p);
    });
  }
  return defaultPool;
}

/** Runs on process 1: its default pool (which travels as a reference). */
function defaultPoolOfMaster(): WorkerPool {
  return default_worker_pool();
}

PGRP.onUp.push((id) => {
  if (defaultPool !== undefined && myid() === 1 && defaultPool.isLocal()) defaultPool.localPush(id);
});

/**
 * A function that runs `f` with its arguments on a free worker of `pool` (default: the default worker
 * pool) through `remotecall_fetch` (Julia's `remote`).
 *
 * ```ts
 * const sq = remote((x: number) => x * x);
 * await sq(4); // 16, computed on some worker
 * ```
 */
export function remote<A extends unknown[], R>(f: (...args: A) => R, pool?: AbstractWorkerPool): (...args: A) => Promise<Awaited<R>> {
  if (typeof f !== 'function') throw new TypeError(`remote: expected a function, got ${typeof f}`);
  if (pool !== undefined && !(pool instanceof AbstractWorkerPool)) throw new TypeError('remote: the pool must be a WorkerPool or CachingPool');
  return (...args: A) => remotecall_fetch(f, pool ?? default_worker_pool(), ...args) as Promise<Awaited<R>>;
}

registerInternal('poolOp', poolOp);
registerInternal('execFromCache', execFromCache);
registerInternal('defaultPoolOfMaster', defaultPoolOfMaster);
