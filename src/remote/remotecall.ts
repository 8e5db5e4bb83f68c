/**
 * Remote calls (Julia's `remotecall`, `remotecall_fetch`, `remotecall_wait`, `remote_do`).
 * A call to the calling process itself runs locally, with the caller's very objects.
 */
import { myid } from '../cluster/process-group';
import { connectionTo, sendFrame } from '../messages/messaging';
import { MessageKind } from '../wire/generated/dts/wire/message-kind';
import { sendCall, sendRequest } from '../messages/requests';
import { invoke } from '../messages/process-messages';
import { lookupRef, nextId } from './ref-store';
import { registerInternal } from '../parallel/internal-functions';
import { Future, asRemoteException } from './future';
import type { RemoteException } from '../errors';
import { isPoolCallable, POOL_CALL, type PoolCallable } from '../pools/pool-call';
import { currentSync as currentSyncScope, registerTask, syncOpen } from '../parallel/sync-scope';
import type { AbstractWorkerPool } from '../pools/worker-pool';

/** Where a remote call runs: a process id, or a worker pool (a free worker of it is taken for the call). */
export type Target = number | AbstractWorkerPool;

/** A call travels as `[f, args]`; encode errors name the parts `f` and `args[i]`. */
const CALL_PATH = ['f', 'args'] as const;
const remoteError = (value: unknown, pid: number): RemoteException => asRemoteException(pid, value);

/** A function that can be called remotely. */
export type RemoteFunction<A extends unknown[] = unknown[], R = unknown> = (...args: A) => R;
/** What a remote call's Promise resolves to: the function's result, awaited. */
export type Result<R> = Awaited<R>;

function checkPid(pid: unknown, fname: string): number {
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid < 1) {
    throw new TypeError(`${fname}: expected a process id (a positive integer) or a worker pool, got ${typeof pid === 'number' ? pid : pid === null ? 'null' : typeof pid}`);
  }
  return pid;
}

function checkFunction(f: unknown, fname: string): void {
  if (typeof f !== 'function') throw new TypeError(`${fname}: the first argument must be a function, got ${f === null ? 'null' : typeof f}`);
}

/** Runs f(...args) here and resolves with its outcome (errors wrapped as Julia does for local calls). */
function runLocally(f: unknown, args: unknown[]): Promise<{ value: unknown; isError: boolean }> {
  return new Promise((resolve) => invoke(f, args, (value, isError) => resolve({ value, isError })));
}

/**
 * Calls `f(...args)` on process `pid` asynchronously and returns a `Future` for its result at once.
 * Calls to one process are sent in the order they are made.
 *
 * ```ts
 * const f = remotecall((a: number, b: number) => a + b, 2, 1, 2);
 * await f.fetch(); // 3
 * ```
 */
export function remotecall<A extends unknown[], R>(f: RemoteFunction<A, R>, pid: Target, ...args: A): Future<Result<R>> {
  checkFunction(f, 'remotecall');
  let fut: Future<Result<R>>;
  if (typeof pid !== 'number' && isPoolCallable(pid)) {
    fut = (pid as unknown as PoolCallable)[POOL_CALL]('remotecall', f, args) as Future<Result<R>>;
  } else {
    const to = checkPid(pid, 'remotecall');
    if (to === myid()) {
      fut = new Future<Result<R>>(to);
      const rv = lookupRef(fut.whence, fut.id, myid());
      invoke(f, args, (value, isError) => rv.set(value, isError));
    } else {
      const conn = connectionTo(to);
      const id = nextId();
      sendFrame(conn, MessageKind.Call, [f, args], { refWhence: myid(), refId: id, rootPath: CALL_PATH });
      fut = new Future<Result<R>>(to, myid(), id);
    }
  }
  if (syncOpen()) registerTask(fut.wait());
  return fut;
}

/**
 * Calls `f(...args)` on process `pid` and resolves with the result, in one message each way
 * (`fetch(remotecall(...))` without the second round trip). Remote errors reject with `RemoteException`.
 *
 * ```ts
 * await remotecall_fetch(Math.sqrt, 2, 16); // 4
 * ```
 */
export function remotecall_fetch<A extends unknown[], R>(f: RemoteFunction<A, R>, pid: Target, ...args: A): Promise<Result<R>> {
  // Not `async`: this is the hottest call there is, and one Promise (settled by the Result frame) is
  // all it needs. Argument and encode errors still reject rather than throw.
  let p: Promise<Result<R>>;
  try {
    checkFunction(f, 'remotecall_fetch');
    if (typeof pid !== 'number' && isPoolCallable(pid)) p = (pid as unknown as PoolCallable)[POOL_CALL]('remotecall_fetch', f, args) as Promise<Result<R>>;
    else {
      const to = checkPid(pid, 'remotecall_fetch');
      if (to === myid()) p = fetchLocally(f, args, to);
      else p = sendCall(connectionTo(to), MessageKind.CallFetch, [f, args], CALL_PATH, remoteError) as Promise<Result<R>>;
    }
  } catch (e) {
    return Promise.reject(e);
  }
  if (syncOpen()) registerTask(p);
  return p;
}

async function fetchLocally<R>(f: unknown, args: unknown[], pid: number): Promise<Result<R>> {
  const r = await runLocally(f, args);
  if (r.isError) throw asRemoteException(pid, r.value);
  return r.value as Result<R>;
}

/**
 * Calls `f(...args)` on process `pid`, waits until it has finished, and resolves with the `Future` holding
 * its result (which stays on `pid` until fetched). Remote errors reject with `RemoteException`.
 *
 * ```ts
 * const f = await remotecall_wait(() => 42, 2);
 * await f.fetch(); // 42
 * ```
 */
export function remotecall_wait<A extends unknown[], R>(f: RemoteFunction<A, R>, pid: Target, ...args: A): Promise<Future<Result<R>>> {
  let p: Promise<Future<Result<R>>>;
  try {
    checkFunction(f, 'remotecall_wait');
    if (typeof pid !== 'number' && isPoolCallable(pid)) p = (pid as unknown as PoolCallable)[POOL_CALL]('remotecall_wait', f, args) as Promise<Future<Result<R>>>;
    else p = waitOn(f, checkPid(pid, 'remotecall_wait'), args);
  } catch (e) {
    return Promise.reject(e);
  }
  if (syncOpen()) registerTask(p);
  return p;
}

async function waitOn<A extends unknown[], R>(f: RemoteFunction<A, R>, pid: number, args: A): Promise<Future<Result<R>>> {
  if (pid === myid()) {
    const fut = new Future<Result<R>>(pid);
    const rv = lookupRef(fut.whence, fut.id, myid());
    invoke(f, args, (value, isError) => rv.set(value, isError));
    await fut.wait();
    return fut;
  }
  const id = nextId();
  const pending = sendRequest(connectionTo(pid), MessageKind.CallWait, [f, args], { refWhence: myid(), refId: id, rootPath: CALL_PATH });
  const fut = new Future<Result<R>>(pid, myid(), id);
  const r = await pending;
  if (r.isError) throw asRemoteException(pid, r.value);
  return fut;
}

/**
 * Runs `f(...args)` on process `pid` without keeping its result or waiting for it. Errors are printed on
 * the worker's stderr (and so appear on the master prefixed `From worker N:`).
 *
 * ```ts
 * remote_do(() => console.log('hello'), 2);
 * ```
 */
export function remote_do<A extends unknown[]>(f: RemoteFunction<A, unknown>, pid: Target, ...args: A): void {
  checkFunction(f, 'remote_do');
  if (syncOpen() && currentSyncScope()) {
    // Inside sync(): the call is awaited like any task (its result dropped), so sync sees it end or fail.
    registerTask(remotecall_fetch(discardResult, pid, f as (...a: unknown[]) => unknown, ...(args as unknown[])));
    return;
  }
  if (typeof pid !== 'number' && isPoolCallable(pid)) {
    (pid as unknown as PoolCallable)[POOL_CALL]('remote_do', f, args);
    return;
  }
  const to = checkPid(pid, 'remote_do');
  if (to === myid()) {
    setImmediate(() =>
      invoke(f, args, (value, isError) => {
        if (isError) console.error(`Error in remote_do on process ${to}:`, value);
      }),
    );
    return;
  }
  sendFrame(connectionTo(to), MessageKind.RemoteDo, [f, args], { rootPath: CALL_PATH });
}

/** What remote_do runs inside sync(): the function, awaited, its result dropped. Travels by path. */
export async function discardResult(f: (...a: unknown[]) => unknown, ...args: unknown[]): Promise<void> {
  await f(...args);
}
registerInternal('discardResult', discardResult);
