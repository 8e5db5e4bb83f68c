/**
 * The values this process owns on behalf of remote references (Julia's `PGRP.refs` of `RemoteValue`s):
 * results of remotecalls made to it, and values `put` into Futures it owns. Each entry remembers which
 * processes hold a reference, and is freed when none does.
 */

/** A reference id: the process that created the reference and its counter there. */
export interface RRID {
  readonly whence: number;
  readonly id: number;
}

/** A stored value, or the promise of one. */
export class RemoteValue {
  settled = false;
  value: unknown = undefined;
  /** The value is an exception raised by the computation. */
  isError = false;
  /** Processes holding a reference to this value. */
  readonly clients = new Set<number>();
  private waiters: Array<() => void> | null = null;

  /** Stores the value (once); wakes everyone waiting. */
  set(value: unknown, isError: boolean): void {
    if (this.settled) throw new Error('Future can be set only once');
    this.settled = true;
    this.value = value;
    this.isError = isError;
    const w = this.waiters;
    this.waiters = null;
    if (w) for (const f of w) f();
  }

  /** Resolves once the value is there. */
  whenSettled(): Promise<void> {
    if (this.settled) return Promise.resolve();
    return new Promise<void>((resolve) => (this.waiters ??= []).push(resolve));
  }
}

/** Key of an RRID in the store. Two numbers in one string keep the Map simple and fast enough. */
export function refKey(whence: number, id: number): string {
  return `${whence}:${id}`;
}

const store = new Map<string, RemoteValue>();

/** The entry for a reference, created (with `client` holding it) when absent. Julia: `lookup_ref`. */
export function lookupRef(whence: number, id: number, client?: number): RemoteValue {
  const key = refKey(whence, id);
  let rv = store.get(key);
  if (rv === undefined) {
    rv = new RemoteValue();
    store.set(key, rv);
    if (client !== undefined) rv.clients.add(client);
  }
  return rv;
}

/** The entry, if this process still holds it. */
export function findRef(whence: number, id: number): RemoteValue | undefined {
  return store.get(refKey(whence, id));
}

/** `client` no longer holds the reference; the value is freed when nobody does. Julia: `del_client`. */
export function deleteClient(whence: number, id: number, client: number): void {
  const key = refKey(whence, id);
  const rv = store.get(key);
  if (rv === undefined) return;
  rv.clients.delete(client);
  if (rv.clients.size === 0) store.delete(key);
}

/** Forgets every reference held by a process that left the cluster. */
export function dropClient(client: number): void {
  for (const [key, rv] of store) {
    if (rv.clients.delete(client) && rv.clients.size === 0) store.delete(key);
  }
}

/** How many values this process stores for remote references. */
export function storedCount(): number {
  return store.size;
}

let nextRefId = 0;
/** A fresh reference id created by this process. */
export function nextId(): number {
  return ++nextRefId;
}
