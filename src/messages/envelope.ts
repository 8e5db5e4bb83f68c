/**
 * The message envelope (schema/wire.fbs `Envelope`): building one per outgoing frame with a reused
 * FlatBuffers builder, and reading incoming ones without allocating.
 */
import * as flatbuffers from 'flatbuffers';
// The generated modules themselves, not wire_generated's re-exports (see test/fast-exports.test.ts).
import { Envelope } from '../wire/generated/dts/wire/envelope';
import { MessageKind } from '../wire/generated/dts/wire/message-kind';
import { RefId } from '../wire/generated/dts/wire/ref-id';
import { RefOp } from '../wire/generated/dts/wire/ref-op';


/** An envelope's fields as plain values (what the message handlers use). */
export interface Header {
  kind: MessageKind;
  requestId: number;
  responseId: number;
  refWhence: number;
  refId: number;
  op: RefOp;
  isError: boolean;
}

const builder = new flatbuffers.Builder(128);

/**
 * Builds an envelope. The returned bytes are a view of a shared builder: valid until the next call,
 * which is fine because frames are handed to the writer at once.
 */
export function buildEnvelope(
  kind: MessageKind,
  requestId = 0,
  responseId = 0,
  refWhence = 0,
  refId = 0,
  op: RefOp = RefOp.Fetch,
  isError = false,
): Uint8Array {
  builder.clear();
  Envelope.startEnvelope(builder);
  Envelope.addKind(builder, kind);
  if (requestId !== 0) Envelope.addRequestId(builder, requestId);
  if (responseId !== 0) Envelope.addResponseId(builder, responseId);
  if (refWhence !== 0) Envelope.addRef(builder, RefId.createRefId(builder, refWhence, refId));
  if (op !== RefOp.Fetch) Envelope.addOp(builder, op);
  if (isError) Envelope.addIsError(builder, true);
  builder.finish(Envelope.endEnvelope(builder));
  return builder.asUint8Array();
}

/** Which kind numbers exist (kinds are numbered with gaps: each branch of the protocol has its range). */
const KNOWN_KIND = new Uint8Array(256);
for (const v of Object.values(MessageKind)) if (typeof v === 'number') KNOWN_KIND[v] = 1;

/** Reads envelopes out of one backing buffer (a connection's staging memory) without allocating. */
export class EnvelopeReader {
  private bb: flatbuffers.ByteBuffer;
  private readonly env = new Envelope();
  private readonly ref = new RefId();
  private readonly out: Header = { kind: 0, requestId: 0, responseId: 0, refWhence: 0, refId: 0, op: 0, isError: false };

  constructor(backing: Uint8Array) {
    this.bb = new flatbuffers.ByteBuffer(backing);
  }

  /**
   * Reads the envelope at [offset, offset+length) of `backing` (the constructor's buffer when omitted).
   * The returned header object is reused by the next call. Throws on an envelope that is not one.
   */
  read(offset: number, length: number, backing?: Uint8Array): Header {
    let bb = this.bb;
    if (backing !== undefined) bb = new flatbuffers.ByteBuffer(backing);
    if (length < 8) throw new Error(`invalid envelope: ${length} bytes`);
    bb.setPosition(offset);
    const root = bb.readInt32(offset);
    if (root < 4 || root >= length) throw new Error(`invalid envelope: root offset ${root} outside ${length} bytes`);
    const env = Envelope.getRootAsEnvelope(bb, this.env);
    const h = this.out;
    h.kind = env.kind();
    if (KNOWN_KIND[h.kind] !== 1) throw new Error(`invalid envelope: unknown message kind ${h.kind}`);
    h.requestId = env.requestId();
    h.responseId = env.responseId();
    const ref = env.ref(this.ref);
    h.refWhence = ref ? ref.whence() : 0;
    h.refId = ref ? ref.id() : 0;
    h.op = env.op();
    h.isError = env.isError();
    return h;
  }
}
