/**
 * Requests awaiting a Result: each gets an id, is remembered with the connection it went out on, and is
 * settled by the matching Result frame or failed at once when that connection closes.
 * This is on every remote call's path, so a request is one Map entry and one Promise, nothing more.
 */
import type { Connection } from '../transport/connection';
import { ProcessExitedException } from '../errors';
import { sendFrame, sendFrameWith, type FrameFields } from './messaging';
import { RefOp } from '../wire/generated/dts/wire/ref-op';
import type { MessageKind } from '../wire/generated/dts/wire/message-kind';

/** What a Result settles a request with. */
export interface Outcome {
  value: unknown;
  isError: boolean;
}

/** Turns an error answer from process `pid` into what the call rejects with. */
export type WrapError = (value: unknown, pid: number) => unknown;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  conn: Connection;
  /**
   * For calls: resolve with the value itself, or reject with `wrapError(value, peer)` when the answer
   * is an error. Without it, resolve with the `Outcome`.
   */
  wrapError: WrapError | undefined;
}

const pending = new Map<number, Pending>();
/** Connections whose close already fails their pending requests. */
const watched = new WeakSet<Connection>();
let lastRequestId = 0;

/** A fresh request id. */
export function nextRequestId(): number {
  return ++lastRequestId;
}

function remember(conn: Connection, requestId: number, p: Pending): void {
  pending.set(requestId, p);
  if (!watched.has(conn)) {
    watched.add(conn);
    conn.onClose(failAll);
  }
  conn.hold();
}

/** Remembers a request sent on `conn`; the returned promise settles with its Result. */
export function awaitResult(conn: Connection, requestId: number): Promise<Outcome> {
  return new Promise((resolve, reject) => remember(conn, requestId, { resolve: resolve as (v: unknown) => void, reject, conn, wrapError: undefined }));
}

/**
 * Sends a request frame and resolves with its Result. If the payload cannot be encoded, nothing was
 * sent and nothing stays pending: the encode error is thrown.
 */
export function sendRequest(conn: Connection, kind: MessageKind, payload: unknown, fields: FrameFields = {}): Promise<Outcome> {
  return send(conn, kind, payload, fields, undefined) as Promise<Outcome>;
}

/**
 * Like {@link sendRequest}, for calls: resolves with the answer's value itself, or rejects with
 * `wrapError(value, conn.peer)` when the answer is an error (one Promise per call, no Outcome object).
 */
export function sendCall(conn: Connection, kind: MessageKind, payload: unknown, rootPath: string | readonly string[], wrapError: WrapError): Promise<unknown> {
  return send(conn, kind, payload, rootPath, wrapError);
}

/** `fields` is a call's root path alone (sendCall) or a request's fields object (sendRequest). */
function send(conn: Connection, kind: MessageKind, payload: unknown, fields: FrameFields | string | readonly string[], wrapError: WrapError | undefined): Promise<unknown> {
  const requestId = nextRequestId();
  let p!: Pending;
  const result = new Promise<unknown>((resolve, reject) => (p = { resolve, reject, conn, wrapError }));
  remember(conn, requestId, p);
  try {
    if (typeof fields === 'string' || Array.isArray(fields)) sendFrameWith(conn, kind, payload, fields as string | readonly string[], requestId, 0, 0, 0, RefOp.Fetch, false);
    else sendFrame(conn, kind, payload, fields as FrameFields, requestId);
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
  if (p.wrapError === undefined) p.resolve({ value, isError });
  else if (isError) p.reject(p.wrapError(value, p.conn.peer));
  else p.resolve(value);
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
  p.conn.release();
  return p;
}

/** The connection closed: every request still waiting on it fails (a rare event: a scan is fine). */
function failAll(conn: Connection): void {
  for (const [id, p] of pending) {
    if (p.conn !== conn) continue;
    pending.delete(id);
    conn.release();
    p.reject(new ProcessExitedException(conn.peer, conn.closeReason));
  }
}

/** How many requests are waiting (for stats and tests). */
export function pendingCount(): number {
  return pending.size;
}
