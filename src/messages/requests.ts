/**
 * Requests awaiting a Result: each gets an id, is remembered with the process it went to, and is
 * settled by the matching Result frame or failed at once when that process goes away.
 */
import type { Connection } from '../transport/connection';
import { ProcessExitedException } from '../errors';
import { sendFrame, type FrameFields, type MessageKind } from './messaging';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  conn: Connection;
  /** Turns the decoded answer into the request's outcome (e.g. wrapping errors). */
  map?: (value: unknown, isError: boolean, pid: number) => unknown;
}

const pending = new Map<number, Pending>();
const byConnection = new Map<Connection, Set<number>>();
let lastRequestId = 0;

/** A fresh request id. */
export function nextRequestId(): number {
  return ++lastRequestId;
}

/** Remembers a request sent on `conn`; the returned promise settles with its Result. */
export function awaitResult(conn: Connection, requestId: number): Promise<{ value: unknown; isError: boolean }> {
  return new Promise((resolve, reject) => {
    pending.set(requestId, { resolve: resolve as (v: unknown) => void, reject, conn });
    let set = byConnection.get(conn);
    if (set === undefined) {
      set = new Set();
      byConnection.set(conn, set);
      conn.onClose(failAll);
    }
    set.add(requestId);
    conn.hold();
  });
}

/**
 * Sends a request frame and resolves with its Result. If the payload cannot be encoded, nothing was
 * sent and nothing stays pending: the encode error is thrown.
 */
export function sendRequest(
  conn: Connection,
  kind: MessageKind,
  payload: unknown,
  fields: Omit<FrameFields, 'requestId'> = {},
): Promise<{ value: unknown; isError: boolean }> {
  const requestId = nextRequestId();
  const result = awaitResult(conn, requestId);
  try {
    sendFrame(conn, kind, payload, { ...fields, requestId });
  } catch (e) {
    result.catch(() => undefined);
    take(requestId);
    throw e;
  }
  return result;
}

/** Settles the request a Result answers. Returns false when no such request is waiting. */
export function settle(responseId: number, value: unknown, isError: boolean): boolean {
  const p = take(responseId);
  if (p === undefined) return false;
  p.resolve({ value, isError });
  return true;
}

/** Fails the request a Result answers (its payload could not be decoded here). */
export function fail(responseId: number, err: unknown): boolean {
  const p = take(responseId);
  if (p === undefined) return false;
  p.reject(err);
  return true;
}

function take(id: number): Pending | undefined {
  const p = pending.get(id);
  if (p === undefined) return undefined;
  pending.delete(id);
  byConnection.get(p.conn)?.delete(id);
  p.conn.release();
  return p;
}

function failAll(conn: Connection): void {
  const ids = byConnection.get(conn);
  byConnection.delete(conn);
  if (!ids) return;
  for (const id of ids) {
    const p = pending.get(id);
    if (!p) continue;
    pending.delete(id);
    p.conn.release();
    p.reject(new ProcessExitedException(conn.peer, conn.closeReason));
  }
}

/** How many requests are waiting (for stats and tests). */
export function pendingCount(): number {
  return pending.size;
}
