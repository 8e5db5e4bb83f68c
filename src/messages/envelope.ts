/**
 * The message envelope (schema/wire.fbs `Envelope`), a FlatBuffers table: written for each outgoing
 * frame into one of two fixed layouts, and read field by field straight from the vtable.
 *
 * Both directions skip the generic FlatBuffers runtime on the hot path (its builder makes a vtable array
 * and a view per envelope, and its reader a call per field), yet the bytes are ordinary FlatBuffers:
 * the generated code reads what `buildEnvelope` writes, and `EnvelopeReader` reads any valid Envelope,
 * defaults left out or not (test/envelope.test.ts checks both against the generated code).
 */
import { MessageKind } from '../wire/generated/dts/wire/message-kind';
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

// The fixed layouts, all offsets from the envelope's start (which frames keep 8-aligned):
//   0  uint32  root: offset of the table (24)
//   4  vtable  uint16 × 8: vtable size 16, table size, then the field offsets in schema order
//              (kind, request_id, response_id, ref, op, is_error); ref's is 0 (absent) in the short layout
//  24  table   int32 soffset to the vtable (20), kind u8 @+4, op u8 @+5, is_error u8 @+6,
//              request_id f64 @+8, response_id f64 @+16, ref { whence i32 @+24, id f64 @+32 }
const TABLE = 24;
const LONG = 64; // with ref
const SHORT = 48; // without ref

function layout(withRef: boolean): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(new ArrayBuffer(LONG), 0, withRef ? LONG : SHORT);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, TABLE, true);
  const fields = [4, 8, 16, withRef ? 24 : 0, 5, 6];
  view.setUint16(4, 16, true);
  view.setUint16(6, (withRef ? LONG : SHORT) - TABLE, true);
  fields.forEach((off, i) => view.setUint16(8 + 2 * i, off, true));
  view.setInt32(TABLE, TABLE - 4, true);
  return { bytes, view };
}

const long = layout(true);
const short = layout(false);

/**
 * Builds an envelope. The returned bytes are one of two reused buffers: valid until the next call,
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
  const withRef = refWhence !== 0;
  const { bytes, view } = withRef ? long : short;
  bytes[TABLE + 4] = kind;
  bytes[TABLE + 5] = op;
  bytes[TABLE + 6] = isError ? 1 : 0;
  view.setFloat64(TABLE + 8, requestId, true);
  view.setFloat64(TABLE + 16, responseId, true);
  if (withRef) {
    view.setInt32(TABLE + 24, refWhence, true);
    view.setFloat64(TABLE + 32, refId, true);
  }
  return bytes;
}

/** Which kind numbers exist (kinds are numbered with gaps: each branch of the protocol has its range). */
const KNOWN_KIND = new Uint8Array(256);
for (const v of Object.values(MessageKind)) if (typeof v === 'number') KNOWN_KIND[v] = 1;

/** Where field `i` (of `width` bytes) of the table lies, or 0 when absent; throws when it is outside the table. */
function fieldAt(v: DataView, vtable: number, vsize: number, table: number, tsize: number, i: number, width: number): number {
  const at = 4 + 2 * i;
  if (at >= vsize) return 0;
  const o = v.getUint16(vtable + at, true);
  if (o === 0) return 0;
  if (o < 4 || o + width > tsize) throw new Error(`invalid envelope: field ${i} outside the table`);
  return table + o;
}

/** Reads envelopes out of one backing buffer (a connection's staging memory) without allocating. */
export class EnvelopeReader {
  private readonly view: DataView;
  private readonly out: Header = { kind: 0, requestId: 0, responseId: 0, refWhence: 0, refId: 0, op: 0, isError: false };

  constructor(backing: Uint8Array) {
    this.view = new DataView(backing.buffer, backing.byteOffset, backing.byteLength);
  }

  /**
   * Reads the envelope at [offset, offset+length) of `backing` (the constructor's buffer when omitted).
   * The returned header object is reused by the next call. Throws on bytes that are not an Envelope
   * lying wholly inside that range.
   */
  read(offset: number, length: number, backing?: Uint8Array): Header {
    const v = backing === undefined ? this.view : new DataView(backing.buffer, backing.byteOffset, backing.byteLength);
    if (length < 8 || offset + length > v.byteLength) throw new Error(`invalid envelope: ${length} bytes`);
    const end = offset + length;
    const table = offset + v.getUint32(offset, true);
    if (table < offset + 4 || table + 4 > end) throw new Error(`invalid envelope: root offset ${table - offset} outside ${length} bytes`);
    const vtable = table - v.getInt32(table, true);
    if (vtable < offset || vtable + 4 > end) throw new Error('invalid envelope: vtable outside the envelope');
    const vsize = v.getUint16(vtable, true);
    const tsize = v.getUint16(vtable + 2, true);
    if (vsize < 4 || vsize % 2 !== 0 || vtable + vsize > end || tsize < 4 || table + tsize > end) {
      throw new Error('invalid envelope: vtable or table outside the envelope');
    }
    const h = this.out;
    const kindAt = fieldAt(v, vtable, vsize, table, tsize, 0, 1);
    h.kind = kindAt === 0 ? MessageKind.Call : v.getUint8(kindAt);
    if (KNOWN_KIND[h.kind] !== 1) throw new Error(`invalid envelope: unknown message kind ${h.kind}`);
    const req = fieldAt(v, vtable, vsize, table, tsize, 1, 8);
    h.requestId = req === 0 ? 0 : v.getFloat64(req, true);
    const resp = fieldAt(v, vtable, vsize, table, tsize, 2, 8);
    h.responseId = resp === 0 ? 0 : v.getFloat64(resp, true);
    const ref = fieldAt(v, vtable, vsize, table, tsize, 3, 16);
    h.refWhence = ref === 0 ? 0 : v.getInt32(ref, true);
    h.refId = ref === 0 ? 0 : v.getFloat64(ref + 8, true);
    const op = fieldAt(v, vtable, vsize, table, tsize, 4, 1);
    h.op = op === 0 ? RefOp.Fetch : v.getUint8(op);
    const err = fieldAt(v, vtable, vsize, table, tsize, 5, 1);
    h.isError = err !== 0 && v.getUint8(err) !== 0;
    return h;
  }
}
