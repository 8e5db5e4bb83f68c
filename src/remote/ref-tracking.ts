/**
 * Distributed reference tracking, the holder's side: which references this process holds, and the
 * notices that keep each owner's counts (ref-store.ts) right.
 *
 * - A reference object that counts (a `Future` not yet fetched, a `RemoteChannel`) has a `Holding`:
 *   the owner counts one reference for it per registration it received (`weight`).
 * - Sending a counted reference to process D registers D with the owner before the sender can release
 *   its own: the owner counts D at once when it is the sender; otherwise the sender queues a "+1 for D"
 *   notice on its own ordered queue to the owner, ahead of any release of its own. Sending it to the
 *   owner itself registers nothing: the owner counts its new local holding when it decodes it.
 * - Releasing (a fetch that brought the value here, `finalize`, or the garbage collector reclaiming the
 *   object) queues "-weight" on the same queue.
 * - Queues are flushed in one frame per owner (MessageKind.RefNotices) once the current work is done,
 *   so tracking costs a few bytes per reference, not a message.
 * A process holds at most one live object per reference: one that arrives again is the same object.
 */
import { myid, PGRP } from '../cluster/process-group';
import { ProcessExitedException } from '../errors';
import { connectionTo, sendFrame } from '../messages/messaging';
import { MessageKind } from '../wire/generated/dts/wire/message-kind';
import { addClient, refKey } from './ref-store';

/** One reference this process holds to a value owned by process `where`. */
export class Holding {
  released = false;
  /**
   * How this process finds the object again when the reference arrives here (so it stays one object):
   * made when the object arrived, or, for one made here, when it is first sent, since it cannot come
   * back before that. (A WeakRef costs about as much as the rest of the tracking together.)
   */
  weak: WeakRef<object> | undefined = undefined;
  constructor(
    readonly where: number,
    readonly whence: number,
    readonly id: number,
    /** References the owner counts for this process on account of this object. */
    public weight: number,
  ) {}
}

// Registered with the Holding as the unregister token, so an entry can be unregistered without its object.
const reclaimed = new FinalizationRegistry<Holding>((h) => {
  if (h.released) return;
  const key = refKey(h.whence, h.id);
  if (live.get(key) === h) live.delete(key);
  settle(h);
});

/** Off only in bench/references.ts, to measure what tracking costs (references then never release). */
let tracking = true;

/** @internal Turns reference tracking off or on in this process (benchmark baseline only). */
export function setTrackingForBenchmark(on: boolean): void {
  tracking = on;
}

/** The holdings of this process's live reference objects, by reference id. */
const live = new Map<number, Holding>();
let remoteHoldings = 0;

/**
 * Records that `ref` counts with the owner (`weight` registrations were already made for it by whoever
 * sent or created it). `announce` makes this process register itself now (a reference it creates).
 * `arrived`: the object came in a message, so another copy of it may arrive any time (one made here
 * becomes findable when it is first sent: `keepFindable`).
 */
export function hold(ref: object, where: number, whence: number, id: number, weight: number, announce = false, arrived = true): Holding {
  const h = new Holding(where, whence, id, weight);
  if (!tracking) return h;
  reclaimed.register(ref, h, h);
  if (arrived) h.weak = new WeakRef(ref);
  live.set(refKey(whence, id), h);
  if (where !== myid()) remoteHoldings++;
  if (announce) notice(where, weight, whence, id, myid());
  return h;
}

/** The live object this process already holds for a reference, if any (sent or arrived: see `hold`). */
export function heldObject(whence: number, id: number): object | undefined {
  return live.get(refKey(whence, id))?.weak?.deref();
}

/** Makes a reference object this process made findable when it arrives back (call as it is sent). */
export function keepFindable(ref: object, h: Holding): void {
  if (h.weak === undefined && !h.released && tracking) h.weak = new WeakRef(ref);
}

/** Releases the references a reference object counts for, through its holding (idempotent). */
export function release(h: Holding): void {
  if (h.released) return;
  if (!tracking) {
    h.released = true;
    return;
  }
  reclaimed.unregister(h);
  const key = refKey(h.whence, h.id);
  if (live.get(key) === h) live.delete(key);
  settle(h);
}

/**
 * An owner left the cluster: its values are gone, so the references to them count no more (using one
 * fails with ProcessExitedException), and nothing is left to tell it.
 */
function ownerGone(pid: number): void {
  queues.delete(pid);
  for (const [key, h] of live) {
    if (h.where !== pid || h.released) continue;
    h.released = true;
    remoteHoldings--;
    live.delete(key);
    reclaimed.unregister(h);
  }
}
PGRP.onGone.push(ownerGone);

function settle(h: Holding): void {
  h.released = true;
  if (h.where !== myid()) remoteHoldings--;
  notice(h.where, -h.weight, h.whence, h.id, myid());
}

/**
 * Registers process `to` as a new holder of a reference this process holds counted and is sending it
 * (call once the frame carrying it is sent). Nothing to do when `to` is the owner: it counts its own.
 */
export function registerReceiver(where: number, whence: number, id: number, to: number): void {
  if (to !== where) notice(where, 1, whence, id, to);
}

/** How many references this process holds to values owned elsewhere. */
export function remoteHoldingCount(): number {
  return remoteHoldings;
}

// ---- notices --------------------------------------------------------------------------------

/** Per owner: [delta, whence, id, client] quadruples, in the order they were made. */
const queues = new Map<number, number[]>();
let flushScheduled = false;

/** Adds `delta` to `client`'s count of a reference owned by `owner`: at once here, queued elsewhere. */
export function notice(owner: number, delta: number, whence: number, id: number, client: number): void {
  if (owner === myid()) {
    addClient(whence, id, client, delta);
    return;
  }
  let q = queues.get(owner);
  if (q === undefined) queues.set(owner, (q = []));
  q.push(delta, whence, id, client);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushNotices).unref();
  }
}

/** Sends the queued notices (to `owner` only, when given) now. */
export function flushNotices(owner?: number): void {
  if (owner === undefined) flushScheduled = false;
  for (const [o, q] of queues) {
    if (owner !== undefined && o !== owner) continue;
    queues.delete(o);
    deliver(o, [o, ...q]);
  }
}

/** Sends a notice frame to `owner`, through the master when workers cannot reach each other. */
function deliver(owner: number, payload: number[]): void {
  try {
    sendFrame(connectionTo(owner), MessageKind.RefNotices, payload, { rootPath: 'notices' });
  } catch (e) {
    if (e instanceof ProcessExitedException || PGRP.id === 1 || PGRP.get(owner) === undefined) return; // its values are gone with it
    try {
      sendFrame(connectionTo(1), MessageKind.RefNotices, payload, { rootPath: 'notices' });
    } catch {
      // the master is gone: so is the cluster
    }
  }
}

/** Applies (or, on the master, relays) a notice frame. */
export function applyNotices(payload: unknown): void {
  if (!Array.isArray(payload) || payload.length === 0) return;
  const owner = payload[0] as number;
  if (owner !== myid()) {
    if (myid() === 1) deliver(owner, payload as number[]);
    return;
  }
  for (let i = 1; i + 3 < payload.length; i += 4) {
    addClient(payload[i + 1] as number, payload[i + 2] as number, payload[i + 3] as number, payload[i] as number);
  }
}
