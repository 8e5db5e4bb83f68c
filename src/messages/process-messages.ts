/**
 * What a process does with each frame it receives (Julia's `process_messages` / `handle_msg`):
 * run calls, answer reference operations, settle requests. Cluster membership messages (Join, Exit, …)
 * are handled by the cluster modules, which register themselves here.
 */
import type { Connection } from '../transport/connection';
import { decodeValue } from '../serialization/wire-codec';
import { addClient, findRef, lookupRef, deleteClient, storedCount, type RemoteValue } from '../remote/ref-store';
import { applyNotices, remoteHoldingCount } from '../remote/ref-tracking';
import { type Header } from './envelope';
import { MessageKind } from '../wire/generated/dts/wire/message-kind';
import { RefOp } from '../wire/generated/dts/wire/ref-op';
import { peerState, sendFrameWith } from './messaging';
import { fail, settle, pendingCount } from './requests';
import { PGRP } from '../cluster/process-group';
import { explainError, type ShippingCounters } from '../serialization/functions';
import { callBreakable, onInterrupt } from '../worker/interruptible';
import { InterruptException } from '../errors';
import { loadDeferredPackage } from '../deferred-package';
import { batchScheduling, idleSpinStats, type IdleSpinStats } from '../native';
import { deferredLoaders, frameWaitsForLoaders, loadDeferredLoaders, type DeferredLoadersState } from '../worker/deferred-loaders';

/** A handler for a message kind this module does not handle itself. */
export type PayloadHandler = (conn: Connection, header: Header, payload: unknown) => void;
const extra = new Map<MessageKind, PayloadHandler>();

/** Registers the handler of a cluster message kind (Join, JoinComplete, Exit, …). */
export function onMessage(kind: MessageKind, handler: PayloadHandler): void {
  extra.set(kind, handler);
}

/** A handler that decodes the payload itself (to answer a payload that cannot be decoded its own way). */
export type FrameKindHandler = (conn: Connection, header: Header, inline: Uint8Array, segments: ArrayBuffer[]) => void;
const raw = new Map<MessageKind, FrameKindHandler>();

/** Registers a handler that receives the frame undecoded (`inline` is only valid during the call). */
export function onFrame(kind: MessageKind, handler: FrameKindHandler): void {
  raw.set(kind, handler);
}

/** A frame held to be handled later: its header and inline bytes copied (they are valid only during the call). */
type HeldFrame = [Connection, Header, Uint8Array, ArrayBuffer[]];

/** Frames held back while deferred module loaders load (worker/deferred-loaders.ts), in arrival order. */
let heldBack: HeldFrame[] | undefined;

/**
 * Holds this frame and every later one back until the deferred loaders are registered (starting them if
 * they wait), then handles them in order. (`inline` is only valid during the call: held frames keep a copy.)
 */
function holdBackForLoaders(conn: Connection, h: Header, inline: Uint8Array, segments: ArrayBuffer[]): void {
  heldBack = [[conn, { ...h }, inline.slice(), segments]];
  void loadDeferredLoaders().then(() => {
    const frames = heldBack!;
    heldBack = undefined;
    for (const [c, hh, i, s] of frames) handleFrame(c, hh, i, s);
  });
}

/**
 * On a worker that has not joined yet: the frames that came before the master's Join, in arrival order.
 * A worker told of this one (its Join lists workers still joining) may dial it and call it first; until
 * the Join, this process does not know its own id (`myid()` would be 1, the master's), so they wait.
 */
let beforeJoin: HeldFrame[] | undefined;

/** @internal Makes this process (becoming a worker) hold every frame but Join until its Join arrives. */
export function holdFramesUntilJoined(): void {
  beforeJoin ??= [];
}

/** Handles one frame. Exceptions never escape: a message that cannot be handled fails only itself. */
export function handleFrame(conn: Connection, h: Header, inline: Uint8Array, segments: ArrayBuffer[]): void {
  if (beforeJoin !== undefined) {
    if (h.kind !== MessageKind.Join) {
      beforeJoin.push([conn, { ...h }, inline.slice(), segments]);
      return;
    }
    const held = beforeJoin;
    beforeJoin = undefined;
    handleFrame(conn, h, inline, segments);
    for (const [c, hh, i, sg] of held) if (!c.closed) handleFrame(c, hh, i, sg);
    return;
  }
  if (heldBack !== undefined) {
    heldBack.push([conn, { ...h }, inline.slice(), segments]);
    return;
  }
  if (frameWaitsForLoaders(inline)) return holdBackForLoaders(conn, h, inline, segments);
  switch (h.kind) {
    case MessageKind.Call:
    case MessageKind.CallFetch:
    case MessageKind.CallWait:
    case MessageKind.RemoteDo:
      return handleCall(conn, h.kind, h.requestId, h.refWhence, h.refId, inline, segments);
    case MessageKind.Result:
      return handleResult(conn, h.responseId, h.isError, inline, segments);
    case MessageKind.RefOp:
      return handleRefOp(conn, h.op, h.requestId, h.refWhence, h.refId, inline, segments);
    default: {
      let rawHandler = raw.get(h.kind);
      if (rawHandler !== undefined) return rawHandler(conn, h, inline, segments);
      let handler = extra.get(h.kind);
      // A worker that deferred the package installs the handlers of its modules when it loads it.
      if (handler === undefined && loadDeferredPackage()) {
        rawHandler = raw.get(h.kind);
        if (rawHandler !== undefined) return rawHandler(conn, h, inline, segments);
        handler = extra.get(h.kind);
      }
      if (handler === undefined) {
        process.emitWarning(`distributed-ts: ignoring message of kind ${MessageKind[h.kind] ?? h.kind} from process ${conn.peer}`);
        return;
      }
      let payload: unknown;
      try {
        payload = decodeValue(inline, segments, peerState(conn));
      } catch (e) {
        if (h.requestId !== 0) return reply(conn, h.requestId, e, true);
        process.emitWarning(`distributed-ts: undecodable ${MessageKind[h.kind]} message from process ${conn.peer}: ${(e as Error).message}`);
        return;
      }
      handler(conn, { ...h }, payload);
    }
  }
}

/**
 * Sends a Result, falling back to sending the encode error when the value itself cannot travel. It goes
 * on this process's own connection to the requester when there is one (two workers that dialled each
 * other at once have two), so everything this process sends to one peer stays in one ordered stream.
 */
export function reply(conn: Connection, requestId: number, value: unknown, isError: boolean): void {
  const own = PGRP.get(conn.peer)?.connection;
  if (own !== undefined && !own.closed) conn = own;
  if (conn.closed) return;
  try {
    sendFrameWith(conn, MessageKind.Result, value, 'result', 0, requestId, 0, 0, RefOp.Fetch, isError);
  } catch (e) {
    if (conn.closed) return;
    sendFrameWith(conn, MessageKind.Result, e, 'error', 0, requestId, 0, 0, RefOp.Fetch, true);
  }
}

/**
 * Calls `f(...args)`, awaiting a returned promise, and reports the outcome once. On workers a SIGINT
 * (`interrupt`) breaks the call, or fails it with `InterruptException` while it awaits.
 */
export function invoke(f: unknown, args: unknown[], done: (value: unknown, isError: boolean) => void): void {
  let r: unknown;
  try {
    if (typeof f !== 'function') throw new TypeError(`cannot call ${typeof f === 'object' ? 'an object' : typeof f}: not a function`);
    r = callBreakable(f, args);
  } catch (e) {
    done(explainError(e), true);
    return;
  }
  if (r !== null && (typeof r === 'object' || typeof r === 'function') && typeof (r as PromiseLike<unknown>).then === 'function') {
    let finished = false;
    const finish = (v: unknown, isError: boolean): void => {
      if (finished) return;
      finished = true;
      dispose();
      done(v, isError);
    };
    const dispose = onInterrupt(() => finish(new InterruptException(), true));
    (r as PromiseLike<unknown>).then(
      (v) => finish(v, false),
      (e) => finish(explainError(e), true),
    );
  } else {
    done(r, false);
  }
}

function handleCall(
  conn: Connection,
  kind: MessageKind,
  requestId: number,
  whence: number,
  id: number,
  inline: Uint8Array,
  segments: ArrayBuffer[],
): void {
  let rv: RemoteValue | undefined;
  if (kind === MessageKind.Call || kind === MessageKind.CallWait) {
    // The call registers its caller as a holder (a holder it forwarded the Future to may be known already).
    rv = lookupRef(whence, id);
    addClient(whence, id, conn.peer, 1);
  }
  const done = (value: unknown, isError: boolean): void => {
    switch (kind) {
      case MessageKind.CallFetch:
        return reply(conn, requestId, value, isError);
      case MessageKind.Call:
        return rv!.set(value, isError);
      case MessageKind.CallWait:
        rv!.set(value, isError);
        return reply(conn, requestId, isError ? value : undefined, isError);
      case MessageKind.RemoteDo:
        if (isError) console.error(`Error in remote_do on process ${PGRP.id}:`, value);
        return;
    }
  };
  let f: unknown, args: unknown[];
  try {
    const payload = decodeValue(inline, segments, peerState(conn)) as [unknown, unknown[]];
    f = payload[0];
    args = payload[1];
  } catch (e) {
    done(e, true);
    return;
  }
  invoke(f, args, done);
}

function handleResult(conn: Connection, responseId: number, isError: boolean, inline: Uint8Array, segments: ArrayBuffer[]): void {
  let value: unknown;
  try {
    value = decodeValue(inline, segments, peerState(conn));
  } catch (e) {
    fail(responseId, e);
    return;
  }
  settle(responseId, value, isError);
}

function handleRefOp(
  conn: Connection,
  op: RefOp,
  requestId: number,
  whence: number,
  id: number,
  inline: Uint8Array,
  segments: ArrayBuffer[],
): void {
  const client = conn.peer;
  switch (op) {
    case RefOp.Fetch: {
      // The fetcher releases its reference itself once the value arrived (a RefNotices frame), so a
      // reference it sends on while the fetch is under way is registered before that release.
      const rv = lookupRef(whence, id);
      rv.whenSettled().then(() => reply(conn, requestId, rv.value, rv.isError));
      return;
    }
    case RefOp.Wait: {
      const rv = lookupRef(whence, id);
      rv.whenSettled().then(() => reply(conn, requestId, rv.isError ? rv.value : undefined, rv.isError));
      return;
    }
    case RefOp.IsReady:
      return reply(conn, requestId, findRef(whence, id)?.settled ?? false, false);
    case RefOp.Put: {
      let value: unknown;
      try {
        value = decodeValue(inline, segments, peerState(conn));
      } catch (e) {
        return reply(conn, requestId, e, true);
      }
      const rv = lookupRef(whence, id);
      try {
        rv.set(value, false);
      } catch (e) {
        return reply(conn, requestId, e, true);
      }
      return reply(conn, requestId, undefined, false);
    }
    case RefOp.Delete:
      deleteClient(whence, id, client);
      return;
  }
}

/** A process's counters, as `stats()` reports them. */
export interface ProcessStats {
  /** This process's id. */
  pid: number;
  /** Values this process stores for remote references. */
  storedValues: number;
  /** Requests this process is waiting on. */
  pendingRequests: number;
  /** Processes this one holds an open connection to, sorted. */
  connectedTo: number[];
  /** Those of them whose connection is encrypted (TLS), sorted. */
  encryptedTo: number[];
  /** References this process holds to values owned by other processes (unfetched Futures, RemoteChannels). */
  heldReferences: number;
  /** Per open connection, by peer id: bytes sent on it; function sources, data globals and captured variables shipped on it. */
  shipping: Record<number, { bytesSent: number } & ShippingCounters>;
  /**
   * Idle polling (transport/idle-spin.ts): the window in microseconds (0 = off), how many windows
   * opened after traffic, how many event-loop turns polled in them, and whether one is open now.
   */
  idleSpin: IdleSpinStats;
  /**
   * Module loader flags of the driver that this worker registers on first need instead of at start
   * (cluster/deferred-loaders.ts), and where they are: 'none' (nothing deferred), 'pending', 'require'
   * (what require needs is registered), 'loading', 'loaded' or 'failed'.
   */
  deferredLoaders: { flags: string[]; state: DeferredLoadersState };
  /** Whether this process's JavaScript thread runs under Linux's SCHED_BATCH (worker/batch-scheduling.ts). */
  batchScheduling: boolean;
}

/** This process's counters. */
export function localStats(): ProcessStats {
  const connectedTo: number[] = [];
  const encryptedTo: number[] = [];
  const shipping: ProcessStats['shipping'] = {};
  for (const [pid, rec] of PGRP.processes) {
    const conn = rec.connection;
    if (conn === undefined || conn.closed) continue;
    connectedTo.push(pid);
    if (conn.encrypted) encryptedTo.push(pid);
    shipping[pid] = { bytesSent: conn.bytesSent, ...peerState(conn).counters };
  }
  return {
    pid: PGRP.id,
    storedValues: storedCount(),
    pendingRequests: pendingCount(),
    connectedTo: connectedTo.sort((a, b) => a - b),
    encryptedTo: encryptedTo.sort((a, b) => a - b),
    heldReferences: remoteHoldingCount(),
    shipping,
    idleSpin: idleSpinStats(),
    deferredLoaders: deferredLoaders(),
    batchScheduling: batchScheduling(),
  };
}

onMessage(MessageKind.Stats, (conn, h) => reply(conn, h.requestId, localStats(), false));
onMessage(MessageKind.DelRefs, (conn, _h, payload) => {
  const ids = payload as number[];
  for (let i = 0; i + 1 < ids.length; i += 2) deleteClient(ids[i], ids[i + 1], conn.peer);
});
onMessage(MessageKind.RefNotices, (_conn, _h, payload) => applyNotices(payload));
