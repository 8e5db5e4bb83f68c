/**
 * `SharedArray`: one array mapped into every participating local process (Julia's SharedArrays). The
 * memory is a POSIX shared-memory segment (unlinked as soon as every participant has mapped it, so
 * nothing outlives the processes, even killed ones) or a mapped file. Column-major, 0-based.
 */
import { constants as bufferConstants } from 'node:buffer';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import * as util from 'node:util';
import { PGRP, PROCS_OF, myid, procs } from '../cluster/process-group';
import { CompositeException } from '../errors';
import { remotecall_fetch } from '../remote/remotecall';
import { asTask, internally } from '../parallel/sync-scope';
import { badValue, elementInfo, elementTypeOfArray, type AnyTypedArray, type ElementInfo, type ElementOf, type ElementType, type ElementTypeOf, type TypedArrayOf } from './element-types';
import { filePrepare, shmCreate, shmUnlink, type FileMode } from './native-shm';
import { mapHere, mapSegment, releaseElsewhere } from './segment-remote';
import { releaseSegment, type Segment, type SegmentInfo } from './segment-table';
import { sweepStaleSegments } from './stale-segments';

/** Options of {@link SharedArray.create}. */
export interface SharedArrayOptions<T extends ElementType> {
  /**
   * Runs on every participant (`procs(S)`) in parallel once all have mapped the array, typically
   * filling its `localindices(S)`; `create` resolves when all have finished. May be async.
   */
  init?: (S: SharedArray<T>) => unknown;
  /**
   * The participating processes, all on this host (default: every local worker, or this process when
   * there are none). The creating process maps the array too, participating or not.
   */
  pids?: readonly number[];
}

/** Options of {@link SharedArray.fromFile}. */
export interface FromFileOptions<T extends ElementType> extends SharedArrayOptions<T> {
  /** 'r' read-only, 'r+' read/write an existing file, 'w+' create or truncate, 'a+' create if missing (default: 'r+' if the file exists, else 'w+'). */
  mode?: FileMode;
  /** Byte offset of the array in the file (default 0). */
  offset?: number;
}

/** Options of {@link SharedArray.from}. */
export interface FromArrayOptions {
  /** The shape (default: one dimension of the source's length); its product must be the source's length. */
  dims?: number | readonly number[];
  /** The participating processes, as for {@link SharedArray.create}. */
  pids?: readonly number[];
}

const CONSTRUCT = Symbol('SharedArray.construct');
const FILE_MODES: readonly string[] = ['r', 'r+', 'w+', 'a+'];

/**
 *     await SharedArray.create(type, dims, { init?, pids? })
 *
 * An array of `type` (`'Float64'`, `'Int32'`, `'Int64'` (BigInt), …) and shape `dims`, stored
 * column-major (first index fastest) in shared memory that every participating process maps: a
 * write by one is seen by all. `S.get(i, j)`, `S.set(i, j, v)` index it from 0 (one index is a linear
 * index); `sdata(S)` is the typed array itself, for the fastest loops. Sent to a participant, it
 * arrives as the same memory.
 *
 * ```ts
 * await addprocs(2);
 * const S = await SharedArray.create('Int32', [3, 4], {
 *   init: (S) => { const [a, b] = localindices(S); for (let k = a; k < b; k++) S.set(k, myid()); },
 * });
 * S.get(2, 1) // 2: column 1 is in worker 2's share
 * ```
 */
export class SharedArray<T extends ElementType = ElementType> {
  // Fields are `declare`d and set once in the constructor (not class-field definitions, which would
  // define each as undefined first and make V8 treat them as mutable, tagged fields: slower accessors).

  /** @internal the mapping this array views */
  declare readonly seg: Segment;
  /** @internal the typed array over the whole segment */
  declare readonly data: TypedArrayOf[T];
  /** @internal Bounds of the first three dimensions for the specialised accessors (1 beyond the array's own). */
  declare readonly lim0: number;
  /** @internal */ declare readonly lim1: number;
  /** @internal */ declare readonly lim2: number;
  /** The element type name. */
  declare readonly type: T;
  /** The size of each dimension. */
  declare readonly dims: readonly number[];
  /** The number of elements. */
  declare readonly length: number;
  /** The participating processes (what `procs(S)` returns). */
  declare readonly pids: readonly number[];
  /** The segment's name: the shared-memory name (already unlinked) or the mapped file's path. */
  declare readonly segname: string;

  /** @internal use SharedArray.create or SharedArray.fromFile */
  protected constructor(token: symbol, seg: Segment) {
    if (token !== CONSTRUCT) throw new TypeError('SharedArray: construct it with `await SharedArray.create(type, dims, options)` or `await SharedArray.fromFile(path, type, dims, options)`');
    const info = seg.info;
    this.seg = seg;
    this.data = seg.data as TypedArrayOf[T];
    const dims = info.dims;
    this.lim0 = dims.length > 0 ? dims[0] : 1;
    this.lim1 = dims.length > 1 ? dims[1] : 1;
    this.lim2 = dims.length > 2 ? dims[2] : 1;
    this.type = info.type as T;
    this.dims = info.dims;
    // A product of the dims, not byteLength / bytes: a division would make the field a double, and loops bounded by it slower.
    this.length = info.dims.reduce((a, b) => a * b, 1);
    this.pids = info.pids;
    this.segname = info.name;
  }

  /**
   *     await SharedArray.create(type, dims, { init?, pids? })
   *
   * Creates a shared array of `type` with dimensions `dims` (a number, or one per dimension) mapped on
   * every process of `pids` (default: the local workers) and on this one, zero-filled, then runs `init`
   * on every participant in parallel. The segment's space is reserved now: a `/dev/shm` too small is an
   * error here (`code: 'ENOSPC'`, with `needed` and `available` bytes), never a crash later. The segment
   * is unlinked as soon as all have mapped it, so it disappears with the last process using it. Inside
   * `sync`, the creation is one task.
   *
   * ```ts
   * const S = await SharedArray.create('Float64', [100, 100]);
   * S.set(3, 4, 1.5); S.get(3, 4) // 1.5
   * ```
   */
  static create<T extends ElementType>(type: T, dims: number | readonly number[], options: SharedArrayOptions<T> = {}): Promise<SharedArray<T>> {
    return asTask(() => SharedArray.#create(type, dims, options));
  }

  static async #create<T extends ElementType>(type: T, dims: number | readonly number[], options: SharedArrayOptions<T>): Promise<SharedArray<T>> {
    const fn = 'SharedArray.create';
    const el = elementInfo(type, fn);
    const shape = checkDims(dims, fn);
    const opts = checkOptions(options, fn, ['init', 'pids']) as SharedArrayOptions<T>;
    const pids = resolvePids(opts.pids, fn);
    const init = checkInit(opts.init, fn);
    const byteLength = shape.reduce((a, b) => a * b, 1) * el.bytes;
    checkSize(byteLength, fn, true);
    const empty = byteLength === 0;
    const key = empty ? `empty:${process.pid}:${randomHex(8)}` : `/dts-${process.pid}-${randomHex(8)}`;
    const info: SegmentInfo = freeze({
      key,
      source: empty ? 'empty' : 'shm',
      name: empty ? '' : key,
      offset: 0,
      byteLength,
      writable: true,
      type,
      dims: shape,
      pids,
      creator: myid(),
    });
    if (!empty) {
      sweepOnce();
      await shmCreate(key, byteLength);
    }
    const seg = await establish(info, fn, empty ? undefined : () => shmUnlink(key));
    const S = arrayOver<T>(seg);
    if (init !== undefined) await runInit(S, init, fn);
    return S;
  }

  /**
   *     await SharedArray.from(A, { dims?, pids? })
   *
   * A new shared array holding a copy of the typed array `A` (Julia's `SharedArray(A)`, `convert(SharedArray,
   * A)`): its element type is A's (`Float64Array` → 'Float64', `BigInt64Array` → 'Int64', …), its shape
   * `dims` (default: one dimension of A's length; A's elements fill it column-major), mapped on `pids`
   * as for `create`. A's elements are copied once the array is mapped everywhere, before `from`
   * resolves; A itself stays private (later writes to it are not seen in the copy). Inside `sync`, the
   * creation is one task.
   *
   * ```ts
   * const S = await SharedArray.from(Float64Array.of(1, 2, 3, 4, 5, 6), { dims: [2, 3] });
   * S.get(1, 2) // 6
   * ```
   */
  static from<A extends AnyTypedArray>(source: A, options: FromArrayOptions = {}): Promise<SharedArray<ElementTypeOf<A>>> {
    return asTask(() => SharedArray.#from(source, options));
  }

  static async #from<A extends AnyTypedArray>(source: A, options: FromArrayOptions): Promise<SharedArray<ElementTypeOf<A>>> {
    const fn = 'SharedArray.from';
    const el = elementTypeOfArray(source);
    if (el === undefined) {
      const what = ArrayBuffer.isView(source)
        ? `a ${(source as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] ?? 'DataView'}`
        : (source as unknown) instanceof SharedArray
          ? 'a SharedArray (pass sdata(S) to copy one)'
          : source === null
            ? 'null'
            : Array.isArray(source)
              ? 'an Array'
              : typeof source;
      throw new TypeError(`${fn}: the source must be a typed array of an element type (Float64Array, Float32Array, Int8Array … Uint32Array, BigInt64Array, BigUint64Array); got ${what}`);
    }
    const opts = checkOptions(options, fn, ['dims', 'pids']) as FromArrayOptions;
    const dims = checkDims(opts.dims ?? source.length, fn);
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== source.length) throw new RangeError(`${fn}: dims ${dims.join('×')} hold ${count} elements, but the source has ${source.length}`);
    const S = await SharedArray.#create(el.name as ElementTypeOf<A>, dims, opts.pids === undefined ? {} : { pids: opts.pids });
    // Copied once the segment exists (no second copy of a large source meanwhile), before `from` resolves.
    (S.data as AnyTypedArray).set(source as never);
    return S;
  }

  /**
   *     await SharedArray.fromFile(path, type, dims, { mode?, offset?, pids?, init? })
   *
   * A shared array backed by bytes `[offset, offset + size)` of the file at `path`, mapped on every
   * participant: writes are seen by all and persist in the file. `mode` is Julia's: 'r' read-only,
   * 'r+' read/write an existing file, 'w+' create or truncate, 'a+' create if missing (default 'r+'
   * when the file exists, else 'w+'); writable modes grow a short file with its blocks reserved. Inside
   * `sync`, the creation is one task.
   *
   * ```ts
   * const S = await SharedArray.fromFile('/tmp/grid.bin', 'Float64', [10, 10], { mode: 'w+' });
   * S.set(0, 0, 1); // now in the file's first 8 bytes
   * ```
   */
  static fromFile<T extends ElementType>(path: string, type: T, dims: number | readonly number[], options: FromFileOptions<T> = {}): Promise<SharedArray<T>> {
    return asTask(() => SharedArray.#fromFile(path, type, dims, options));
  }

  static async #fromFile<T extends ElementType>(path: string, type: T, dims: number | readonly number[], options: FromFileOptions<T>): Promise<SharedArray<T>> {
    const fn = 'SharedArray.fromFile';
    if (typeof path !== 'string' || path === '') throw new TypeError(`${fn}: path must be a non-empty string (got ${path === '' ? 'an empty string' : typeof path})`);
    const el = elementInfo(type, fn);
    const shape = checkDims(dims, fn);
    const opts = checkOptions(options, fn, ['init', 'pids', 'mode', 'offset']) as FromFileOptions<T>;
    const abs = nodePath.resolve(path);
    const mode = opts.mode ?? (fs.existsSync(abs) ? 'r+' : 'w+');
    if (typeof mode !== 'string' || !FILE_MODES.includes(mode)) {
      throw new RangeError(`${fn}: mode must be 'r', 'r+', 'w+' or 'a+' (got ${typeof mode === 'string' ? `'${mode}'` : typeof mode})`);
    }
    const offset = opts.offset ?? 0;
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
      throw new RangeError(`${fn}: offset must be a non-negative integer (got ${String(offset)})`);
    }
    const pids = resolvePids(opts.pids, fn);
    const init = checkInit(opts.init, fn);
    if (init !== undefined && mode === 'r') throw new TypeError(`${fn}: init cannot write to a file opened with mode 'r'`);
    const byteLength = shape.reduce((a, b) => a * b, 1) * el.bytes;
    checkSize(byteLength, fn, false);
    const empty = byteLength === 0;
    const info: SegmentInfo = freeze({
      key: `${empty ? 'empty' : 'file'}:${process.pid}:${randomHex(8)}`,
      source: empty ? 'empty' : 'file',
      name: abs,
      offset,
      byteLength,
      writable: mode !== 'r',
      type,
      dims: shape,
      pids,
      creator: myid(),
    });
    if (!empty) await filePrepare(abs, mode as FileMode, offset, byteLength);
    const seg = await establish(info, fn, undefined);
    const S = arrayOver<T>(seg);
    if (init !== undefined) await runInit(S, init, fn);
    return S;
  }

  /**
   *     S.get(i, j, …)   S.get(k)
   *
   * The element at 0-based indices `(i, j, …)` (one per dimension), or at linear index `k`
   * (column-major). Out of range: a RangeError (BoundsError) naming the indices.
   *
   * ```ts
   * const S = await SharedArray.create('Float64', [2, 3]); S.get(1, 2) === S.get(5) // true
   * ```
   */
  get(...idx: number[]): ElementOf<T> {
    return this.getGeneral(idx);
  }

  /**
   *     S.set(i, j, …, v)   S.set(k, v)
   *
   * Stores `v` at 0-based indices `(i, j, …)` or at linear index `k`. `v` must fit the element type
   * exactly (a number; a bigint for Int64/UInt64; an integer in range for integer types).
   *
   * ```ts
   * S.set(1, 2, 7.5); S.get(1, 2) // 7.5
   * ```
   */
  set(...args: Array<number | ElementOf<T>>): void {
    this.setGeneral(args);
  }

  /**
   * Unmaps the array now on every process that maps it; later use fails clearly. The free function
   * `finalize(S)` does the same.
   *
   * ```ts
   * S.finalize(); S.get(0) // Error: this SharedArray was finalized
   * ```
   */
  finalize(): void {
    finalizeSharedArray(this);
  }

  /**
   *     S.fill(v)
   *
   * Sets every element to `v` (Julia's `fill!`); returns `S`.
   *
   * ```ts
   * (await SharedArray.create('Int32', 4)).fill(7).get(3) // 7
   * ```
   */
  fill(v: ElementOf<T>): this {
    this.checkWritable('fill');
    const why = badValue(this.seg.element, v);
    if (why !== '') throw valueError('fill', why, v, this.seg.element);
    (this.data as unknown as { fill(x: unknown): void }).fill(v);
    return this;
  }

  /**
   * Iterates over the elements in linear (column-major) order.
   *
   * ```ts
   * Array.from(await SharedArray.create('Int8', 3)) // [0, 0, 0]
   * ```
   */
  *[Symbol.iterator](): IterableIterator<ElementOf<T>> {
    this.checkAlive('iterate');
    yield* this.data as unknown as Iterable<ElementOf<T>>;
  }

  /** How `console.log(S)` shows it: `SharedArray{Float64}(3×4) on [2, 3] Float64Array(12) [ … ]`. */
  [util.inspect.custom](depth: number, options: util.InspectOptionsStylized): string {
    const head = `SharedArray{${this.type}}(${this.dims.join('×')}) on [${this.pids.join(', ')}]`;
    if (!this.seg.alive) return `${head} (finalized)`;
    return `${head} ${util.inspect(this.data, { ...options, depth })}`;
  }

  /**
   * @internal The memory is gone here: this object falls back to the general accessors, which say so.
   * (Switching its prototype leaves the fields of the specialised classes untouched, so V8 keeps them
   * constant for every other SharedArray.)
   */
  invalidate(): void {
    Object.setPrototypeOf(this, SharedArray.prototype);
  }

  /** @internal procs(S) */
  [PROCS_OF](): number[] {
    return [...this.pids];
  }

  /** @internal `get` for any arguments (the specialised accessors' slow path): the element, or the error. */
  getGeneral(idx: ArrayLike<unknown>): ElementOf<T> {
    return this.data[this.linearIndex('get', Array.prototype.slice.call(idx) as number[])] as ElementOf<T>;
  }

  /** @internal `set` for any arguments (the specialised accessors' slow path). */
  setGeneral(args: ArrayLike<unknown>): void {
    const all = Array.prototype.slice.call(args) as unknown[];
    if (all.length < 2) throw new TypeError(`S.set: give the indices then the value (S.set(${this.dims.map((_, d) => 'ijklmn'[d] ?? `i${d}`).join(', ')}, v)), got ${all.length} argument(s)`);
    const v = all.pop();
    this.put(this.linearIndex('set', all as number[]), v);
  }

  /** @internal stores v at linear index k, checked (the float subclasses store plain numbers directly). */
  put(k: number, v: unknown): void {
    this.storeChecked(k, v);
  }

  /** @internal */
  storeChecked(k: number, v: unknown): void {
    this.checkWritable('set');
    const why = badValue(this.seg.element, v);
    if (why !== '') throw valueError('set', why, v, this.seg.element);
    (this.data as unknown as Record<number, unknown>)[k] = v;
  }

  /** @internal throws when this array cannot be written. */
  checkWritable(fn: string): void {
    this.checkAlive(fn);
    if (!this.seg.info.writable) throw new TypeError(`S.${fn}: this SharedArray is read-only (mapped from ${this.segname} with mode 'r')`);
  }

  /** @internal throws when the memory is no longer mapped here. */
  checkAlive(fn: string): void {
    if (!this.seg.alive) {
      throw new Error(
        `S.${fn}: this SharedArray was finalized: its memory (${this.segname || 'empty'}) is no longer mapped on process ${myid()}`,
      );
    }
  }

  /** @internal the linear index of `idx` (one linear index, or one per dimension), or a clear error. */
  linearIndex(fn: string, idx: readonly number[]): number {
    const dims = this.dims;
    let k = 0;
    if (idx.length === 1) {
      k = idx[0];
      if (!(Number.isSafeInteger(k) && k >= 0 && k < this.length)) throw this.indexError(fn, idx);
    } else if (idx.length === dims.length) {
      let stride = 1;
      for (let d = 0; d < dims.length; d++) {
        const i = idx[d];
        if (!(Number.isSafeInteger(i) && i >= 0 && i < dims[d])) throw this.indexError(fn, idx);
        k += i * stride;
        stride *= dims[d];
      }
    } else {
      throw this.indexError(fn, idx);
    }
    this.checkAlive(fn);
    return k;
  }

  /** @internal the error for indices that do not address an element (or for a finalized array). */
  indexError(fn: string, idx: readonly unknown[]): Error {
    this.checkAlive(fn);
    const n = this.dims.length;
    if (idx.length !== 1 && idx.length !== n) {
      return new TypeError(`S.${fn}: a ${n}-dimensional SharedArray takes ${n} ${n === 1 ? 'index' : 'indices'} (or 1 linear index), got ${idx.length}`);
    }
    const bad = idx.find((i) => typeof i !== 'number' || !Number.isInteger(i));
    if (bad !== undefined) return new TypeError(`S.${fn}: indices must be integers (got ${typeof bad === 'number' ? bad : typeof bad})`);
    return new RangeError(
      `BoundsError: attempt to access ${this.dims.join('×')} SharedArray{${this.type}} at index [${idx.join(', ')}]` +
        ` (indices are 0-based: 0 ≤ i < ${idx.length === 1 ? `length ${this.length}` : 'each dimension'})`,
    );
  }
}

// The specialised accessors below are the hot path of `S.get`/`S.set` loops. They are written for
// what V8's optimizing compiler can see through once it inlines them into the caller's loop:
//   - No allocation (no rest arguments), and every check executed on the fast path, with a constant
//     (-1) for failure rather than a branch out of the loop: a branch that was never taken becomes a
//     deoptimization exit, which stops V8 from peeling the loop and hoisting the fields' loads and the
//     index arithmetic out of it.
//   - The integer check `i === (i | 0)` (true for integers in [-2^31, 2^31)) and `typeof` guards fold
//     away for loop counters; `(i >>> 0) < lim` is one unsigned comparison for 0 ≤ i < lim.
//   - The typed array's own check is the last bound: beyond the end or before the start reads
//     `undefined`. In 1-d and 2-d, with the other indices in range, any wrong last index lands there.
//     A write first reads the same element, so that one check serves both.
//   - 3-d computes in int32 (exact: it is used below 2^31 elements only) and checks bounds by sign:
//     `lim + ~i` is `lim - 1 - i`, negative exactly when i ≥ lim, so `((lim + ~i) | i) >> 31` is -1 for
//     an i out of [0, lim) and 0 otherwise. For j and k that sign picks the column's start, `col`: its
//     true start, or -2^31 when j or k is out of range, so that `i + col` is negative for every good i.
//     Only i's own check is left in the innermost loop: OR-ed into `i + col`, it makes a bad i -1. The
//     column's terms do not depend on i, so V8 computes them once per column, outside that loop.
//   - Anything unusual (a linear index into an N-d array, a wrong index, an index ≥ 2^31) falls to the
//     general accessors, given the very arguments: they find the element or throw the error that says
//     what is wrong. Writes go through `put`: checked in general, a plain store on writable float arrays.
//     (A finalized array has the general accessors only: see `invalidate`.)

/** A 1-dimensional SharedArray, with accessors specialised for one index. */
class SharedVector<T extends ElementType> extends SharedArray<T> {
  override get(i: number): ElementOf<T> {
    const v = this.data[typeof i === 'number' && i === (i | 0) && arguments.length === 1 ? i : -1];
    if (v !== undefined) return v as ElementOf<T>;
    return this.getGeneral(arguments);
  }

  override set(i: number, v?: unknown): void {
    const x = typeof i === 'number' && i === (i | 0) && arguments.length === 2 ? i : -1;
    if (this.data[x] !== undefined) this.put(x, v);
    else this.setGeneral(arguments);
  }
}

/** A 2-dimensional SharedArray, with accessors specialised for (i, j) and linear indices. */
class SharedMatrix<T extends ElementType> extends SharedArray<T> {
  override get(i: number, j?: number): ElementOf<T> {
    const lim0 = this.lim0;
    const num = typeof i === 'number' && typeof j === 'number';
    const at = num ? i + lim0 * (j as number) : -1;
    const v = this.data[num && i === (i | 0) && j === ((j as number) | 0) && i >>> 0 < lim0 && arguments.length === 2 ? at : -1];
    if (v !== undefined) return v as ElementOf<T>;
    return this.getGeneral(arguments);
  }

  override set(i: number, j?: unknown, v?: unknown): void {
    const lim0 = this.lim0;
    const num = typeof i === 'number' && typeof j === 'number';
    const at = num ? i + lim0 * (j as number) : -1;
    const x = num && i === (i | 0) && j === ((j as number) | 0) && i >>> 0 < lim0 && arguments.length === 3 ? at : -1;
    if (this.data[x] !== undefined) this.put(x, v);
    else this.setGeneral(arguments);
  }
}

/** A 3-dimensional SharedArray, with accessors specialised for (i, j, k) and linear indices. */
class SharedArray3<T extends ElementType> extends SharedArray<T> {
  override get(i: number, j?: number, k?: number): ElementOf<T> {
    const lim0 = this.lim0;
    const lim1 = this.lim1;
    const lim2 = this.lim2;
    const num = typeof i === 'number' && typeof j === 'number' && typeof k === 'number';
    const bad = num ? ((lim1 + ~(j as number)) | (lim2 + ~(k as number)) | (j as number) | (k as number)) >> 31 : -1;
    const col = num ? (Math.imul(lim0, ((j as number) + Math.imul(lim1, k as number)) | 0) & ~bad) | (bad & -0x80000000) : -1;
    const at = num ? (i + col) | (((lim0 + ~i) | i) >> 31) : -1;
    const int = num && i === (i | 0) && j === ((j as number) | 0) && k === ((k as number) | 0);
    const v = this.data[int && arguments.length === 3 ? at : -1];
    if (v !== undefined) return v as ElementOf<T>;
    return this.getGeneral(arguments);
  }

  override set(i: number, j?: unknown, k?: unknown, v?: unknown): void {
    const lim0 = this.lim0;
    const lim1 = this.lim1;
    const lim2 = this.lim2;
    const num = typeof i === 'number' && typeof j === 'number' && typeof k === 'number';
    const bad = num ? ((lim1 + ~(j as number)) | (lim2 + ~(k as number)) | (j as number) | (k as number)) >> 31 : -1;
    const col = num ? (Math.imul(lim0, ((j as number) + Math.imul(lim1, k as number)) | 0) & ~bad) | (bad & -0x80000000) : -1;
    const at = num ? (i + col) | (((lim0 + ~i) | i) >> 31) : -1;
    const int = num && i === (i | 0) && j === ((j as number) | 0) && k === ((k as number) | 0);
    const x = int && arguments.length === 4 ? at : -1;
    if (this.data[x] !== undefined) this.put(x, v);
    else this.setGeneral(arguments);
  }
}

// Writable float arrays store any number as it is: `put` needs no check but the value's type, which
// folds away where V8 knows it is a number. (One subclass per shape, so each call site stays monomorphic.)

/** @internal */
class FloatVector<T extends ElementType> extends SharedVector<T> {
  override put(x: number, v: unknown): void {
    if (typeof v === 'number') (this.data as Float64Array)[x] = v;
    else this.storeChecked(x, v);
  }
}

/** @internal */
class FloatMatrix<T extends ElementType> extends SharedMatrix<T> {
  override put(x: number, v: unknown): void {
    if (typeof v === 'number') (this.data as Float64Array)[x] = v;
    else this.storeChecked(x, v);
  }
}

/** @internal */
class FloatArray3<T extends ElementType> extends SharedArray3<T> {
  override put(x: number, v: unknown): void {
    if (typeof v === 'number') (this.data as Float64Array)[x] = v;
    else this.storeChecked(x, v);
  }
}

/**
 * @internal The SharedArray object over a segment mapped here (one per segment per process, made on first
 * use), specialised for its dimensionality.
 */
export function arrayOver<T extends ElementType>(seg: Segment): SharedArray<T> {
  if (seg.view !== undefined) return seg.view as SharedArray<T>;
  type Ctor = new (token: symbol, seg: Segment) => SharedArray<T>;
  const n = seg.info.dims.length;
  const floats = seg.element.kind === 'float' && seg.info.writable;
  // SharedArray3 computes its indices in int32 arithmetic: exact only below 2^31 elements.
  const int32 = seg.info.dims.reduce((a, b) => a * b, 1) < 2 ** 31;
  const C = (
    n === 1
      ? floats ? FloatVector : SharedVector
      : n === 2
        ? floats ? FloatMatrix : SharedMatrix
        : n === 3 && int32
          ? floats ? FloatArray3 : SharedArray3
          : SharedArray
  ) as unknown as Ctor;
  const S = new C(CONSTRUCT, seg);
  seg.view = S;
  return S;
}

/** @internal The segment a SharedArray views. */
export function segmentOf(S: SharedArray): Segment {
  return S.seg;
}

/**
 *     sdata(S)
 *
 * The typed array over all of `S`'s memory (`Float64Array` for 'Float64', `BigInt64Array` for
 * 'Int64', …), column-major: loops over it run as fast as over any typed array. After
 * `finalize(S)` it is empty.
 *
 * ```ts
 * const a = sdata(S); for (let k = 0; k < a.length; k++) a[k] = k;
 * ```
 */
export function sdata<T extends ElementType>(S: SharedArray<T>): TypedArrayOf[T] {
  checkShared(S, 'sdata');
  return S.data;
}

/**
 *     localindices(S)
 *
 * This process's share `[start, stop)` of `S`'s linear indices: the participants, in `procs(S)` order,
 * split `0 … length(S)` into contiguous runs of `⌊length / n⌋` (the last takes the rest; with fewer
 * elements than participants, one each). Empty (`[0, 0]`) on a process that does not participate.
 *
 * ```ts
 * const [a, b] = localindices(S); for (let k = a; k < b; k++) S.set(k, myid());
 * ```
 */
export function localindices(S: SharedArray): [number, number] {
  checkShared(S, 'localindices');
  const p = S.pids.indexOf(myid());
  if (p < 0) return [0, 0];
  const l = S.length;
  const nw = S.pids.length;
  if (l < nw) return p < l ? [p, p + 1] : [0, 0];
  const part = Math.floor(l / nw);
  return [p * part, p === nw - 1 ? l : (p + 1) * part];
}

/**
 *     indexpids(S)
 *
 * This process's 0-based position in `procs(S)`, or −1 when it does not participate (Julia's, minus one).
 *
 * ```ts
 * await remotecall_fetch((S) => indexpids(S), procs(S)[1], S) // 1
 * ```
 */
export function indexpids(S: SharedArray): number {
  checkShared(S, 'indexpids');
  return S.pids.indexOf(myid());
}

/**
 *     finalize(S)
 *
 * Unmaps `S`'s memory now on this process and tells every other process that mapped it to do the
 * same (before anything this process sends them later). Any later use of `S` there fails with a clear
 * error; `sdata(S)` reads as empty.
 *
 * ```ts
 * finalize(S); S.get(0) // Error: this SharedArray was finalized
 * ```
 */
export function finalizeSharedArray(x: SharedArray): void {
  if (!(x instanceof SharedArray)) {
    throw new TypeError(`finalize: expected a SharedArray (got ${x === null ? 'null' : typeof x === 'object' ? (Object.getPrototypeOf(x)?.constructor?.name ?? 'object') : typeof x})`);
  }
  const seg = x.seg;
  if (!seg.alive) return;
  releaseSegment(seg);
  releaseElsewhere(seg.info);
}

/** The error for a value an element cannot hold: TypeError for the wrong kind, RangeError for one that does not fit. */
function valueError(fn: string, why: string, v: unknown, el: ElementInfo): Error {
  const msg = `S.${fn}: ${why}`;
  return typeof v === (el.kind === 'bigint' ? 'bigint' : 'number') ? new RangeError(msg) : new TypeError(msg);
}

function checkShared(S: unknown, fn: string): void {
  if (!(S instanceof SharedArray)) throw new TypeError(`${fn}: expected a SharedArray (got ${S === null ? 'null' : typeof S})`);
}

function freeze(info: SegmentInfo): SegmentInfo {
  Object.freeze(info.dims);
  Object.freeze(info.pids);
  return Object.freeze(info);
}

function checkDims(dims: unknown, fn: string): number[] {
  const list = typeof dims === 'number' ? [dims] : Array.isArray(dims) ? [...(dims as unknown[])] : undefined;
  if (list === undefined || list.length === 0) {
    throw new TypeError(`${fn}: dims must be a non-negative integer or a non-empty array of them (got ${Array.isArray(dims) ? '[]' : typeof dims})`);
  }
  let n = 1;
  for (const [d, x] of list.entries()) {
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) {
      throw new RangeError(`${fn}: dims[${d}] must be a non-negative integer (got ${typeof x === 'number' ? x : typeof x})`);
    }
    n *= x;
  }
  if (!Number.isSafeInteger(n)) throw new RangeError(`${fn}: ${list.join('×')} elements are too many`);
  return list as number[];
}

function checkOptions(options: unknown, fn: string, known: readonly string[]): object {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new TypeError(`${fn}: options must be an object (got ${options === null ? 'null' : typeof options})`);
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) throw new TypeError(`${fn}: unknown option '${k}' (known: ${known.join(', ')})`);
  }
  return options;
}

function checkInit<T extends ElementType>(init: unknown, fn: string): ((S: SharedArray<T>) => unknown) | undefined {
  if (init === undefined || init === null || init === false) return undefined;
  if (typeof init !== 'function') throw new TypeError(`${fn}: init must be a function of the SharedArray (got ${typeof init})`);
  return init as (S: SharedArray<T>) => unknown;
}

/**
 * The participants: given (checked: known, distinct, on this host) or every local worker (Julia's
 * default, on the master and on a worker alike). A worker reaches other workers over worker-to-worker
 * links, which topology 'master_worker' does not have: there a worker can create arrays only on itself
 * and the master. With topology 'custom' it reaches only the workers its cluster manager linked it with.
 */
function resolvePids(pids: unknown, fn: string): number[] {
  const chosen = choosePids(pids, fn);
  if (PGRP.id !== 1 && (PGRP.topology === 'master_worker' || PGRP.topology === 'custom')) {
    const custom = PGRP.topology === 'custom';
    const unreachable = chosen.filter((p) => p !== 1 && p !== PGRP.id && (!custom || PGRP.unlinked.has(p)));
    if (unreachable.length > 0) {
      const why = custom
        ? `the cluster runs with topology 'custom', and its cluster manager did not link ${unreachable.length === 1 ? 'it' : 'them'} with process ${PGRP.id} ` +
          `(create it on the master, or give pids among 1, ${PGRP.id} and the workers linked with it by ident/connect_idents)`
        : `the cluster runs with topology 'master_worker', where workers reach only the master ` +
          `(create it on the master, give pids among [1, ${PGRP.id}], or use topology 'all_to_all')`;
      throw new Error(`${fn}: process ${PGRP.id} cannot map the array on ${unreachable.length === 1 ? 'process' : 'processes'} ${unreachable.join(', ')}: ${why}`);
    }
  }
  return chosen;
}

function choosePids(pids: unknown, fn: string): number[] {
  const here = procs(myid());
  if (pids === undefined || (Array.isArray(pids) && pids.length === 0)) {
    return here.length > 1 ? here.filter((p) => p !== 1) : here;
  }
  if (!Array.isArray(pids)) throw new TypeError(`${fn}: pids must be an array of process ids (got ${typeof pids})`);
  const seen = new Set<number>();
  for (const p of pids as unknown[]) {
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 1) throw new TypeError(`${fn}: pids must be process ids (got ${typeof p === 'number' ? p : typeof p})`);
    if (seen.has(p)) throw new RangeError(`${fn}: process ${p} appears twice in pids`);
    seen.add(p);
    if (p !== myid() && PGRP.get(p) === undefined) throw new RangeError(`${fn}: no process with id ${p} (processes: ${procs().join(', ')})`);
    if (!here.includes(p)) throw new RangeError(`${fn}: process ${p} is not on this host; a SharedArray's processes must share its memory (local processes: ${here.join(', ')})`);
  }
  return [...(pids as number[])];
}

/** Rejects sizes one ArrayBuffer cannot hold, and (for shared memory) sizes /dev/shm has no room for. */
function checkSize(byteLength: number, fn: string, shm: boolean): void {
  if (shm && byteLength > 0) {
    let available = Infinity;
    try {
      const s = fs.statfsSync('/dev/shm');
      available = s.bavail * s.bsize;
    } catch {
      /* no /dev/shm to ask: shmCreate will tell */
    }
    if (byteLength > available) {
      const e = new Error(
        `${fn}: /dev/shm has too little space: ${byteLength} bytes needed, ${available} available ` +
          '(make the array smaller, free /dev/shm, or enlarge it, e.g. docker run --shm-size)',
      ) as Error & { code: string; needed: number; available: number };
      e.code = 'ENOSPC';
      e.needed = byteLength;
      e.available = available;
      throw e;
    }
  }
  if (byteLength > bufferConstants.MAX_LENGTH) {
    throw new RangeError(`${fn}: ${byteLength} bytes is more than one ArrayBuffer holds in this Node (buffer.constants.MAX_LENGTH = ${bufferConstants.MAX_LENGTH})`);
  }
}

/**
 * Maps the segment here and on every other participant; then `unlink` (shared memory: the name goes at
 * once, mapped or not). A participant that cannot map it undoes the whole creation.
 */
async function establish(info: SegmentInfo, fn: string, unlink: (() => void) | undefined): Promise<Segment> {
  try {
    const seg = mapSegment(info);
    const others = info.pids.filter((p) => p !== myid());
    // Internal calls: inside sync() the creation is the task, and its failure is reported once, below.
    const results = await Promise.allSettled(others.map((p) => internally(() => remotecall_fetch(mapHere, p, info))));
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed >= 0) {
      releaseSegment(seg);
      releaseElsewhere(info);
      const reason = (results[failed] as PromiseRejectedResult).reason as Error;
      throw new Error(`${fn}: process ${others[failed]} could not map the array's memory: ${reason?.message ?? String(reason)}`, { cause: reason });
    }
    return seg;
  } finally {
    unlink?.();
  }
}

/** Random hex for segment names; node:crypto is loaded on first use (not by every worker at start-up). */
function randomHex(bytes: number): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:crypto') as typeof import('node:crypto')).randomBytes(bytes).toString('hex');
}

/** Runs init on every participant at once; any failure finalizes the array and throws them all. */
async function runInit<T extends ElementType>(S: SharedArray<T>, init: (S: SharedArray<T>) => unknown, fn: string): Promise<void> {
  const results = await Promise.allSettled(S.pids.map((p) => internally(() => remotecall_fetch(init, p, S))));
  const errors = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
  if (errors.length > 0) {
    finalizeSharedArray(S);
    const e = new CompositeException(errors);
    e.message = `${fn}: init failed on ${errors.length} of ${S.pids.length} processes; the array was finalized:\n${e.message}`;
    throw e;
  }
}

let swept = false;
/**
 * Removes segments left in /dev/shm by creators that died between creating and unlinking one (the only
 * window in which a segment has a name). Once per process, before its first segment; the rules (names
 * younger than a minute are left alone) are stale-segments.ts's, shared with transfer segments.
 */
function sweepOnce(): void {
  if (swept) return;
  swept = true;
  sweepStaleSegments();
}
