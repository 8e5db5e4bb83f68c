/**
 * The seam between the remote-call forms and worker pools: a pool answers `[POOL_CALL]`, so
 * `remotecall*(f, pool, …)` can hand the call to it without remotecall.ts importing the pool modules.
 */

/** The remote-call form a pool is asked to run. */
export type CallForm = 'remotecall' | 'remotecall_fetch' | 'remotecall_wait' | 'remote_do';

/** The method a pool runs a remote call with (take a free worker, call, put it back). */
export const POOL_CALL: unique symbol = Symbol.for('distributed-ts.poolCall');

/** Anything remote calls accept in place of a pid. */
export interface PoolCallable {
  [POOL_CALL](form: CallForm, f: Function, args: unknown[]): unknown;
}

/** Whether `x` is a pool (something that runs remote calls itself). */
export function isPoolCallable(x: unknown): x is PoolCallable {
  return typeof x === 'object' && x !== null && typeof (x as Partial<PoolCallable>)[POOL_CALL] === 'function';
}
