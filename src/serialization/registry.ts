/**
 * The type registry: which host types, classes and functions travel specially, and the per-prototype
 * classification the encoder caches (what kind of value an object with a given prototype is).
 */
import * as util from 'node:util';
import { ViewKind } from './tags';

/**
 * What an extension or function hook writes with. Values written with `value` keep identity with the
 * rest of the message; `string`, `number` and `uint` write compact scalars. The reader must read back
 * exactly what was written, in order.
 */
export interface ValueWriter {
  /** Writes any sendable value; `pathSuffix` (`.where`, `[0]`) names it in error messages. */
  value(v: unknown, pathSuffix?: string): void;
  /** Writes a string. */
  string(s: string): void;
  /** Writes a number (any float64, bit-exact for NaN payload aside). */
  number(n: number): void;
  /** Writes a non-negative safe integer as a varint. */
  uint(n: number): void;
}

/** What an extension or function hook reads with: the counterpart of {@link ValueWriter}. */
export interface ValueReader {
  /** Reads a value written with `ValueWriter.value`. */
  value(): unknown;
  /** Reads a string written with `ValueWriter.string`. */
  string(): string;
  /** Reads a number written with `ValueWriter.number`. */
  number(): number;
  /** Reads an integer written with `ValueWriter.uint`. */
  uint(): number;
}

/**
 * A host type that travels in its own way (Future, RemoteChannel, SharedArray, …). Instances of `ctor`
 * (the class itself or a subclass) are written by `encode` and rebuilt by `decode`. `tag` is a small
 * non-negative integer, the same on every process. `context` is what the caller passed to
 * `encode`/`decode` (per-connection state). Errors thrown by `encode` fail the send as an
 * `EncodeError` naming the value's path; errors thrown by `decode` reach the caller of `decode` unchanged.
 */
export interface Extension<T> {
  tag: number;
  // eslint-disable-next-line @typescript-eslint/ban-types
  ctor: Function;
  encode(v: T, w: ValueWriter, context: unknown): void;
  decode(r: ValueReader, context: unknown): T;
}

/**
 * How JavaScript functions travel (the runtime decides: by global name, by built-in path, as source).
 * `encode` throws to refuse a function: its message says why (`a native function (foo) that is not
 * reachable by a global path`), and the encoder reports it as `cannot send <path>: <message>`.
 */
export interface FunctionCodec {
  // eslint-disable-next-line @typescript-eslint/ban-types
  encode(fn: Function, w: ValueWriter, context: unknown): void;
  // eslint-disable-next-line @typescript-eslint/ban-types
  decode(r: ValueReader, context: unknown): Function;
}

/** Options of {@link TypeRegistry.registerClass}. */
export interface ClassOptions {
  /** The name the class travels under (default: the class's name). The same on every process. */
  name?: string;
  /** Turns an instance into a sendable value (default: the instance's own enumerable fields). */
  encode?: (v: object) => unknown;
  /** Rebuilds an instance from what `encode` returned. Required with `encode`. */
  decode?: (data: unknown) => object;
}

/** Internal: a registered class. */
export interface ClassInfo {
  readonly name: string;
  // eslint-disable-next-line @typescript-eslint/ban-types
  readonly ctor: Function;
  readonly proto: object;
  readonly encode: ((v: object) => unknown) | undefined;
  readonly decode: ((data: unknown) => object) | undefined;
  /** Index into ERROR_BASES of the nearest built-in error class, or -1 when the class is not an Error. */
  readonly errorBase: number;
}

/** Built-in error classes rebuilt as themselves, by index (the index travels). */
export const ERROR_BASES: readonly ErrorConstructor[] = [
  Error,
  EvalError,
  RangeError,
  ReferenceError,
  SyntaxError,
  TypeError,
  URIError,
  AggregateError as unknown as ErrorConstructor,
];
export const AGGREGATE_BASE = 7;
const ERROR_BASE_OF = new Map<object, number>(ERROR_BASES.map((c, i) => [c.prototype, i]));
const ERROR_NAMES = new Map<string, number>(ERROR_BASES.map((c, i) => [c.name, i]));

/** Kinds of objects, as the encoder dispatches on them. */
export const enum Kind {
  Plain,
  Array,
  NullProto,
  Map,
  Set,
  Date,
  RegExp,
  ArrayBuffer,
  View,
  Error,
  Class,
  Extension,
  Unsendable,
}

/** Internal: what objects with one prototype are. */
export class ProtoKind {
  constructor(
    readonly code: Kind,
    readonly view: ViewKind = ViewKind.DataView,
    readonly errorBase = 0,
    readonly cls: ClassInfo | null = null,
    readonly ext: Extension<object> | null = null,
    readonly reason = '',
  ) {}
}

type AnyCtor = { prototype: object; name: string };
const TypedArrayProto = Object.getPrototypeOf(Int8Array.prototype) as object;

/** Typed array constructors by ViewKind (DataView and Buffer have their own handling). */
export const VIEW_CTORS: readonly (AnyCtor & { BYTES_PER_ELEMENT?: number })[] = [
  DataView,
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  Buffer,
];
/** Bytes per element, by ViewKind. */
export const VIEW_BYTES: readonly number[] = [1, 1, 1, 1, 2, 2, 4, 4, 4, 8, 8, 8, 1];
const VIEW_BY_TAG = new Map<string, ViewKind>(VIEW_CTORS.slice(1, 12).map((c, i) => [c.name, (i + 1) as ViewKind]));

const BUILTIN_KINDS = new Map<object, ProtoKind>([
  [Object.prototype, new ProtoKind(Kind.Plain)],
  [Array.prototype, new ProtoKind(Kind.Array)],
  [Map.prototype, new ProtoKind(Kind.Map)],
  [Set.prototype, new ProtoKind(Kind.Set)],
  [Date.prototype, new ProtoKind(Kind.Date)],
  [RegExp.prototype, new ProtoKind(Kind.RegExp)],
  [ArrayBuffer.prototype, new ProtoKind(Kind.ArrayBuffer)],
  ...VIEW_CTORS.map((c, i) => [c.prototype, new ProtoKind(Kind.View, i as ViewKind)] as [object, ProtoKind]),
]);

/** Prototypes a registered class may not extend without its own encode/decode (their state is internal). */
const OPAQUE_PROTOS = new Set<object>([
  Array.prototype,
  Map.prototype,
  Set.prototype,
  Date.prototype,
  RegExp.prototype,
  ArrayBuffer.prototype,
  DataView.prototype,
  TypedArrayProto,
  Promise.prototype,
  WeakMap.prototype,
  WeakSet.prototype,
  Function.prototype,
]);

function isNativeFunction(f: unknown): boolean {
  try {
    return typeof f === 'function' && /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(f));
  } catch {
    return false;
  }
}

/** The name of the class whose prototype `p` is (its own `constructor`), or ''. */
function ctorName(p: object): string {
  try {
    if (!Object.prototype.hasOwnProperty.call(p, 'constructor')) return '';
    const c = (p as { constructor?: unknown }).constructor;
    if (typeof c === 'function' && typeof c.name === 'string' && c.name !== '') return c.name;
  } catch {
    /* a throwing getter: no name */
  }
  return '';
}

/** `a Socket`, `an Error`. */
export function article(name: string): string {
  return /^[AEIOU]/i.test(name) ? `an ${name}` : `a ${name}`;
}

/** The nearest built-in error base of an error prototype chain (by identity, or by name across realms). */
function errorBaseOf(p: object | null): number {
  for (let q = p; q !== null; q = Object.getPrototypeOf(q) as object | null) {
    const b = ERROR_BASE_OF.get(q);
    if (b !== undefined) return b;
  }
  for (let q = p; q !== null; q = Object.getPrototypeOf(q) as object | null) {
    const c = (q as { constructor?: unknown }).constructor;
    if (Object.prototype.hasOwnProperty.call(q, 'constructor') && isNativeFunction(c)) {
      const b = ERROR_NAMES.get((c as { name: string }).name);
      if (b !== undefined) return b;
    }
  }
  return 0;
}

function isErrorProto(p: object): boolean {
  for (let q: object | null = p; q !== null; q = Object.getPrototypeOf(q) as object | null) {
    if (q === Error.prototype) return true;
  }
  return false;
}

/**
 *     TypeRegistry()
 *
 * Which values travel specially: the function codec ({@link TypeRegistry.setFunctionCodec}), host
 * types ({@link TypeRegistry.registerExtension}) and registered classes
 * ({@link TypeRegistry.registerClass}). Every process registers the same things; an encoder and a
 * decoder share one registry.
 *
 * ```ts
 * const registry = new TypeRegistry();
 * registry.registerClass(Point);
 * const { inline, segments } = new Encoder(registry).encode(new Point(1, 2));
 * ```
 */
export class TypeRegistry {
  /** @internal */ fn: FunctionCodec | null = null;
  /** @internal */ readonly classByProto = new Map<object, ClassInfo>();
  /** @internal */ readonly classByName = new Map<string, ClassInfo>();
  /** @internal */ readonly extByTag = new Map<number, Extension<object>>();
  /** @internal */ readonly extByProto = new Map<object, Extension<object>>();
  /** @internal per-prototype classification cache, dropped on every registration */
  kinds = new WeakMap<object, ProtoKind>();

  /**
   *     registry.setFunctionCodec(codec)
   *
   * Installs the hook that writes and reads JavaScript functions (`null` removes it: functions then
   * cannot be sent).
   */
  setFunctionCodec(codec: FunctionCodec | null): void {
    this.fn = codec;
  }

  /**
   *     registry.registerExtension({ tag, ctor, encode, decode })
   *
   * Makes instances of `ctor` (the class or a subclass) travel through `encode`/`decode`. `tag` is a
   * non-negative integer unique among extensions, the same on every process. Registering the same
   * `ctor` again replaces its hooks; a tag taken by another class is an error.
   */
  registerExtension<T extends object>(ext: Extension<T>): void {
    if (!Number.isSafeInteger(ext.tag) || ext.tag < 0) throw new TypeError(`registerExtension: tag must be a non-negative integer, got ${ext.tag}`);
    if (typeof ext.ctor !== 'function' || ext.ctor.prototype === null || typeof ext.ctor.prototype !== 'object') {
      throw new TypeError('registerExtension: ctor must be a class');
    }
    const old = this.extByTag.get(ext.tag);
    if (old !== undefined && old.ctor !== ext.ctor) {
      throw new TypeError(`registerExtension: tag ${ext.tag} is already used by ${old.ctor.name || 'another class'}`);
    }
    const e = ext as unknown as Extension<object>;
    this.extByTag.set(ext.tag, e);
    this.extByProto.set(ext.ctor.prototype as object, e);
    this.kinds = new WeakMap();
  }

  /**
   *     registry.registerClass(ctor, { name?, encode?, decode? })
   *
   * Makes instances of exactly `ctor` travel as (name, own enumerable fields) and arrive with `ctor`'s
   * prototype (no constructor runs on the receiver), or through the class's own `encode`/`decode` (Julia's
   * custom serialize/deserialize). An Error subclass travels with its message, stack, cause and fields.
   * The receiver must have registered a class under the same `name` (default `ctor.name`); registering a
   * name again makes the newest class the one that is rebuilt. A class extending Map, Set, Array, a typed
   * array, … keeps state fields cannot see, so it needs `encode` and `decode`.
   */
  registerClass(ctor: new (...a: never[]) => object, options: ClassOptions = {}): void {
    if (typeof ctor !== 'function' || ctor.prototype === null || typeof ctor.prototype !== 'object') {
      throw new TypeError('registerClass: the first argument must be a class');
    }
    const name = options.name ?? ctor.name;
    if (typeof name !== 'string' || name === '') throw new TypeError('registerClass: the class has no name; pass { name }');
    const { encode, decode } = options;
    if ((encode === undefined) !== (decode === undefined)) {
      throw new TypeError(`registerClass(${name}): give both encode and decode, or neither`);
    }
    const proto = ctor.prototype as object;
    if (encode === undefined) {
      for (let q = Object.getPrototypeOf(proto) as object | null; q !== null; q = Object.getPrototypeOf(q) as object | null) {
        if (OPAQUE_PROTOS.has(q)) {
          throw new TypeError(`registerClass(${name}): it extends ${ctorName(q) || 'a built-in'}, whose contents are not fields; give it encode and decode`);
        }
      }
    }
    const info: ClassInfo = {
      name,
      ctor,
      proto,
      encode,
      decode,
      errorBase: isErrorProto(proto) ? errorBaseOf(proto) : -1,
    };
    this.classByProto.set(proto, info);
    this.classByName.set(name, info);
    this.kinds = new WeakMap();
  }

  /** @internal What objects with prototype `p` are (`o` is one of them). Cached. */
  classify(o: object, p: object): ProtoKind {
    const k = this.classifyUncached(o, p);
    this.kinds.set(p, k);
    return k;
  }

  private classifyUncached(o: object, p: object): ProtoKind {
    const cls = this.classByProto.get(p);
    if (cls !== undefined) return new ProtoKind(Kind.Class, ViewKind.DataView, 0, cls);
    if (this.extByProto.size !== 0) {
      for (let q: object | null = p; q !== null; q = Object.getPrototypeOf(q) as object | null) {
        const ext = this.extByProto.get(q);
        if (ext !== undefined) return new ProtoKind(Kind.Extension, ViewKind.DataView, 0, null, ext);
      }
    }
    const builtin = BUILTIN_KINDS.get(p);
    if (builtin !== undefined) return builtin;
    if (ERROR_BASE_OF.has(p) || isErrorProto(p) || util.types.isNativeError(o)) {
      return new ProtoKind(Kind.Error, ViewKind.DataView, errorBaseOf(p));
    }
    // Built-ins of another realm (a vm context, jest's sandbox): the same kinds, recognised by their slots.
    const name = ctorName(p);
    const ownNative = Object.prototype.hasOwnProperty.call(p, 'constructor') && isNativeFunction((p as { constructor: unknown }).constructor);
    if (ownNative || Buffer.isBuffer(o)) {
      if (Buffer.isBuffer(o)) return new ProtoKind(Kind.View, ViewKind.Buffer);
      if (name === 'Object' && Object.getPrototypeOf(p) === null) return new ProtoKind(Kind.Plain);
      if (name === 'Array' && Array.isArray(o)) return new ProtoKind(Kind.Array);
      if (name === 'Map' && util.types.isMap(o)) return new ProtoKind(Kind.Map);
      if (name === 'Set' && util.types.isSet(o)) return new ProtoKind(Kind.Set);
      if (name === 'Date' && util.types.isDate(o)) return new ProtoKind(Kind.Date);
      if (name === 'RegExp' && util.types.isRegExp(o)) return new ProtoKind(Kind.RegExp);
      if (name === 'ArrayBuffer' && util.types.isArrayBuffer(o)) return new ProtoKind(Kind.ArrayBuffer);
      if (name === 'DataView' && util.types.isDataView(o)) return new ProtoKind(Kind.View, ViewKind.DataView);
      const vk = VIEW_BY_TAG.get(name);
      if (vk !== undefined && util.types.isTypedArray(o)) return new ProtoKind(Kind.View, vk);
    }
    return new ProtoKind(Kind.Unsendable, ViewKind.DataView, 0, null, null, describeUnsendable(o, p, name, ownNative));
  }
}

/** Why an object of an unsupported kind cannot be sent. */
function describeUnsendable(o: object, p: object, name: string, nativeCtor: boolean): string {
  const t = util.types;
  if (t.isPromise(o)) return 'a Promise (await it and send its value)';
  if (t.isWeakMap(o) || t.isWeakSet(o)) return `${article(name || 'weak collection')} (weak collections cannot be sent)`;
  if (t.isGeneratorObject(o)) return 'a generator object (iterators cannot be sent; send an array of its values)';
  if (t.isSharedArrayBuffer(o)) return 'a SharedArrayBuffer (send a SharedArray, or a typed array over it to send a copy)';
  if (t.isBoxedPrimitive(o)) return `${article(name || 'boxed primitive')} object (send the primitive value instead)`;
  if (t.isProxy(o)) return 'a Proxy of an object that cannot be sent';
  if (name === '') return 'an object with a custom prototype (send a plain object, or register its class with registerType on every process)';
  if (nativeCtor) return `${article(name)} (this built-in type cannot be sent)`;
  return `${article(name)} (an instance of a class that is not registered: call registerType(${name}) on every process)`;
}
