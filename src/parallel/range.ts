/**
 * Julia's ranges and `zip`: `range(start, stop, step?)` is a lazy, half-open arithmetic sequence
 * (`range(0, n)` is Julia's `0:n-1`) with a length and indexing; `zip(...iterables)` walks several
 * iterables in step until the shortest ends.
 */

/**
 * A lazy arithmetic sequence `start, start + step, …`, stopping before `stop` (half-open). It has a
 * `length`, indexing with `at(i)` (0-based, negative from the end), slicing with `slice(lo, hi)`, and
 * iterates without allocating. It travels between processes as its three numbers.
 *
 * ```ts
 * const r = range(0, 10, 3); [...r] // [0, 3, 6, 9]; r.length === 4; r.at(-1) === 9
 * ```
 */
export class Range implements Iterable<number> {
  /** The first value. */
  readonly start: number;
  /** The bound the values stop before. */
  readonly stop: number;
  /** The distance between consecutive values (never 0). */
  readonly step: number;
  /** The number of values. */
  readonly length: number;

  constructor(start: number, stop: number, step = 1) {
    for (const [name, v] of [['start', start], ['stop', stop], ['step', step]] as const) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`range: ${name} must be a finite number, got ${String(v)}`);
    }
    if (step === 0) throw new RangeError('range: step cannot be zero');
    this.start = start;
    this.stop = stop;
    this.step = step;
    this.length = Math.max(0, Math.ceil((stop - start) / step));
  }

  /**
   * The value at index `i` (0-based; negative counts from the end), or `undefined` outside the range.
   *
   * ```ts
   * range(5, 10).at(0) // 5
   * ```
   */
  at(i: number): number | undefined {
    if (!Number.isInteger(i)) return undefined;
    if (i < 0) i += this.length;
    if (i < 0 || i >= this.length) return undefined;
    return this.start + i * this.step;
  }

  /**
   * The sub-range of indices `[lo, hi)` (clamped to the range), itself a `Range`.
   *
   * ```ts
   * range(0, 100).slice(10, 20).start // 10
   * ```
   */
  slice(lo = 0, hi = this.length): Range {
    lo = Math.max(0, Math.min(this.length, Math.trunc(lo)));
    hi = Math.max(lo, Math.min(this.length, Math.trunc(hi)));
    const s = this.start + lo * this.step;
    return new Range(s, s + (hi - lo) * this.step, this.step);
  }

  /** The values as an array. */
  toArray(): number[] {
    const a = new Array<number>(this.length);
    for (let i = 0; i < this.length; i++) a[i] = this.start + i * this.step;
    return a;
  }

  *[Symbol.iterator](): Iterator<number> {
    const { start, step, length } = this;
    for (let i = 0; i < length; i++) yield start + i * step;
  }

  /** Julia's notation, 0-based and half-open: `range(0, 10, 2)`. */
  toString(): string {
    return this.step === 1 ? `range(${this.start}, ${this.stop})` : `range(${this.start}, ${this.stop}, ${this.step})`;
  }
}

/**
 * The half-open range `start, start + step, …` up to (not including) `stop`; `range(n)` is `range(0, n)`.
 * Lazy: `range(0, 2e8)` allocates nothing.
 *
 * ```ts
 * [...range(1, 4)] // [1, 2, 3]
 * ```
 */
export function range(stop: number): Range;
export function range(start: number, stop: number, step?: number): Range;
export function range(a: number, b?: number, step = 1): Range {
  return b === undefined ? new Range(0, a, 1) : new Range(a, b, step);
}

/**
 * Walks several iterables in step, yielding arrays of their elements, until the shortest ends (Julia's
 * `zip`). The result is iterable as often as its inputs are; with arrays and ranges it has a `length`.
 *
 * ```ts
 * [...zip([1, 2, 3], 'ab')] // [[1, 'a'], [2, 'b']]
 * ```
 */
export function zip<T extends unknown[]>(...iterables: { [K in keyof T]: Iterable<T[K]> }): Zip<T> {
  for (let i = 0; i < iterables.length; i++) {
    const it = iterables[i] as unknown;
    if (it == null || typeof (it as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`zip: argument ${i + 1} is not iterable (got ${it === null ? 'null' : typeof it})`);
    }
  }
  return new Zip<T>(iterables as unknown as Array<Iterable<unknown>>);
}

/** What `zip` returns: iterable, with a `length` when every input has one. */
export class Zip<T extends unknown[]> implements Iterable<T> {
  readonly #inputs: Array<Iterable<unknown>>;

  constructor(inputs: Array<Iterable<unknown>>) {
    this.#inputs = inputs;
  }

  /** The length of the shortest input, or `undefined` when some input has no known length. */
  get length(): number | undefined {
    let n = Infinity;
    for (const it of this.#inputs) {
      const l = knownLength(it);
      if (l === undefined) return undefined;
      n = Math.min(n, l);
    }
    return this.#inputs.length === 0 ? 0 : n;
  }

  *[Symbol.iterator](): Iterator<T> {
    if (this.#inputs.length === 0) return;
    const its = this.#inputs.map((x) => x[Symbol.iterator]());
    try {
      for (;;) {
        const row = new Array(its.length) as T;
        for (let k = 0; k < its.length; k++) {
          const r = its[k].next();
          if (r.done) return;
          row[k] = r.value;
        }
        yield row;
      }
    } finally {
      for (const it of its) it.return?.();
    }
  }
}

/** The number of elements of an iterable when it is known without iterating (arrays, strings, ranges, sets, maps…). */
export function knownLength(c: unknown): number | undefined {
  if (typeof c === 'string') return undefined; // code points, not UTF-16 units
  if (Array.isArray(c) || ArrayBuffer.isView(c)) return (c as ArrayLike<unknown>).length;
  if (c instanceof Range) return c.length;
  if (c instanceof Zip) return c.length;
  if (c instanceof Set || c instanceof Map) return c.size;
  return undefined;
}
