/**
 * Sending messages to processes by id: find the connection, encode the payload, write one frame.
 */
import { PGRP } from '../cluster/process-group';
import { ProcessExitedException } from '../errors';
import type { Connection } from '../transport/connection';
import { encodeValue } from '../serialization/wire-codec';
import { newPeerCodecState, rollbackPeerState, type PeerCodecState } from '../serialization/functions';
import { buildEnvelope } from './envelope';
import { MessageKind } from '../wire/generated/dts/wire/message-kind';
import { RefOp } from '../wire/generated/dts/wire/ref-op';

const peerStates = new WeakMap<Connection, PeerCodecState>();
const stateConnections = new WeakMap<PeerCodecState, Connection>();

/** The codec state of a connection (what was already sent on it). */
export function peerState(conn: Connection): PeerCodecState {
  let s = peerStates.get(conn);
  if (s === undefined) {
    s = newPeerCodecState();
    peerStates.set(conn, s);
    stateConnections.set(s, conn);
  }
  return s;
}

/** The process at the other end of the connection whose codec state is `context` (0 when unknown). */
export function peerOfContext(context: unknown): number {
  return context !== null && typeof context === 'object' ? stateConnections.get(context as PeerCodecState)?.peer ?? 0 : 0;
}

/** Effects of the frame being encoded that take hold only once it is sent (see `afterSend`). */
const sentEffects: Array<() => void> = [];

/**
 * Runs `effect` once the frame now being encoded has been handed to the connection; drops it if the
 * frame is never sent (an encode error later in the value). Reference tracking registers a reference's
 * receiver this way, so a failed send leaves no registration behind.
 */
export function afterSend(effect: () => void): void {
  sentEffects.push(effect);
}

/**
 * How this process reaches a process it has no connection to yet (worker-to-worker links are made on
 * first use); installed by the worker runtime.
 */
let dialer: ((pid: number) => Connection | undefined) | undefined;

/** Installs the function that opens a connection on first use (see `connectionTo`). */
export function setDialer(d: (pid: number) => Connection | undefined): void {
  dialer = d;
}

/**
 * The connection to process `pid`. Throws `ProcessExitedException` when it is gone, and a clear error
 * when this process has no way to reach it.
 */
export function connectionTo(pid: number): Connection {
  const rec = PGRP.get(pid);
  if (rec === undefined) {
    if (pid >= 1 && pid <= PGRP.lastId) throw new ProcessExitedException(pid);
    throw new Error(`no process with id ${pid} (known processes: ${[PGRP.id, ...PGRP.upIds()].sort((a, b) => a - b).join(', ')})`);
  }
  const conn = rec.connection;
  if (conn === undefined || conn.closed) {
    if (rec.state === 'down') throw new ProcessExitedException(pid, rec.goneReason);
    const dialed = dialer?.(pid);
    if (dialed !== undefined) return dialed;
    throw new Error(`process ${PGRP.id} has no connection to process ${pid}`);
  }
  return conn;
}

/** Fields of a frame besides its kind and payload. */
export interface FrameFields {
  requestId?: number;
  responseId?: number;
  refWhence?: number;
  refId?: number;
  op?: RefOp;
  isError?: boolean;
  /** How the payload is named in encode errors ('result'…); a list names an array payload's elements. */
  rootPath?: string | readonly string[];
}

const NO_FIELDS: FrameFields = {};

/**
 * Encodes `payload` and sends one frame of `kind` on `conn`. Encode errors throw before anything is sent.
 * `requestId` overrides `f.requestId` (so a request needs no copy of its fields object).
 */
export function sendFrame(conn: Connection, kind: MessageKind, payload: unknown, f: FrameFields = NO_FIELDS, requestId = f.requestId): void {
  sendFrameWith(conn, kind, payload, f.rootPath ?? 'value', requestId ?? 0, f.responseId ?? 0, f.refWhence ?? 0, f.refId ?? 0, f.op ?? RefOp.Fetch, f.isError ?? false);
}

/**
 * `sendFrame` with the fields as arguments: for the hot paths (a call, its result), whose callers would
 * otherwise pass field objects of many shapes through one site, and every read of one would be generic.
 */
export function sendFrameWith(
  conn: Connection,
  kind: MessageKind,
  payload: unknown,
  rootPath: string | readonly string[],
  requestId: number,
  responseId: number,
  refWhence: number,
  refId: number,
  op: RefOp,
  isError: boolean,
): void {
  const state = peerState(conn);
  try {
    const enc = encodeValue(payload, rootPath, state);
    const env = buildEnvelope(kind, requestId, responseId, refWhence, refId, op, isError);
    conn.send(env, enc.inline, enc.segments);
  } catch (e) {
    rollbackPeerState(state);
    sentEffects.length = 0;
    throw e;
  }
  if (state.journal.length !== 0) state.journal.length = 0;
  if (sentEffects.length !== 0) for (const effect of sentEffects.splice(0)) effect();
}

