/**
 * SharedArray element types (SPEC §2): Julia's names, the typed array each is stored in, and what a
 * value must be to be stored without loss.
 */

/** Element type names of a SharedArray (Julia's). `Int64`/`UInt64` hold BigInts. */
export type ElementType = 'Float64' | 'Float32' | 'Int8' | 'Int16' | 'Int32' | 'UInt8' | 'UInt16' | 'UInt32' | 'Int64' | 'UInt64';

/** The typed array behind each element type. */
export interface TypedArrayOf {
  Float64: Float64Array;
  Float32: Float32Array;
  Int8: Int8Array;
  Int16: Int16Array;
  Int32: Int32Array;
  UInt8: Uint8Array;
  UInt16: Uint16Array;
  UInt32: Uint32Array;
  Int64: BigInt64Array;
  UInt64: BigUint64Array;
}

/** What one element reads as: a number, or a bigint for `Int64`/`UInt64`. */
export type ElementOf<T extends ElementType> = T extends 'Int64' | 'UInt64' ? bigint : number;

/** Any typed array a SharedArray may hold. */
export type AnyTypedArray = TypedArrayOf[ElementType];

/** How one element type is stored and checked. */
export interface ElementInfo {
  readonly name: ElementType;
  readonly ctor: { new (buffer: ArrayBuffer): AnyTypedArray; readonly BYTES_PER_ELEMENT: number };
  readonly bytes: number;
  /** 'float': any number; 'int': an integer in [min, max]; 'bigint': a bigint in [min, max]. */
  readonly kind: 'float' | 'int' | 'bigint';
  readonly min: number | bigint;
  readonly max: number | bigint;
}

const info = (name: ElementType, ctor: ElementInfo['ctor'], kind: ElementInfo['kind'], min: number | bigint, max: number | bigint): ElementInfo => ({
  name,
  ctor,
  bytes: ctor.BYTES_PER_ELEMENT,
  kind,
  min,
  max,
});

const TYPES: ReadonlyMap<string, ElementInfo> = new Map<string, ElementInfo>([
  ['Float64', info('Float64', Float64Array, 'float', -Infinity, Infinity)],
  ['Float32', info('Float32', Float32Array, 'float', -Infinity, Infinity)],
  ['Int8', info('Int8', Int8Array, 'int', -128, 127)],
  ['Int16', info('Int16', Int16Array, 'int', -32768, 32767)],
  ['Int32', info('Int32', Int32Array, 'int', -(2 ** 31), 2 ** 31 - 1)],
  ['UInt8', info('UInt8', Uint8Array, 'int', 0, 255)],
  ['UInt16', info('UInt16', Uint16Array, 'int', 0, 65535)],
  ['UInt32', info('UInt32', Uint32Array, 'int', 0, 2 ** 32 - 1)],
  ['Int64', info('Int64', BigInt64Array, 'bigint', -(2n ** 63n), 2n ** 63n - 1n)],
  ['UInt64', info('UInt64', BigUint64Array, 'bigint', 0n, 2n ** 64n - 1n)],
]);

/** The element type a typed array of class `A` holds (`Float64Array` → 'Float64', `BigInt64Array` → 'Int64', …). */
export type ElementTypeOf<A extends AnyTypedArray> = { [K in ElementType]: A extends TypedArrayOf[K] ? K : never }[ElementType];

/** The element type of typed array `a` by its class, or undefined (not a typed array, or one no element type has). */
export function elementTypeOfArray(a: unknown): ElementInfo | undefined {
  if (!ArrayBuffer.isView(a) || a instanceof DataView) return undefined;
  const tag = (a as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
  for (const t of TYPES.values()) if (t.ctor.name === tag) return t;
  return undefined;
}

/** The element type named `type`; a TypeError listing the names otherwise. */
export function elementInfo(type: unknown, fn: string): ElementInfo {
  const t = typeof type === 'string' ? TYPES.get(type) : undefined;
  if (t === undefined) {
    const got = typeof type === 'string' ? `'${type}'` : type === null ? 'null' : typeof type;
    throw new TypeError(`${fn}: the element type must be one of ${[...TYPES.keys()].map((k) => `'${k}'`).join(', ')} (got ${got})`);
  }
  return t;
}

/** Why `v` cannot be stored as an element of type `t`, or '' when it can. */
export function badValue(t: ElementInfo, v: unknown): string {
  if (t.kind === 'bigint') {
    if (typeof v !== 'bigint') return `a ${t.name} SharedArray holds BigInts (got ${describe(v)}; write ${typeof v === 'number' ? `${v}n or BigInt(x)` : 'a bigint'})`;
    if (v < (t.min as bigint) || v > (t.max as bigint)) return `${v} does not fit in ${t.name} (${t.min}…${t.max})`;
    return '';
  }
  if (typeof v !== 'number') return `a ${t.name} SharedArray holds numbers (got ${describe(v)})`;
  if (t.kind === 'int') {
    if (!Number.isInteger(v)) return `${v} is not an integer, so it cannot be stored in ${t.name} exactly`;
    if (v < (t.min as number) || v > (t.max as number)) return `${v} does not fit in ${t.name} (${t.min}…${t.max})`;
  }
  return '';
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 20 ? v.slice(0, 20) + '…' : v)}`;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  return typeof v;
}
