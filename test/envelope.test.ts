/**
 * The envelope's fast writer and reader speak ordinary FlatBuffers: the generated code (schema/wire.fbs)
 * reads what buildEnvelope writes, EnvelopeReader reads what the FlatBuffers builder writes (defaults left
 * out), and bytes that are not an Envelope inside the given range are rejected.
 */
import * as path from 'node:path';
import * as flatbuffers from 'flatbuffers';
import { ROOT } from './helpers';
import type * as EnvelopeModule from '../src/messages/envelope';
import type * as Generated from '../src/wire/generated/dts/wire/envelope';
import type * as RefIdModule from '../src/wire/generated/dts/wire/ref-id';

const dist = path.join(ROOT, 'dist', 'src');
/* eslint-disable @typescript-eslint/no-require-imports */
const { buildEnvelope, EnvelopeReader } = require(path.join(dist, 'messages', 'envelope.js')) as typeof EnvelopeModule;
const { Envelope } = require(path.join(dist, 'wire', 'generated', 'dts', 'wire', 'envelope.js')) as typeof Generated;
const { RefId } = require(path.join(dist, 'wire', 'generated', 'dts', 'wire', 'ref-id.js')) as typeof RefIdModule;
/* eslint-enable @typescript-eslint/no-require-imports */

type Fields = [kind: number, requestId: number, responseId: number, refWhence: number, refId: number, op: number, isError: boolean];
const CASES: Fields[] = [
  [0, 0, 0, 0, 0, 0, false],
  [1, 7, 0, 0, 0, 0, false],
  [4, 0, 123456789, 0, 0, 0, true],
  [5, 2 ** 40 + 3, 0, 3, 2 ** 33 + 1, 2, false],
  [31, 9, 8, -1, 0.5, 7, true],
  [54, 0, 0, 0, 0, 0, false],
];

/** The same fields written by the generic FlatBuffers builder (defaults omitted), as the library does. */
function withBuilder([kind, requestId, responseId, refWhence, refId, op, isError]: Fields): Uint8Array {
  const b = new flatbuffers.Builder(64);
  Envelope.startEnvelope(b);
  if (kind !== 0) Envelope.addKind(b, kind);
  if (requestId !== 0) Envelope.addRequestId(b, requestId);
  if (responseId !== 0) Envelope.addResponseId(b, responseId);
  if (refWhence !== 0) Envelope.addRef(b, RefId.createRefId(b, refWhence, refId));
  if (op !== 0) Envelope.addOp(b, op);
  if (isError) Envelope.addIsError(b, true);
  b.finish(Envelope.endEnvelope(b));
  return b.asUint8Array().slice();
}

test.each(CASES)('the generated FlatBuffers code reads what buildEnvelope writes (kind %d)', (...f) => {
  const bytes = buildEnvelope(f[0], f[1], f[2], f[3], f[4], f[5], f[6]).slice();
  const e = Envelope.getRootAsEnvelope(new flatbuffers.ByteBuffer(bytes));
  const ref = e.ref();
  expect([e.kind(), e.requestId(), e.responseId(), ref ? ref.whence() : 0, ref ? ref.id() : 0, e.op(), e.isError()]).toEqual(f);
});

test.each(CASES)('EnvelopeReader reads what the FlatBuffers builder writes, at any offset (kind %d)', (...f) => {
  const bytes = withBuilder(f);
  const backing = new Uint8Array(bytes.length + 40).fill(0xee);
  backing.set(bytes, 24);
  const h = new EnvelopeReader(backing).read(24, bytes.length);
  expect([h.kind, h.requestId, h.responseId, h.refWhence, h.refId, h.op, h.isError]).toEqual(f);
  const own = buildEnvelope(f[0], f[1], f[2], f[3], f[4], f[5], f[6]);
  const h2 = new EnvelopeReader(backing).read(0, own.length, own);
  expect([h2.kind, h2.requestId, h2.responseId, h2.refWhence, h2.refId, h2.op, h2.isError]).toEqual(f);
});

test('bytes that are not an Envelope inside the range are rejected', () => {
  const good = buildEnvelope(5, 1, 0, 2, 3, 1, false).slice();
  const reader = (b: Uint8Array) => new EnvelopeReader(b);
  expect(() => reader(good).read(0, 4)).toThrow(/invalid envelope/);
  const badRoot = good.slice();
  new DataView(badRoot.buffer).setUint32(0, 1000, true);
  expect(() => reader(badRoot).read(0, badRoot.length)).toThrow(/root offset/);
  const badVtable = good.slice();
  new DataView(badVtable.buffer).setInt32(24, -500, true);
  expect(() => reader(badVtable).read(0, badVtable.length)).toThrow(/vtable/);
  const badField = good.slice();
  new DataView(badField.buffer).setUint16(10, 60, true); // request_id (8 bytes) at table + 60: past the table
  expect(() => reader(badField).read(0, badField.length)).toThrow(/field 1 outside/);
  const badKind = good.slice();
  badKind[28] = 200;
  expect(() => reader(badKind).read(0, badKind.length)).toThrow(/unknown message kind 200/);
  // A range that ends before the table does: the envelope must lie inside it.
  expect(() => reader(good).read(0, 40)).toThrow(/invalid envelope/);
  expect(() => reader(good).read(0, good.length + 8)).toThrow(/invalid envelope/);
});
