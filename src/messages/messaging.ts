/**
 * Sending messages to processes by id: find the connection, encode the payload, write one frame.
 */
import { PGRP } from '../cluster/process-group';
import { ProcessExitedException } from '../errors';
import type { Connection } from '../transport/connection';
import { encodeValue } from '../serialization/wire-codec';
import { newPeerCodecState, rollbackPeerState, type PeerCodecState } from '../serialization/functions';
import { buildEnvelope, MessageKind, RefOp } from './envelope';

const peerStates = new WeakMap<Connection, PeerCodecState>();

/** The codec state of a connection (what was already sent on it). */
export function peerState(conn: Connection): PeerCodecState {
  let s = peerStates.get(conn);
  if (s === undefined) {
    s = newPeerCodecState();
    peerStates.set(conn, s);
  }
  return s;
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
    throw new Error(
      `process ${PGRP.id} has no connection to process ${pid}` +
        (PGRP.id !== 1 && pid !== 1 ? ' (worker-to-worker connections are not available in this version)' : ''),
    );
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
  const state = peerState(conn);
  try {
    const enc = encodeValue(payload, f.rootPath ?? 'value', state);
    const env = buildEnvelope(kind, requestId, f.responseId, f.refWhence, f.refId, f.op, f.isError);
    conn.send(env, enc.inline, enc.segments);
  } catch (e) {
    rollbackPeerState(state);
    throw e;
  }
  if (state.journal.length !== 0) state.journal.length = 0;
}

export { MessageKind, RefOp };
