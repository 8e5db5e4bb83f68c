/** The decoder: inline bytes + segments → JS values (see tags.ts for the layout). */
import * as util from 'node:util';
import { DecodeError, HookFailure } from './codec-errors';
import { BufferMode, ClassBody, Tag, ViewKind } from './tags';
import { AGGREGATE_BASE, ERROR_BASES, VIEW_CTORS, type ClassInfo, type TypeRegistry, type ValueReader } from './registry';
import { loadDeferredPackage } from '../deferred-package';

type Slicer = (this: Uint8Array, start: number, end: number) => string;
const bufferProto = Buffer.prototype as unknown as { utf8Slice: Slicer; ucs2Slice: Slicer; latin1Slice: Slicer };
const utf8Slice = bufferProto.utf8Slice;
const ucs2Slice = bufferProto.ucs2Slice;
const fcc = String.fromCharCode;
const isArrayBuffer = util.types.isArrayBuffer;
const defineProperty = Object.defineProperty;

/** A slot reserved for an object that is still being rebuilt (by a hook, or a view awaiting its buffer). */
const PENDING: object = Object.freeze({ pending: true });

/** Plain-object builders compiled for key lists seen often, shared by every decoder of the process. */
interface Factory {
  uses: number;
  fn: ((d: Decoder) => object) | null;
}
const factories = new Map<string, Factory>();
const FACTORY_AFTER = 16;
const MAX_FACTORIES = 4096;
let codegen = true;

/** A record shape defined in the message being decoded. */
interface Shape {
  readonly keys: string[];
  /** No key needs defineProperty (`__proto__`). */
  readonly safe: boolean;
  readonly factory: Factory | null;
}

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push((i < 16 ? '0' : '') + i.toString(16));

/** Up to 8 ASCII bytes as a string, or null when one is not ASCII. */
function shortAscii(u8: Uint8Array, p: number, len: number): string | null {
  switch (len) {
    case 0:
      return '';
    case 1: {
      const a = u8[p];
      return a < 0x80 ? fcc(a) : null;
    }
    case 2: {
      const a = u8[p], b = u8[p + 1];
      return (a | b) < 0x80 ? fcc(a, b) : null;
    }
    case 3: {
      const a = u8[p], b = u8[p + 1], c = u8[p + 2];
      return (a | b | c) < 0x80 ? fcc(a, b, c) : null;
    }
    case 4: {
      const a = u8[p], b = u8[p + 1], c = u8[p + 2], d = u8[p + 3];
      return (a | b | c | d) < 0x80 ? fcc(a, b, c, d) : null;
    }
    case 5: {
      const a = u8[p], b = u8[p + 1], c = u8[p + 2], d = u8[p + 3], e = u8[p + 4];
      return (a | b | c | d | e) < 0x80 ? fcc(a, b, c, d, e) : null;
    }
    case 6: {
      const a = u8[p], b = u8[p + 1], c = u8[p + 2], d = u8[p + 3], e = u8[p + 4], f = u8[p + 5];
      return (a | b | c | d | e | f) < 0x80 ? fcc(a, b, c, d, e, f) : null;
    }
    case 7: {
      const a = u8[p], b = u8[p + 1], c = u8[p + 2], d = u8[p + 3], e = u8[p + 4], f = u8[p + 5], g = u8[p + 6];
      return (a | b | c | d | e | f | g) < 0x80 ? fcc(a, b, c, d, e, f, g) : null;
    }
    default: {
      const a = u8[p], b = u8[p + 1], c = u8[p + 2], d = u8[p + 3], e = u8[p + 4], f = u8[p + 5], g = u8[p + 6], h = u8[p + 7];
      return (a | b | c | d | e | f | g | h) < 0x80 ? fcc(a, b, c, d, e, f, g, h) : null;
    }
  }
}

function defineHidden(o: object, key: string, value: unknown): void {
  defineProperty(o, key, { value, writable: true, enumerable: false, configurable: true });
}

function defineField(o: object, key: string, value: unknown): void {
  defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
}

/** Builds an error of built-in class `base` whose prototype is `newTarget.prototype`, without running user code or capturing a stack. */
function makeError(base: number, newTarget: Function): Error {
  const lim = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return Reflect.construct(ERROR_BASES[base], base === AGGREGATE_BASE ? [[]] : [], newTarget) as Error;
  } finally {
    Error.stackTraceLimit = lim;
  }
}

/**
 * Short ASCII strings recur in every message (function paths, record keys, class names): the last one
 * seen per hash slot is handed out again when the bytes match, so it is neither rebuilt nor re-hashed
 * by the Map lookups that follow. Null for a string with non-ASCII bytes.
 */
const INTERNED = new Array<string>(256).fill('');
function internedAscii(u8: Uint8Array, p: number, len: number): string | null {
  let h = len;
  for (let i = 0; i < len; i++) {
    const c = u8[p + i];
    if (c >= 0x80) return null;
    h = Math.imul(h ^ c, 0x01000193);
  }
  const slot = (h ^ (h >>> 16)) & 255;
  const known = INTERNED[slot];
  if (known.length === len) {
    let i = 0;
    while (i < len && known.charCodeAt(i) === u8[p + i]) i++;
    if (i === len) return known;
  }
  const fresh = len <= 8 ? shortAscii(u8, p, len)! : shortAscii(u8, p, 8)! + shortAscii(u8, p + 8, len - 8)!;
  INTERNED[slot] = fresh;
  return fresh;
}

function compileFactory(keys: readonly string[]): ((d: Decoder) => object) | null {
  if (!codegen || keys.length === 0 || new Set(keys).size !== keys.length) return null;
  const lits = keys.map((k) => JSON.stringify(k));
  const body =
    `"use strict";\nconst o = {${lits.map((k) => `${k}: undefined`).join(', ')}};\nd.ref(o);\n` +
    lits.map((k) => `o[${k}] = d.read();`).join('\n') +
    '\nreturn o;';
  try {
    return new Function('d', body) as (d: Decoder) => object;
  } catch {
    codegen = false; // code generation from strings is disabled in this process
    return null;
  }
}

/**
 *     Decoder(registry)
 *
 * Rebuilds values from what an {@link Encoder} produced: the inline bytes and one ArrayBuffer per
 * segment. Every decoded typed array owns its memory (inline bytes are copied out; a segment's
 * ArrayBuffer is used as it is), so views are correctly aligned. Malformed input throws
 * {@link DecodeError} and never crashes, hangs or allocates more than the input justifies.
 *
 * ```ts
 * const dec = new Decoder(registry);
 * const value = dec.decode(inline, segments.map((s) => copyToFreshArrayBuffer(s)));
 * ```
 */
export class Decoder {
  private readonly reg: TypeRegistry;
  private u8: Uint8Array = new Uint8Array(0);
  /** A view of the whole buffer under `u8` (made when a float, bigint or date is read, kept while the buffer is the same): no DataView per message. */
  private dv: DataView = new DataView(new ArrayBuffer(0));
  /** Where `u8` starts in `dv`. */
  private dvBase = 0;
  private pos = 0;
  private end = 0;
  private segs: readonly ArrayBuffer[] = [];
  private usedSegs: Uint8Array | null = null;
  /** @internal objects met so far, by id (read by compiled record builders) */
  refs: unknown[] = [];
  /**
   * How many of `refs` belong to this message. The array itself is kept between messages (its first
   * slots cleared) so that a message's first objects do not each cost the array a new backing store.
   */
  private nRefs = 0;
  private shapes: Shape[] = [];
  private classes: ClassInfo[] = [];
  private ctx: unknown = undefined;
  private busy = false;
  private readonly reader: ValueReader;

  constructor(registry: TypeRegistry) {
    this.reg = registry;
    const self = this;
    this.reader = {
      value(): unknown {
        self.checkHookCall();
        try {
          return self.read();
        } catch (e) {
          throw self.internal(e);
        }
      },
      string(): string {
        self.checkHookCall();
        try {
          return self.readString();
        } catch (e) {
          throw self.internal(e);
        }
      },
      number(): number {
        self.checkHookCall();
        let v: unknown;
        try {
          v = self.read();
        } catch (e) {
          throw self.internal(e);
        }
        if (typeof v !== 'number') throw new DecodeError(`malformed input: expected a number, found ${typeof v}`);
        return v;
      },
      uint(): number {
        self.checkHookCall();
        try {
          return self.uint();
        } catch (e) {
          throw self.internal(e);
        }
      },
    };
  }

  /**
   *     decoder.decode(inline, segments, context?) -> unknown
   *
   * Decodes one value. `segments[i]` is the ArrayBuffer holding out-of-band run i (exactly its
   * length); decoded typed arrays use these buffers directly. `context` is passed to extension and
   * function hooks. Throws {@link DecodeError} on malformed input, an unknown class name or an unknown
   * extension tag; an error thrown by a hook (a class's `decode`, an extension, the function codec) is
   * passed through unchanged. The decoder stays usable after any error.
   */
  decode(inline: Uint8Array, segments: readonly ArrayBuffer[], context?: unknown): unknown {
    if (!ArrayBuffer.isView(inline)) throw new TypeError('Decoder.decode: inline must be a Uint8Array');
    if (this.busy) return new Decoder(this.reg).decode(inline, segments, context); // re-entered from a hook
    this.busy = true;
    this.u8 = inline;
    this.pos = 0;
    this.end = inline.length;
    this.dvBase = inline.byteOffset;
    this.segs = segments;
    this.usedSegs = segments.length === 0 ? null : new Uint8Array(segments.length);
    this.ctx = context;
    try {
      const v = this.read();
      if (this.pos !== this.end) throw new DecodeError(`malformed input: ${this.end - this.pos} bytes after the value`);
      return v;
    } catch (e) {
      const x = this.internal(e);
      throw x instanceof HookFailure ? x.error : x;
    } finally {
      // Drop every reference to the message and its values.
      this.u8 = EMPTY_U8;
      this.segs = [];
      this.usedSegs = null;
      const refs = this.refs;
      for (let i = this.nRefs - 1; i >= 0; i--) refs[i] = undefined;
      this.nRefs = 0;
      if (refs.length > KEEP_REFS) this.refs = [];
      if (this.shapes.length !== 0) this.shapes = [];
      if (this.classes.length !== 0) this.classes = [];
      this.ctx = undefined;
      this.busy = false;
    }
  }

  private checkHookCall(): void {
    if (!this.busy) throw new Error('ValueReader used outside the decode() call that handed it out');
  }

  /** Anything thrown by our own code while decoding means the input is malformed. */
  private internal(e: unknown): DecodeError | HookFailure {
    if (e instanceof DecodeError || e instanceof HookFailure) return e;
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      return new DecodeError('malformed input: the value is nested too deeply to decode', { cause: e });
    }
    const msg = e instanceof Error ? e.message : String(e);
    return new DecodeError(`malformed input: ${msg}`, { cause: e });
  }

  private bad(what: string): DecodeError {
    return new DecodeError(`malformed input: ${what} at byte ${this.pos}`);
  }

  /** Runs a user hook: its errors pass through decode() unchanged. */
  private hook<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof DecodeError || e instanceof HookFailure) throw e;
      throw new HookFailure(e);
    }
  }

  // ---- scalars -------------------------------------------------------------------------------------

  private uint(): number {
    const b = this.u8[this.pos];
    if (b < 0x80) {
      this.pos++;
      return b;
    }
    return this.uintSlow();
  }

  private uintSlow(): number {
    const u8 = this.u8;
    let pos = this.pos;
    let r = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = u8[pos++];
      if (b === undefined) throw this.bad('truncated varint');
      r += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (r > Number.MAX_SAFE_INTEGER) throw this.bad('varint too large');
        this.pos = pos;
        return r;
      }
      mul *= 128;
    }
    throw this.bad('varint too long');
  }

  /** A count of items that each take at least `minBytes` bytes. */
  private count(minBytes: number): number {
    const n = this.uint();
    if (n * minBytes > this.end - this.pos) throw this.bad(`count ${n} exceeds the remaining bytes`);
    return n;
  }

  private readStr(len: number): string {
    const pos = this.pos;
    const end = pos + len;
    if (end > this.end) throw this.bad('truncated string');
    this.pos = end;
    if (len <= 16 && len > 0) {
      const s = internedAscii(this.u8, pos, len);
      if (s !== null) return s;
    }
    return utf8Slice.call(this.u8, pos, end);
  }

  /** @internal a string value (keys, class names, hook strings) */
  readString(): string {
    const b = this.u8[this.pos++];
    if (b >= Tag.FixStr && b < Tag.FixShape) return this.readStr(b - Tag.FixStr);
    if (b === Tag.Str) return this.readStr(this.uint());
    if (b === Tag.Str16) return this.readStr16();
    this.pos--;
    throw this.bad('expected a string');
  }

  private readStr16(): string {
    const n = this.uint();
    const pos = this.pos;
    if (2 * n > this.end - pos) throw this.bad('truncated string');
    this.pos = pos + 2 * n;
    return ucs2Slice.call(this.u8, pos, pos + 2 * n);
  }

  private view(): DataView {
    const buf = this.u8.buffer;
    if (this.dv.buffer !== buf) this.dv = new DataView(buf);
    return this.dv;
  }

  private f64(): number {
    if (this.end - this.pos < 8) throw this.bad('truncated number');
    const v = this.view().getFloat64(this.dvBase + this.pos, true);
    this.pos += 8;
    return v;
  }

  private i64(): bigint {
    if (this.end - this.pos < 8) throw this.bad('truncated bigint');
    const v = this.view().getBigInt64(this.dvBase + this.pos, true);
    this.pos += 8;
    return v;
  }

  // ---- values --------------------------------------------------------------------------------------

  /** @internal reads one value (called by compiled record builders) */
  read(): unknown {
    const b = this.u8[this.pos++];
    if (b < 0x80) return b;
    if (b < Tag.FixShape) return this.readStr(b - Tag.FixStr);
    if (b < Tag.FixArray) return this.readShaped(this.shapeAt(b - Tag.FixShape));
    if (b < Tag.Undefined) return this.readArray(b - Tag.FixArray);
    if (b >= 0xe0) return b - 256;
    return this.readTagged(b);
  }

  private readTagged(b: number): unknown {
    switch (b) {
      case Tag.Undefined:
        return undefined;
      case Tag.Null:
        return null;
      case Tag.False:
        return false;
      case Tag.True:
        return true;
      case Tag.UInt:
        return this.uint();
      case Tag.NegInt:
        return -this.uint();
      case Tag.Float64: {
        return this.f64();
      }
      case Tag.Str:
        return this.readStr(this.uint());
      case Tag.Str16:
        return this.readStr16();
      case Tag.BigInt64: {
        return this.i64();
      }
      case Tag.BigIntN:
        return this.readBigInt();
      case Tag.Ref: {
        const id = this.uint();
        if (id >= this.nRefs) throw this.bad(`reference to object ${id}, which does not exist yet`);
        const v = this.refs[id];
        if (v === PENDING) {
          throw new DecodeError(
            'a reference cycle runs through a value rebuilt by a hook (a class with its own decode, an extension or a function), so it cannot be rebuilt',
          );
        }
        return v;
      }
      case Tag.Array: {
        const len = this.uint();
        if (len > 0xffffffff) throw this.bad('array length too large');
        return this.readArray(len);
      }
      case Tag.NewShape:
        return this.readShaped(this.newShape());
      case Tag.Shape:
        return this.readShaped(this.shapeAt(this.uint()));
      case Tag.Dict: {
        const o = {};
        this.ref(o);
        this.readDictInto(o, false);
        return o;
      }
      case Tag.NullProtoDict: {
        const o = Object.create(null) as object;
        this.ref(o);
        this.readDictInto(o, false);
        return o;
      }
      case Tag.Map: {
        const m = new Map<unknown, unknown>();
        this.ref(m);
        const n = this.count(2);
        for (let i = 0; i < n; i++) {
          const k = this.read();
          m.set(k, this.read());
        }
        return m;
      }
      case Tag.Set: {
        const s = new Set<unknown>();
        this.ref(s);
        const n = this.count(1);
        for (let i = 0; i < n; i++) s.add(this.read());
        return s;
      }
      case Tag.Date: {
        const d = new Date(this.f64());
        this.ref(d);
        return d;
      }
      case Tag.RegExp: {
        const slot = this.reserve();
        const source = this.readString();
        const flags = this.readString();
        const lastIndex = this.read();
        const re = new RegExp(source, flags);
        if (typeof lastIndex === 'number') re.lastIndex = lastIndex;
        this.refs[slot] = re;
        return re;
      }
      case Tag.ArrayBuffer:
        return this.readArrayBuffer();
      case Tag.View:
        return this.readView();
      case Tag.Error: {
        const base = this.errorBase();
        return this.readErrorBody(makeError(base, ERROR_BASES[base]));
      }
      case Tag.Class:
        return this.readClass();
      case Tag.Extension: {
        const tag = this.uint();
        let ext = this.reg.extByTag.get(tag);
        // A worker that deferred the package registers its types when it loads it.
        if (ext === undefined && loadDeferredPackage()) ext = this.reg.extByTag.get(tag);
        if (ext === undefined) {
          throw new DecodeError(`unknown extension tag ${tag}: the sender has a host type this process has not registered`);
        }
        const slot = this.reserve();
        const v = this.hook(() => ext.decode(this.reader, this.ctx));
        this.refs[slot] = v;
        return v;
      }
      case Tag.Function: {
        const codec = this.reg.fn;
        if (codec === null) throw new DecodeError('a function arrived, but this process has no function codec');
        const slot = this.reserve();
        const fn = this.hook(() => codec.decode(this.reader, this.ctx));
        if (typeof fn !== 'function') throw new DecodeError('the function codec did not return a function');
        this.refs[slot] = fn;
        return fn;
      }
      case Tag.HoleRun:
        this.pos--;
        throw this.bad('a hole outside an array');
      default:
        this.pos--;
        if (b === undefined) throw this.bad('truncated input');
        throw this.bad(`unknown tag 0x${b.toString(16)}`);
    }
  }

  /** @internal gives `v` the next object id (called by compiled record builders too) */
  ref(v: unknown): void {
    this.refs[this.nRefs++] = v;
  }

  private reserve(): number {
    const slot = this.nRefs;
    this.ref(PENDING);
    return slot;
  }

  private readBigInt(): bigint {
    const neg = this.u8[this.pos++];
    if (neg !== 0 && neg !== 1) throw this.bad('bad BigInt sign');
    const n = this.count(1);
    const u8 = this.u8;
    const base = this.pos;
    let hex = '';
    for (let i = n - 1; i >= 0; i--) hex += HEX[u8[base + i]];
    this.pos = base + n;
    const v = n === 0 ? 0n : BigInt('0x' + hex);
    return neg ? -v : v;
  }

  private readArray(len: number): unknown[] {
    const a: unknown[] = [];
    this.ref(a);
    const u8 = this.u8;
    let i = 0;
    while (i < len) {
      if (u8[this.pos] === Tag.HoleRun) {
        this.pos++;
        const n = this.uint();
        if (n === 0 || n > len - i) throw this.bad('bad hole run');
        i += n;
        a.length = i;
        continue;
      }
      a.push(this.read());
      i++;
    }
    return a;
  }

  private shapeAt(id: number): Shape {
    const s = this.shapes[id];
    if (s === undefined) throw this.bad(`reference to record shape ${id}, which does not exist`);
    return s;
  }

  private newShape(): Shape {
    const n = this.count(1);
    const keys: string[] = [];
    let safe = true;
    for (let i = 0; i < n; i++) {
      const k = this.readString();
      if (k === '__proto__') safe = false;
      keys.push(k);
    }
    let factory: Factory | null = null;
    if (safe && n !== 0) {
      const sig = JSON.stringify(keys);
      factory = factories.get(sig) ?? null;
      if (factory === null) {
        if (factories.size >= MAX_FACTORIES) factories.clear();
        factory = { uses: 0, fn: null };
        factories.set(sig, factory);
      }
    }
    const shape: Shape = { keys, safe, factory };
    this.shapes.push(shape);
    return shape;
  }

  private readShaped(shape: Shape): object {
    const f = shape.factory;
    if (f !== null) {
      if (f.fn !== null) return f.fn(this);
      if (++f.uses === FACTORY_AFTER) f.fn = compileFactory(shape.keys);
    }
    const o = {};
    this.ref(o);
    this.fill(o, shape);
    return o;
  }

  private fill(o: object, shape: Shape): void {
    const keys = shape.keys;
    const n = keys.length;
    if (shape.safe) {
      for (let i = 0; i < n; i++) (o as Record<string, unknown>)[keys[i]] = this.read();
    } else {
      for (let i = 0; i < n; i++) defineField(o, keys[i], this.read());
    }
  }

  /** Reads a record (shape or dictionary) into `o`, which is already registered. */
  private readRecordInto(o: object): void {
    const b = this.u8[this.pos++];
    if (b >= Tag.FixShape && b < Tag.FixArray) return this.fill(o, this.shapeAt(b - Tag.FixShape));
    if (b === Tag.Shape) return this.fill(o, this.shapeAt(this.uint()));
    if (b === Tag.NewShape) return this.fill(o, this.newShape());
    if (b === Tag.Dict) return this.readDictInto(o, false);
    this.pos--;
    throw this.bad('expected an object body');
  }

  private readDictInto(o: object, define: boolean): void {
    const n = this.count(2);
    for (let i = 0; i < n; i++) {
      const k = this.readString();
      const v = this.read();
      if (define || k === '__proto__') defineField(o, k, v);
      else (o as Record<string, unknown>)[k] = v;
    }
  }

  private readArrayBuffer(): ArrayBuffer {
    const len = this.uint();
    const mode = this.u8[this.pos++];
    let ab: ArrayBuffer;
    if (mode === BufferMode.Inline) {
      if (len > this.end - this.pos) throw this.bad('truncated ArrayBuffer');
      // A copy in this realm's own ArrayBuffer (the inline bytes live in a reused staging buffer).
      ab = new ArrayBuffer(len);
      if (len !== 0) new Uint8Array(ab).set(this.u8.subarray(this.pos, this.pos + len));
      this.pos += len;
    } else if (mode === BufferMode.Segment) {
      const i = this.uint();
      const used = this.usedSegs;
      if (used === null || i >= used.length) throw this.bad(`segment ${i} does not exist (${this.segs.length} segments)`);
      if (used[i] !== 0) throw this.bad(`segment ${i} used twice`);
      used[i] = 1;
      const seg = this.segs[i];
      if (!isArrayBuffer(seg) || seg.byteLength !== len) throw this.bad(`segment ${i} is not an ArrayBuffer of ${len} bytes`);
      ab = seg;
    } else {
      throw this.bad('bad ArrayBuffer mode');
    }
    this.ref(ab);
    return ab;
  }

  private readView(): ArrayBufferView {
    const kind = this.u8[this.pos++];
    if (!(kind <= ViewKind.Buffer)) throw this.bad('bad typed array kind');
    const slot = this.reserve();
    const buf = this.read();
    if (!isArrayBuffer(buf)) throw this.bad('a typed array without an ArrayBuffer');
    const off = this.uint();
    const len = this.uint();
    let v: ArrayBufferView;
    if (kind === ViewKind.Buffer) {
      if (off + len > buf.byteLength) throw this.bad('Buffer out of range');
      v = Buffer.from(buf, off, len);
    } else {
      const C = VIEW_CTORS[kind] as unknown as new (b: ArrayBuffer, o: number, l: number) => ArrayBufferView;
      v = new C(buf, off, len);
    }
    this.refs[slot] = v;
    return v;
  }

  private errorBase(): number {
    const base = this.u8[this.pos++];
    if (!(base < ERROR_BASES.length)) throw this.bad('bad error class');
    return base;
  }

  private readErrorBody(e: Error): Error {
    this.ref(e);
    const name = this.read();
    const message = this.read();
    const stack = this.read();
    const flags = this.u8[this.pos++];
    if (!(flags <= 3)) throw this.bad('bad error flags');
    if (name !== e.name) defineHidden(e, 'name', name);
    if (message !== e.message) defineHidden(e, 'message', message);
    if (stack === undefined) delete e.stack;
    else defineHidden(e, 'stack', stack);
    if (flags & 1) defineHidden(e, 'cause', this.read());
    if (flags & 2) defineHidden(e, 'errors', this.read());
    if (this.u8[this.pos++] !== Tag.Dict) throw this.bad('expected error fields');
    this.readDictInto(e, true);
    return e;
  }

  private readClass(): object {
    const r = this.uint();
    let cls: ClassInfo | undefined;
    if (r === 0) {
      const name = this.readString();
      cls = this.reg.classByName.get(name);
      if (cls === undefined && loadDeferredPackage()) cls = this.reg.classByName.get(name);
      if (cls === undefined) {
        throw new DecodeError(`unknown class ${name}: register it with registerType(${name}) on every process`);
      }
      this.classes.push(cls);
    } else {
      cls = this.classes[r - 1];
      if (cls === undefined) throw this.bad(`reference to class ${r - 1}, which does not exist`);
    }
    const body = this.u8[this.pos++];
    switch (body) {
      case ClassBody.Fields: {
        const o = Object.create(cls.proto) as object;
        this.ref(o);
        this.readRecordInto(o);
        return o;
      }
      case ClassBody.Error: {
        const base = this.errorBase();
        return this.readErrorBody(makeError(base, cls.ctor));
      }
      case ClassBody.Custom: {
        const decode = cls.decode;
        if (decode === undefined) {
          throw new DecodeError(`class ${cls.name} was sent through its own encode, but has no decode on this process: register it with the same encode/decode on every process`);
        }
        const slot = this.reserve();
        const data = this.read();
        const v = this.hook(() => decode(data));
        this.refs[slot] = v;
        return v;
      }
      default:
        throw this.bad('bad class body');
    }
  }
}

const EMPTY_U8 = new Uint8Array(0);
const EMPTY_DV = new DataView(new ArrayBuffer(0));
/** Buffers up to this size (a connection's staging memory) keep their DataView between messages. */
const KEEP_VIEW_BYTES = 4 << 20;
/** A refs table up to this length is kept for the next message. */
const KEEP_REFS = 1024;
