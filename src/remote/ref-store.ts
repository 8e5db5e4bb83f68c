/**
 * The values this process owns on behalf of remote references (Julia's `PGRP.refs` of `RemoteValue`s):
 * results of remotecalls made to it, values `put` into Futures it owns, and the backing channels of
 * RemoteChannels it owns. Each entry counts, per process, the references that process holds, and is
 * freed when no count is left.
 *
 * Counts rather than a set of holders (Julia's `clientset`): a holder's release may overtake, on its own
 * connection, the notice that registered it (sent by whoever forwarded the reference), so a count may
 * dip below zero for a moment. Every registration is matched by exactly one release, so the entry is
 * freed exactly when every count is back to zero.
 */

/** A reference id: the process that created the reference and its counter there. */
export interface RRID {
  readonly whence: number;
  readonly id: number;
}

/** What a RemoteChannel's backing store must offer (a `Channel`, or any object with these methods). */
export interface ChannelLike {
  put(...args: unknown[]): unknown;
  take(...args: unknown[]): unknown;
  fetch?(...args: unknown[]): unknown;
  isready?(...args: unknown[]): unknown;
  wait?(...args: unknown[]): unknown;
  close?(...args: unknown[]): unknown;
}

/** A stored value (or the promise of one), or a RemoteChannel's backing channel. */
export class RemoteValue {
  settled = false;
  value: unknown = undefined;
  /** The value is an exception raised by the computation. */
  isError = false;
  /** References held, by process. */
  readonly clients = new Map<number, number>();
  private waiters: Array<() => void> | null = null;
  /** For a RemoteChannel: its backing channel once made, or why making it failed. */
  channel: ChannelLike | undefined = undefined;
  channelError: { error: unknown } | undefined = undefined;
  private channelWaiters: Array<() => void> | null = null;

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

  /** Installs the backing channel of a RemoteChannel (or the error its factory raised). */
  installChannel(channel: ChannelLike | undefined, error?: { error: unknown }): void {
    if (this.channel !== undefined || this.channelError !== undefined) return;
    this.channel = channel;
    this.channelError = error;
    const w = this.channelWaiters;
    this.channelWaiters = null;
    if (w) for (const f of w) f();
  }

  /** The backing channel, once installed. Rejects with the factory's error if making it failed. */
  async whenChannel(): Promise<ChannelLike> {
    if (this.channel === undefined && this.channelError === undefined) {
      await new Promise<void>((resolve) => (this.channelWaiters ??= []).push(resolve));
    }
    if (this.channelError !== undefined) throw this.channelError.error;
    return this.channel!;
  }
}

/**
 * Key of an RRID in the store: both numbers in one exact float64 (process ids stay below 2^21, counters
 * below 2^32), so Map lookups hash a number instead of building a string.
 */
export function refKey(whence: number, id: number): number {
  return whence * 0x100000000 + id;
}

const store = new Map<number, RemoteValue>();

/**
 * The entry for a reference, created when absent (with `client` holding one reference, when given).
 * Julia: `lookup_ref`.
 */
export function lookupRef(whence: number, id: number, client?: number): RemoteValue {
  const key = refKey(whence, id);
  let rv = store.get(key);
  if (rv === undefined) {
    rv = new RemoteValue();
    store.set(key, rv);
    if (client !== undefined) rv.clients.set(client, 1);
  }
  return rv;
}

/** The entry, if this process still holds it. */
export function findRef(whence: number, id: number): RemoteValue | undefined {
  return store.get(refKey(whence, id));
}

/**
 * Adds `delta` references held by `client` (negative: releases them); the entry is freed when no
 * process holds any. Julia: `add_client` / `del_client`.
 */
export function addClient(whence: number, id: number, client: number, delta: number): void {
  const key = refKey(whence, id);
  let rv = store.get(key);
  if (rv === undefined) {
    rv = new RemoteValue();
    store.set(key, rv);
  }
  const n = (rv.clients.get(client) ?? 0) + delta;
  if (n === 0) rv.clients.delete(client);
  else rv.clients.set(client, n);
  if (rv.clients.size === 0) store.delete(key);
}

/** `client` released one reference. Julia: `del_client`. */
export function deleteClient(whence: number, id: number, client: number): void {
  addClient(whence, id, client, -1);
}

/**
 * Forgets every reference held by a process that left the cluster. An entry left with no positive
 * count is freed too: the registrations it waited for could only have come from holders now gone.
 */
export function dropClient(client: number): void {
  for (const [key, rv] of store) {
    if (!rv.clients.delete(client)) continue;
    let live = false;
    for (const n of rv.clients.values()) if (n > 0) live = true;
    if (!live) store.delete(key);
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
