/** The encoder: JS values → an inline byte stream plus out-of-band segments (see tags.ts for the layout). */
import { Unsendable, EncodeError, RawSeg, joinPath, type Seg } from './codec-errors';
import { BufferMode, ClassBody, MAX_SHAPE_KEYS, Tag, ViewKind } from './tags';
import { AGGREGATE_BASE, Kind, TypeRegistry, VIEW_BYTES, type ClassInfo, type ProtoKind, type ValueWriter } from './registry';

/**
 * An encoded value: `inline` (the structural byte stream) and `segments` (out-of-band byte runs, in
 * order, each a view of the caller's own memory). A frame carries both; the receiver hands the inline
 * bytes and one ArrayBuffer per segment to `Decoder.decode`.
 */
export interface Encoded {
  inline: Uint8Array;
  segments: ArrayBufferView[];
}

/** Options of {@link Encoder}. */
export interface EncoderOptions {
  /** Typed arrays / ArrayBuffers whose sent bytes are at least this long go out-of-band (default 1024). */
  segmentThreshold?: number;
  /** Initial size of the reusable inline buffer (default 64 KiB). */
  initialSize?: number;
}

interface FastBuffer extends Buffer {
  utf8Write(s: string, offset: number, length: number): number;
  ucs2Write(s: string, offset: number, length: number): number;
}

/** A node of the key-list trie: each path from the root spells one object shape (its key list). */
class ShapeNode {
  /** The last transition taken from here (a one-entry cache in front of `more`). */
  key: string | null = null;
  child: ShapeNode | null = null;
  more: Map<string, ShapeNode> | null = null;
  /** The encode call (epoch) in which this shape got `id`. */
  epoch = -1;
  id = 0;
}

const OBJECT_PROTO = Object.prototype;
const ARRAY_PROTO = Array.prototype;
const MAX_TRIE_NODES = 50_000;
const SHRINK_ABOVE = 4 * 1024 * 1024;
const hasOwn = Object.prototype.hasOwnProperty;
const isWellFormed = (String.prototype as unknown as { isWellFormed?: (this: string) => boolean }).isWellFormed;

function wellFormed(s: string): boolean {
  if (isWellFormed !== undefined) return isWellFormed.call(s);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      if (c >= 0xdc00 || i + 1 >= s.length) return false;
      const d = s.charCodeAt(i + 1);
      if (d < 0xdc00 || d > 0xdfff) return false;
      i++;
    }
  }
  return true;
}

function varintSize(n: number): number {
  let k = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    k++;
  }
  return k;
}

/**
 *     Encoder(registry, { segmentThreshold = 1024, initialSize = 65536 })
 *
 * Turns JavaScript values into an inline byte stream and a list of out-of-band segments (SPEC §4).
 * One encoder is reused for every message: its inline buffer grows as needed and is handed out as a
 * view, valid until the next `encode`. Typed arrays and ArrayBuffers of at least `segmentThreshold`
 * bytes are not copied: their memory is listed in `segments`.
 *
 * ```ts
 * const enc = new Encoder(new TypeRegistry());
 * const { inline, segments } = enc.encode({ xs: new Float64Array(1e6) }, 'args');
 * segments[0].byteLength; // 8000000 — a view of the caller's array, not a copy
 * ```
 */
/** How many objects a message holds before the encoder tracks them in a Map (see `Encoder.idObjs`). */
const SMALL_IDS = 8;

export class Encoder {
  private readonly reg: TypeRegistry;
  private readonly threshold: number;
  private readonly initialSize: number;
  private buf: FastBuffer;
  private u8: Uint8Array;
  private dv: DataView;
  private cap: number;
  private pos = 0;
  private lastUsed = 0;
  /**
   * Objects met so far and their ids (identity and cycles): the first SMALL_IDS in two plain arrays,
   * searched linearly, the rest in a Map. Most messages hold a handful of objects, and a Map would cost
   * an identity hash per object and a new Map per message.
   */
  private readonly idObjs: Array<object | undefined> = new Array<object | undefined>(SMALL_IDS).fill(undefined);
  private readonly idNums: number[] = new Array<number>(SMALL_IDS).fill(0);
  private nIds = 0;
  private bigIds: Map<object, number> | null = null;
  private nextId = 0;
  private segs: ArrayBufferView[] = [];
  private root = new ShapeNode();
  private trieNodes = 1;
  private epoch = 0;
  private nShapes = 0;
  private classIds = new Map<ClassInfo, number>();
  private ctx: unknown = undefined;
  private busy = false;
  private failed = false;
  private readonly writer: ValueWriter;

  constructor(registry: TypeRegistry, options: EncoderOptions = {}) {
    this.reg = registry;
    const t = options.segmentThreshold ?? 1024;
    if (!(t >= 0)) throw new TypeError(`segmentThreshold must be a non-negative number, got ${t}`);
    this.threshold = t;
    this.initialSize = Math.max(256, options.initialSize ?? 64 * 1024);
    this.buf = Buffer.allocUnsafeSlow(this.initialSize) as FastBuffer;
    this.u8 = this.buf;
    this.cap = this.buf.length;
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.cap);
    const self = this;
    this.writer = {
      value(v: unknown, pathSuffix?: string): void {
        self.checkHookCall();
        try {
          self.write(v);
        } catch (e) {
          throw self.seg(e, pathSuffix ? new RawSeg(pathSuffix) : null);
        }
      },
      string(s: string): void {
        self.checkHookCall();
        if (typeof s !== 'string') throw new TypeError(`ValueWriter.string: expected a string, got ${typeof s}`);
        self.ensure(16);
        self.writeString(s);
      },
      number(n: number): void {
        self.checkHookCall();
        if (typeof n !== 'number') throw new TypeError(`ValueWriter.number: expected a number, got ${typeof n}`);
        self.ensure(16);
        self.writeNumber(n);
      },
      uint(n: number): void {
        self.checkHookCall();
        if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`ValueWriter.uint: expected a non-negative safe integer, got ${n}`);
        self.ensure(16);
        self.writeUint(n);
      },
    };
  }

  /**
   *     encoder.encode(value, rootPath = 'value', context?) -> Encoded
   *
   * Encodes `value`. `inline` is a view of the encoder's reusable buffer, valid until the next
   * `encode` call; `segments` are views of the caller's own memory (not copies), so the caller must not
   * change those arrays until the frame is written. `rootPath` names the value in error messages
   * (`'args'` → `args[1].conn`); a list of names names the elements of an array value instead
   * (`encode([f, args], ['f', 'args'])` → `args[1].conn`). `context` is passed to extension and function
   * hooks (per-connection state). Throws {@link EncodeError} for a value that cannot be sent, naming its
   * path and kind; paths are only built when that happens.
   */
  encode(value: unknown, rootPath: string | readonly string[] = 'value', context?: unknown): Encoded {
    if (this.busy) {
      // Re-entered from a hook: use a fresh encoder so the outer message stays intact.
      return new Encoder(this.reg, { segmentThreshold: this.threshold, initialSize: 256 }).encode(value, rootPath, context);
    }
    this.busy = true;
    this.begin(context);
    try {
      this.write(value);
      if (this.failed) throw new Unsendable('a hook swallowed an encoding error; the message is incomplete');
    } catch (e) {
      const u = Unsendable.from(e);
      const cause = u.reportedCause();
      throw new EncodeError(joinPath(rootPath, u.segs), u.reason(), cause === undefined ? undefined : { cause });
    } finally {
      this.end();
    }
    const segments = this.segs;
    this.segs = [];
    this.lastUsed = this.pos;
    return { inline: this.u8.subarray(0, this.pos), segments };
  }

  private begin(context: unknown): void {
    if (this.cap > SHRINK_ABOVE && this.lastUsed < this.cap / 8) this.realloc(this.initialSize, 0);
    if (this.trieNodes > MAX_TRIE_NODES) {
      this.root = new ShapeNode();
      this.trieNodes = 1;
    }
    this.pos = 0;
    this.nextId = 0;
    this.epoch++;
    this.nShapes = 0;
    this.segs = [];
    this.ctx = context;
    this.failed = false;
  }

  private end(): void {
    // Drop references to the caller's objects now rather than at the next encode.
    const objs = this.idObjs;
    for (let i = Math.min(this.nIds, SMALL_IDS) - 1; i >= 0; i--) objs[i] = undefined;
    this.nIds = 0;
    this.bigIds = null;
    if (this.classIds.size !== 0) this.classIds = new Map();
    this.ctx = undefined;
    this.busy = false;
  }

  private checkHookCall(): void {
    if (!this.busy) throw new Error('ValueWriter used outside the encode() call that handed it out');
  }

  /** Adds a path segment to an error unwinding through a container. */
  private seg(e: unknown, s: Seg | null): Unsendable {
    const u = Unsendable.from(e);
    if (s !== null) u.segs.push(s);
    this.failed = true;
    return u;
  }

  private fail(reason: string): Unsendable {
    this.failed = true;
    return new Unsendable(reason);
  }

  // ---- buffer --------------------------------------------------------------------------------------

  private ensure(n: number): void {
    if (this.pos + n > this.cap) this.realloc(Math.max(this.cap * 2, this.pos + n + 1024), this.pos);
  }

  private realloc(size: number, keep: number): void {
    const nb = Buffer.allocUnsafeSlow(size) as FastBuffer;
    if (keep > 0) nb.set(this.u8.subarray(0, keep), 0);
    this.buf = nb;
    this.u8 = nb;
    this.cap = nb.length;
    this.dv = new DataView(nb.buffer, nb.byteOffset, this.cap);
  }

  /** Writes a varint (0 ≤ n ≤ 2^53−1). Needs 8 bytes of room. */
  private writeUint(n: number): void {
    const u8 = this.u8;
    let pos = this.pos;
    if (n < 0x80) {
      u8[pos++] = n;
    } else if (n <= 0xffffffff) {
      while (n >= 0x80) {
        u8[pos++] = (n & 0x7f) | 0x80;
        n >>>= 7;
      }
      u8[pos++] = n;
    } else {
      while (n >= 0x80) {
        u8[pos++] = (n % 128) | 0x80;
        n = Math.floor(n / 128);
      }
      u8[pos++] = n;
    }
    this.pos = pos;
  }

  /** Writes n as a varint of exactly `size` bytes (padded) at `at`. */
  private writePaddedUint(at: number, n: number, size: number): void {
    const u8 = this.u8;
    for (let i = 0; i < size - 1; i++) {
      u8[at++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    u8[at] = n;
  }

  // ---- values --------------------------------------------------------------------------------------

  /** Writes any value. */
  private write(v: unknown): void {
    if (this.pos + 16 > this.cap) this.ensure(16);
    switch (typeof v) {
      case 'string':
        return this.writeString(v as string);
      case 'number':
        return this.writeNumber(v as number);
      case 'object':
        if (v === null) {
          this.u8[this.pos++] = Tag.Null;
          return;
        }
        return this.writeObject(v as object);
      case 'boolean':
        this.u8[this.pos++] = v ? Tag.True : Tag.False;
        return;
      case 'undefined':
        this.u8[this.pos++] = Tag.Undefined;
        return;
      case 'bigint':
        return this.writeBigInt(v as bigint);
      case 'function':
        return this.writeFunction(v as Function);
      default:
        throw this.fail(`a symbol (${String(v)}) (symbols cannot be sent)`);
    }
  }

  private writeNumber(n: number): void {
    const u8 = this.u8;
    const i = n | 0;
    if (i === n && (i !== 0 || 1 / n > 0)) {
      if (i >= 0) {
        if (i < 0x80) {
          u8[this.pos++] = i;
        } else {
          u8[this.pos++] = Tag.UInt;
          this.writeUint(i);
        }
      } else if (i >= -32) {
        u8[this.pos++] = 0x100 + i;
      } else {
        u8[this.pos++] = Tag.NegInt;
        this.writeUint(-i);
      }
      return;
    }
    u8[this.pos] = Tag.Float64;
    this.dv.setFloat64(this.pos + 1, n, true);
    this.pos += 9;
  }

  private writeString(s: string): void {
    const len = s.length;
    if (len < 32) {
      if (this.pos + 3 * len + 16 > this.cap) this.ensure(3 * len + 16);
      const u8 = this.u8;
      const start = this.pos;
      let p = start + 1;
      for (let i = 0; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) return this.writeStringSlow(s);
        u8[p++] = c;
      }
      u8[start] = Tag.FixStr | len;
      this.pos = p;
      return;
    }
    this.writeStringSlow(s);
  }

  private writeStringSlow(s: string): void {
    const len = s.length;
    if (!wellFormed(s)) {
      // Lone surrogates: UTF-8 cannot carry them, so the code units travel as they are.
      this.ensure(2 * len + 16);
      this.u8[this.pos++] = Tag.Str16;
      this.writeUint(len);
      this.pos += this.buf.ucs2Write(s, this.pos, 2 * len);
      return;
    }
    const max = 3 * len;
    const h = varintSize(max);
    this.ensure(max + h + 16);
    const at = this.pos;
    const start = at + 1 + h;
    let n: number;
    if (len < 64) {
      // Short: often ASCII, cheaper in JS than a native call.
      const u8 = this.u8;
      let p = start;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        u8[p++] = c;
      }
      n = i === len ? len : this.buf.utf8Write(s, start, max);
    } else {
      n = this.buf.utf8Write(s, start, max);
    }
    this.u8[at] = Tag.Str;
    this.writePaddedUint(at + 1, n, h);
    this.pos = start + n;
  }

  private writeBigInt(v: bigint): void {
    if (v >= -0x8000000000000000n && v <= 0x7fffffffffffffffn) {
      this.u8[this.pos] = Tag.BigInt64;
      this.dv.setBigInt64(this.pos + 1, v, true);
      this.pos += 9;
      return;
    }
    const neg = v < 0n;
    let hex = (neg ? -v : v).toString(16);
    if (hex.length & 1) hex = '0' + hex;
    const n = hex.length >> 1;
    this.ensure(n + 16);
    const u8 = this.u8;
    u8[this.pos++] = Tag.BigIntN;
    u8[this.pos++] = neg ? 1 : 0;
    this.writeUint(n);
    const base = this.pos;
    for (let i = 0; i < n; i++) u8[base + i] = parseInt(hex.substr(hex.length - 2 * (i + 1), 2), 16);
    this.pos = base + n;
  }

  /** The id `o` was given earlier in this message, or undefined. */
  private idOf(o: object): number | undefined {
    const n = this.nIds;
    if (n > SMALL_IDS) return this.bigIds!.get(o);
    const objs = this.idObjs;
    for (let i = 0; i < n; i++) if (objs[i] === o) return this.idNums[i];
    return undefined;
  }

  /** Gives `o` the next id. */
  private remember(o: object): void {
    const id = this.nextId++;
    const n = this.nIds;
    if (n < SMALL_IDS) {
      this.idObjs[n] = o;
      this.idNums[n] = id;
      this.nIds = n + 1;
      return;
    }
    if (n === SMALL_IDS) {
      const big = new Map<object, number>();
      for (let i = 0; i < SMALL_IDS; i++) big.set(this.idObjs[i]!, this.idNums[i]);
      this.bigIds = big;
      this.nIds = n + 1;
    }
    this.bigIds!.set(o, id);
  }

  private writeFunction(fn: Function): void {
    const id = this.idOf(fn);
    if (id !== undefined) {
      this.u8[this.pos++] = Tag.Ref;
      this.writeUint(id);
      return;
    }
    const codec = this.reg.fn;
    if (codec === null) {
      throw this.fail(`a function${fn.name ? ` (${fn.name})` : ''} (no function codec is set, so functions cannot be sent)`);
    }
    this.remember(fn);
    this.u8[this.pos++] = Tag.Function;
    try {
      codec.encode(fn, this.writer, this.ctx);
    } catch (e) {
      throw this.seg(e, null);
    }
  }

  private writeObject(o: object): void {
    const id = this.idOf(o);
    if (id !== undefined) {
      this.u8[this.pos++] = Tag.Ref;
      this.writeUint(id);
      return;
    }
    this.remember(o);
    const p = Object.getPrototypeOf(o) as object | null;
    if (p === OBJECT_PROTO) return this.writeRecord(o);
    if (p === ARRAY_PROTO) return this.writeArray(o as unknown[]);
    this.writeOther(o, p);
  }

  /** A plain object's own enumerable string keys and values, with its key list as a record shape. */
  private writeRecord(o: object): void {
    const keys = Object.keys(o);
    const n = keys.length;
    if (n > MAX_SHAPE_KEYS) return this.writeDict(o, keys, Tag.Dict);
    let node = this.root;
    for (let i = 0; i < n; i++) {
      const k = keys[i];
      let next: ShapeNode | null | undefined = node.key === k ? node.child : node.more !== null ? node.more.get(k) : undefined;
      if (next == null) next = this.addNode(node, k);
      node = next;
    }
    const u8 = this.u8;
    if (node.epoch === this.epoch) {
      const sid = node.id;
      if (sid < 16) {
        u8[this.pos++] = Tag.FixShape | sid;
      } else {
        u8[this.pos++] = Tag.Shape;
        this.writeUint(sid);
      }
    } else {
      node.epoch = this.epoch;
      node.id = this.nShapes++;
      u8[this.pos++] = Tag.NewShape;
      this.writeUint(n);
      for (let i = 0; i < n; i++) this.writeString(keys[i]);
    }
    let i = 0;
    try {
      for (; i < n; i++) this.write((o as Record<string, unknown>)[keys[i]]);
    } catch (e) {
      throw this.seg(e, keys[i]);
    }
  }

  private addNode(node: ShapeNode, k: string): ShapeNode {
    const c = new ShapeNode();
    this.trieNodes++;
    if (node.key === null) {
      node.key = k;
      node.child = c;
    } else {
      if (node.more === null) node.more = new Map();
      node.more.set(k, c);
    }
    return c;
  }

  private writeDict(o: object, keys: string[], tag: Tag): void {
    const n = keys.length;
    this.u8[this.pos++] = tag;
    this.writeUint(n);
    let i = 0;
    try {
      for (; i < n; i++) {
        this.ensure(16);
        this.writeString(keys[i]);
        this.write((o as Record<string, unknown>)[keys[i]]);
      }
    } catch (e) {
      throw this.seg(e, keys[i]);
    }
  }

  private writeArray(a: unknown[]): void {
    const len = a.length;
    if (len < 16) {
      this.u8[this.pos++] = Tag.FixArray | len;
    } else {
      this.u8[this.pos++] = Tag.Array;
      this.writeUint(len);
    }
    let i = 0;
    try {
      for (; i < len; i++) {
        const v = a[i];
        if (v === undefined && !(i in a)) {
          i = this.writeHoles(a, i, len);
          continue;
        }
        this.write(v);
      }
    } catch (e) {
      throw this.seg(e, i);
    }
  }

  /**
   * Writes the hole run starting at `i`; returns the index of the last element handled. A long hole
   * switches to walking the array's own index keys, so a huge sparse array costs its element count.
   */
  private writeHoles(a: unknown[], i: number, len: number): number {
    let j = i + 1;
    const scanEnd = Math.min(len, i + 64);
    while (j < scanEnd && !(j in a)) j++;
    if (j < scanEnd || j === len) {
      this.ensure(16);
      this.u8[this.pos++] = Tag.HoleRun;
      this.writeUint(j - i);
      return j - 1;
    }
    // Sparse: visit the remaining own index keys.
    let at = i;
    let k = 0;
    try {
      for (const key of Object.keys(a)) {
        const idx = Number(key);
        if (!(idx >= at) || String(idx) !== key || idx >= len) continue; // earlier indices, or not an index
        k = idx;
        if (idx > at) {
          this.ensure(16);
          this.u8[this.pos++] = Tag.HoleRun;
          this.writeUint(idx - at);
        }
        this.write(a[idx]);
        at = idx + 1;
      }
    } catch (e) {
      throw this.seg(e, k);
    }
    if (at < len) {
      this.ensure(16);
      this.u8[this.pos++] = Tag.HoleRun;
      this.writeUint(len - at);
    }
    return len;
  }

  private writeOther(o: object, p: object | null): void {
    if (p === null) return this.writeDict(o, Object.keys(o), Tag.NullProtoDict);
    let k = this.reg.kinds.get(p);
    if (k === undefined) k = this.reg.classify(o, p);
    switch (k.code) {
      case Kind.Plain:
        return this.writeRecord(o);
      case Kind.Array:
        return this.writeArray(o as unknown[]);
      case Kind.View:
        return this.writeView(o as ArrayBufferView, k.view);
      case Kind.Map:
        return this.writeMap(o as Map<unknown, unknown>);
      case Kind.Set:
        return this.writeSet(o as Set<unknown>);
      case Kind.Date:
        this.u8[this.pos] = Tag.Date;
        this.dv.setFloat64(this.pos + 1, Date.prototype.getTime.call(o), true);
        this.pos += 9;
        return;
      case Kind.RegExp:
        return this.writeRegExp(o as RegExp);
      case Kind.ArrayBuffer: {
        const ab = o as ArrayBuffer;
        return this.writeBufferBytes(ab, 0, ab.byteLength, null);
      }
      case Kind.Error:
        this.u8[this.pos++] = Tag.Error;
        return this.writeErrorBody(o as Error, k.errorBase);
      case Kind.Class:
        return this.writeClass(o, k);
      case Kind.Extension: {
        const ext = k.ext!;
        this.u8[this.pos++] = Tag.Extension;
        this.writeUint(ext.tag);
        try {
          ext.encode(o, this.writer, this.ctx);
        } catch (e) {
          throw this.seg(e, null);
        }
        return;
      }
      default:
        throw this.fail(k.reason);
    }
  }

  private writeMap(m: Map<unknown, unknown>): void {
    const size = m.size;
    this.u8[this.pos++] = Tag.Map;
    this.writeUint(size);
    let i = 0;
    let key: unknown;
    let inKey = true;
    try {
      for (const e of m) {
        if (i === size) break;
        key = e[0];
        inKey = true;
        this.write(key);
        inKey = false;
        this.write(e[1]);
        i++;
      }
    } catch (e) {
      throw this.seg(e, inKey ? new RawSeg(`{key #${i}}`) : mapKeySegment(key, i));
    }
    if (i !== size) throw this.fail('a Map that changed size while it was being encoded');
  }

  private writeSet(s: Set<unknown>): void {
    const size = s.size;
    this.u8[this.pos++] = Tag.Set;
    this.writeUint(size);
    let i = 0;
    try {
      for (const v of s) {
        if (i === size) break;
        this.write(v);
        i++;
      }
    } catch (e) {
      throw this.seg(e, new RawSeg(`{element #${i}}`));
    }
    if (i !== size) throw this.fail('a Set that changed size while it was being encoded');
  }

  private writeRegExp(re: RegExp): void {
    this.u8[this.pos++] = Tag.RegExp;
    this.writeString(re.source);
    this.ensure(16);
    this.writeString(re.flags);
    this.write(re.lastIndex);
  }

  /**
   * An ArrayBuffer value: bytes [off, off+len) of `ab`, inline (copied) below the threshold, else as a
   * segment (a view of `ab`'s memory; `view` is reused as that view when it is exactly the range).
   */
  private writeBufferBytes(ab: ArrayBufferLike, off: number, len: number, view: ArrayBufferView | null): void {
    this.ensure(24);
    this.u8[this.pos++] = Tag.ArrayBuffer;
    this.writeUint(len);
    if (len >= this.threshold && len > 0) {
      this.u8[this.pos++] = BufferMode.Segment;
      this.writeUint(this.segs.length);
      this.segs.push(view !== null && view.byteOffset === off && view.byteLength === len ? view : new Uint8Array(ab, off, len));
    } else {
      this.u8[this.pos++] = BufferMode.Inline;
      this.ensure(len);
      if (len > 0) this.u8.set(new Uint8Array(ab, off, len), this.pos);
      this.pos += len;
    }
  }

  private writeView(v: ArrayBufferView, kind: ViewKind): void {
    const ab = v.buffer;
    const off = v.byteOffset;
    const bl = v.byteLength;
    const length = kind === ViewKind.DataView ? bl : bl / VIEW_BYTES[kind];
    this.ensure(32);
    const u8 = this.u8;
    u8[this.pos++] = Tag.View;
    u8[this.pos++] = kind;
    const bid = this.idOf(ab);
    if (bid !== undefined) {
      // The buffer (or a view covering it) was already sent: share it.
      u8[this.pos++] = Tag.Ref;
      this.writeUint(bid);
      this.writeUint(off);
    } else if (off === 0 && bl === ab.byteLength && !isShared(ab)) {
      // Covers its whole buffer: send the buffer, so other views of it share it.
      this.remember(ab);
      this.writeBufferBytes(ab, 0, bl, v);
      this.u8[this.pos++] = 0;
    } else {
      // A window of a larger buffer (a Buffer in the pool slab, a subarray): send only the window.
      this.nextId++;
      this.writeBufferBytes(ab, off, bl, v);
      this.u8[this.pos++] = 0;
    }
    this.ensure(16);
    this.writeUint(length);
  }

  private writeClass(o: object, k: ProtoKind): void {
    const cls = k.cls!;
    this.u8[this.pos++] = Tag.Class;
    const cid = this.classIds.get(cls);
    if (cid !== undefined) {
      this.writeUint(cid + 1);
    } else {
      this.classIds.set(cls, this.classIds.size);
      this.u8[this.pos++] = 0;
      this.writeString(cls.name);
    }
    this.ensure(16);
    if (cls.encode !== undefined) {
      this.u8[this.pos++] = ClassBody.Custom;
      let data: unknown;
      try {
        data = cls.encode(o);
      } catch (e) {
        throw this.seg(e, null);
      }
      try {
        this.write(data);
      } catch (e) {
        throw this.seg(e, new RawSeg(`{${cls.name} encode()}`));
      }
    } else if (cls.errorBase >= 0) {
      this.u8[this.pos++] = ClassBody.Error;
      this.writeErrorBody(o as Error, cls.errorBase);
    } else {
      this.u8[this.pos++] = ClassBody.Fields;
      this.writeRecord(o);
    }
  }

  /**
   * Error body: base byte, name, message, stack, flags (1: cause, 2: errors), [cause], [errors],
   * then own enumerable fields as a dictionary.
   */
  private writeErrorBody(e: Error, base: number): void {
    this.u8[this.pos++] = base;
    let seg: Seg | null = 'name';
    try {
      this.write(e.name);
      seg = 'message';
      this.write(e.message);
      seg = 'stack';
      this.write(e.stack);
      const hasCause = hasOwn.call(e, 'cause');
      const errors = base === AGGREGATE_BASE ? (e as AggregateError).errors : undefined;
      this.ensure(16);
      this.u8[this.pos++] = (hasCause ? 1 : 0) | (errors !== undefined ? 2 : 0);
      if (hasCause) {
        seg = 'cause';
        this.write(e.cause);
      }
      if (errors !== undefined) {
        seg = 'errors';
        this.write(errors);
      }
      seg = null;
      this.ensure(16);
    } catch (err) {
      throw this.seg(err, seg);
    }
    this.writeDict(e, Object.keys(e), Tag.Dict);
  }
}

function isShared(ab: ArrayBufferLike): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && ab instanceof SharedArrayBuffer;
}

function mapKeySegment(key: unknown, i: number): RawSeg {
  if (typeof key === 'string') return new RawSeg(`.get(${JSON.stringify(key)})`);
  if (typeof key === 'number' || typeof key === 'boolean' || key === null || key === undefined) return new RawSeg(`.get(${String(key)})`);
  if (typeof key === 'bigint') return new RawSeg(`.get(${key}n)`);
  return new RawSeg(`{value #${i}}`);
}

