/**
 * `asyncmap` (Julia's `asyncmap`): `f` over a collection on this thread with at most `ntasks` calls under
 * way at once, results in input order. For async functions (I/O, remote calls) rather than CPU work.
 */
import { knownLength, zip } from './range';
import { asTask } from './sync-scope';

/** Options of {@link asyncmap}. */
export interface AsyncmapOptions {
  /** The most calls under way at once (default 100), or a function read before each new call. */
  ntasks?: number | (() => number);
  /** With a batch size, `f` gets arrays of up to that many items (with several collections, arrays of argument lists) and returns an array of results. */
  batch_size?: number;
}

function limitOf(n: AsyncmapOptions['ntasks']): () => number {
  if (n === undefined) return () => 100;
  if (typeof n === 'function') return () => Math.max(1, Math.floor(n()) || 1);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`asyncmap: ntasks must be a positive integer, got ${String(n)}`);
  return () => n;
}

/**
 * Maps `f` over the collection(s) with up to `ntasks` calls in flight and resolves with the results in
 * order. The first error rejects (no new calls start after it). Several collections give `f` one
 * argument each. Inside `sync`, the asyncmap is one task the block waits for.
 *
 * ```ts
 * const pages = await asyncmap((id: number) => fetchPage(id), ids, { ntasks: 8 });
 * ```
 */
export function asyncmap<R>(f: (...args: never[]) => R, ...rest: unknown[]): Promise<Array<Awaited<R>>> {
  return asTask(() => runAsyncmap(f, rest));
}

function runAsyncmap<R>(f: (...args: never[]) => R, rest: unknown[]): Promise<Array<Awaited<R>>> {
  if (typeof f !== 'function') return Promise.reject(new TypeError(`asyncmap: the first argument must be a function, got ${typeof f}`));
  let opts: AsyncmapOptions = {};
  const last = rest[rest.length - 1];
  if (rest.length > 1 && last !== null && typeof last === 'object' && Object.getPrototypeOf(last) === Object.prototype && !(Symbol.iterator in last)) {
    opts = rest.pop() as AsyncmapOptions;
  }
  if (rest.length === 0) return Promise.reject(new TypeError('asyncmap: no collection to map over'));
  for (const [i, c] of rest.entries()) {
    if (c == null || typeof (c as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      return Promise.reject(new TypeError(`asyncmap: collection ${i + 1} is not iterable`));
    }
  }
  const spread = rest.length > 1;
  const input = spread ? zip(...(rest as Array<Iterable<unknown>>)) : (rest[0] as Iterable<unknown>);
  const limit = limitOf(opts.ntasks);
  const batch = opts.batch_size;
  if (batch !== undefined && !(Number.isInteger(batch) && batch >= 1)) return Promise.reject(new RangeError(`asyncmap: batch_size must be a positive integer, got ${String(batch)}`));
  const g = f as unknown as (...a: unknown[]) => unknown;
  const n = knownLength(input);
  return new Promise<unknown[]>((resolve, reject) => {
    const it = input[Symbol.iterator]();
    const results: unknown[] = n !== undefined ? new Array(n) : [];
    let next = 0;
    let running = 0;
    let exhausted = false;
    let failed = false;
    const pull = (): { index: number; item: unknown } | undefined => {
      if (exhausted) return undefined;
      if (batch === undefined) {
        const r = it.next();
        if (r.done) {
          exhausted = true;
          return undefined;
        }
        return { index: next++, item: r.value };
      }
      const items: unknown[] = [];
      while (items.length < batch) {
        const r = it.next();
        if (r.done) {
          exhausted = true;
          break;
        }
        items.push(r.value);
      }
      if (items.length === 0) return undefined;
      const index = next;
      next += items.length;
      return { index, item: items };
    };
    const launch = (): void => {
      while (!failed && running < limit()) {
        let got: { index: number; item: unknown } | undefined;
        try {
          got = pull();
        } catch (e) {
          failed = true;
          return reject(e);
        }
        if (got === undefined) break;
        const { index, item } = got;
        running++;
        let p: Promise<unknown>;
        try {
          p = Promise.resolve(batch === undefined ? (spread ? g(...(item as unknown[])) : g(item)) : g(item));
        } catch (e) {
          p = Promise.reject(e);
        }
        p.then(
          (v) => {
            running--;
            if (failed) return;
            if (batch === undefined) results[index] = v;
            else {
              const vs = v as unknown[];
              const count = (item as unknown[]).length;
              if (!Array.isArray(vs) || vs.length !== count) {
                failed = true;
                return reject(new TypeError(`asyncmap: with batch_size, f must return an array of ${count} results for a batch of ${count}`));
              }
              for (let k = 0; k < count; k++) results[index + k] = vs[k];
            }
            launch();
          },
          (e: unknown) => {
            running--;
            if (failed) return;
            failed = true;
            reject(e);
          },
        );
      }
      if (!failed && running === 0 && exhausted) resolve(results);
    };
    launch();
    if (!failed && running === 0 && exhausted) resolve(results);
  }) as Promise<Array<Awaited<R>>>;
}
