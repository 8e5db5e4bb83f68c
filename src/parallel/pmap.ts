/**
 * `pmap` (Julia's `pmap`): `f` over collections on the workers of a pool, results in input order, with
 * Julia's options (`distributed`, `batch_size`, `on_error`, `retry_delays`, `retry_check`) and ours
 * (`batch_size: 'auto'`, `progress`, `ntasks`). `on_error` and `retry_check` run on the caller and see
 * the original error, a dead worker's `ProcessExitedException` included, so an item whose worker died
 * is retried on another one.
 */
import * as os from 'node:os';
import { myid } from '../cluster/process-group';
import { remotecall_fetch } from '../remote/remotecall';
import { registerInternal } from './internal-functions';
import { AbstractWorkerPool, cachedFunction, default_worker_pool, usable, type PendingTake } from '../pools/worker-pool';
import { runBatch, type BatchAnswer } from './batch';
import { isProcessExit, runEngine, type Job, type Lane, type LaneSource } from './map-engine';
import { Progress } from './progress';
import { knownLength, Range, zip } from './range';
import { threadLanes } from './threads';
import { asTask, internally } from './sync-scope';

/** Options of {@link pmap}. */
export interface PmapOptions {
  /** Run on the pool's workers (default true); `false` runs on local worker threads. */
  distributed?: boolean;
  /** Items per call (default 1), or `'auto'`: sized from the measured cost per item. */
  batch_size?: number | 'auto';
  /** Called with a failed item's error; its return value stands in for the item. Throwing stops pmap (or, with `retry_delays`, retries). */
  on_error?: (err: unknown) => unknown;
  /** Seconds to wait before each retry of a failed item (e.g. `ExponentialBackOff({ n: 3 })`). */
  retry_delays?: Iterable<number>;
  /** Decides whether to retry: `(state, err) => [state, retry]`. */
  retry_check?: (state: unknown, err: unknown) => [unknown, boolean] | boolean | Promise<[unknown, boolean] | boolean>;
  /** Draw progress (done/total, rate, ETA) on stderr. */
  progress?: boolean;
  /** Threads for `distributed: false` (default: the number of CPUs). */
  ntasks?: number;
}

const OPTION_KEYS = new Set(['distributed', 'batch_size', 'on_error', 'retry_delays', 'retry_check', 'progress', 'ntasks']);

/** Whether `x` is a plain object that is not iterable (pmap's trailing options). */
function isOptions(x: unknown): x is PmapOptions {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x);
  if (proto !== Object.prototype && proto !== null) return false;
  return typeof (x as Partial<Iterable<unknown>>)[Symbol.iterator] !== 'function';
}

function checkOptions(o: PmapOptions): void {
  for (const k of Object.keys(o)) if (!OPTION_KEYS.has(k)) throw new TypeError(`pmap: unknown option ${k} (known: ${[...OPTION_KEYS].join(', ')})`);
  const b = o.batch_size;
  if (b !== undefined && b !== 'auto' && !(typeof b === 'number' && Number.isInteger(b) && b >= 1)) {
    throw new RangeError(`pmap: batch_size must be a positive integer or 'auto', got ${String(b)}`);
  }
  if (o.on_error !== undefined && typeof o.on_error !== 'function') throw new TypeError('pmap: on_error must be a function');
  if (o.retry_check !== undefined && typeof o.retry_check !== 'function') throw new TypeError('pmap: retry_check must be a function');
  if (o.retry_delays !== undefined && (o.retry_delays === null || typeof (o.retry_delays as Iterable<number>)[Symbol.iterator] !== 'function')) {
    throw new TypeError('pmap: retry_delays must be an iterable of seconds');
  }
  if (o.ntasks !== undefined && !(Number.isInteger(o.ntasks) && o.ntasks >= 1)) throw new RangeError(`pmap: ntasks must be a positive integer, got ${String(o.ntasks)}`);
}

/** Splits pmap's arguments into pool, collections and options. */
function parseArgs(fname: string, rest: unknown[]): { pool: AbstractWorkerPool | undefined; collections: Array<Iterable<unknown>>; opts: PmapOptions } {
  let pool: AbstractWorkerPool | undefined;
  let opts: PmapOptions = {};
  if (rest[0] instanceof AbstractWorkerPool) pool = rest.shift() as AbstractWorkerPool;
  if (rest.length > 1 && isOptions(rest[rest.length - 1])) opts = rest.pop() as PmapOptions;
  if (rest.length === 0) throw new TypeError(`${fname}: no collection to map over`);
  rest.forEach((c, i) => {
    if (c == null || typeof (c as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`${fname}: collection ${i + 1} is not iterable (got ${c === null ? 'null' : typeof c})`);
    }
  });
  return { pool, collections: rest as Array<Iterable<unknown>>, opts };
}

/** Runs jobs on workers taken from `pool`, each held while the map runs and given back after. */
function poolLanes(pool: AbstractWorkerPool, f: Function, spread: boolean, capture: boolean, batched: boolean): LaneSource {
  let cancelled = false;
  let waiting: PendingTake | undefined;
  const lane = (w: number): Lane => ({
    run(job: Job): Promise<BatchAnswer> {
      const token = pool.functionToken(f, w);
      if (!batched && job.items.length === 1) {
        const item = job.items instanceof Range ? job.items.start : job.items[0];
        const args = spread ? (item as unknown[]) : [item];
        // Internal calls: inside sync() the pmap is the task, and an item it retries or hands to on_error is no failure of the block.
        const call = internally(() => (token === f ? remotecall_fetch(f as (...a: unknown[]) => unknown, w, ...args) : remotecall_fetch(runCached, w, token, args)));
        return call.then((v) => ({ v: [v], e: [] }));
      }
      return internally(() => remotecall_fetch(runBatchRemote, w, token, job.items, spread, capture)) as Promise<BatchAnswer>;
    },
    lost: (err) => {
      if (isProcessExit(err) || !usable(w)) {
        pool.unprepare(f, w);
        return true;
      }
      return false;
    },
    release: () => void pool.put(w).catch(() => undefined),
  });
  return {
    async next(): Promise<Lane | undefined> {
      if (cancelled) return undefined;
      if (pool.isLocal()) {
        const t = pool.takeCancellable();
        waiting = t;
        const w = await t.promise.catch(() => undefined);
        if (waiting === t) waiting = undefined;
        return w === undefined ? undefined : lane(w);
      }
      const w = await pool.take().catch(() => undefined);
      if (w === undefined) return undefined;
      if (cancelled) {
        void pool.put(w).catch(() => undefined);
        return undefined;
      }
      return lane(w);
    },
    cancel(): void {
      cancelled = true;
      waiting?.cancel();
    },
    // Someone else waits for a worker of this pool (another pmap, a remotecall to the pool): lanes then
    // give their worker back after each call and queue again behind them, as Julia's take/put per item.
    contended: () => pool.isLocal() && pool.waiterCount() > (waiting !== undefined ? 1 : 0),
    yielded: () => waiting?.toBack(),
  };
}

/** Runs jobs here, on the main thread (no workers, or a pool of only this process). */
function localLanes(f: Function, spread: boolean, capture: boolean, n: number): LaneSource {
  let given = 0;
  let wake: ((l: Lane | undefined) => void) | undefined;
  const lane: Lane = {
    run: (job) => Promise.resolve().then(() => runBatch(f as (...a: unknown[]) => unknown, job.items, spread, capture)),
    lost: () => false,
    release: () => undefined,
  };
  return {
    next: () => (given++ < n ? Promise.resolve(lane) : new Promise((r) => (wake = r))),
    cancel: () => wake?.(undefined),
  };
}

/** Runs on a worker: one item through a CachingPool's cached function. Travels by path. */
async function runCached(token: unknown, args: unknown[]): Promise<unknown> {
  const f = await cachedFunction(token);
  return f(...args);
}

/** Runs on a worker: a batch, through the cached function when the token is one. Travels by path. */
function runBatchRemote(token: unknown, items: unknown[] | Range, spread: boolean, capture: boolean): BatchAnswer | Promise<BatchAnswer> {
  if (typeof token === 'function') return runBatch(token as (...a: unknown[]) => unknown, items, spread, capture);
  return Promise.resolve(cachedFunction(token)).then((f) => runBatch(f as (...a: unknown[]) => unknown, items, spread, capture));
}

registerInternal('pmapRunCached', runCached);
registerInternal('pmapRunBatch', runBatchRemote);

/**
 * Applies `f` to every element of the collections in parallel and resolves with the results in input
 * order (Julia's `pmap`). With several collections, `f` gets one argument from each (as `zip`). Runs on
 * the workers of `pool` (default: `default_worker_pool()`); with no workers, on process 1. The last
 * argument is options when it is a plain object: `batch_size` sends several items per call (`'auto'`
 * picks the size from the measured cost), `on_error` replaces a failed item's result, `retry_delays` and
 * `retry_check` retry failed items (on another worker when theirs died), `distributed: false` runs on
 * local threads, `progress: true` reports on stderr. Inside `sync`, the whole pmap is one task: the
 * block waits for it, and only its own outcome counts (not items it retried or handed to `on_error`).
 *
 * ```ts
 * await pmap((x: number) => x * x, range(0, 10)); // [0, 1, 4, …, 81]
 * await pmap((a: number, b: number) => a + b, [1, 2], [10, 20]); // [11, 22]
 * await pmap((x: number) => 1 / x, pool, xs, { on_error: () => NaN, retry_delays: ExponentialBackOff({ n: 3 }) });
 * ```
 */
export function pmap<R>(f: (...args: never[]) => R, ...rest: unknown[]): Promise<Array<Awaited<R>>> {
  return asTask(() => runPmap(f, rest));
}

async function runPmap<R>(f: (...args: never[]) => R, rest: unknown[]): Promise<Array<Awaited<R>>> {
  if (typeof f !== 'function') throw new TypeError(`pmap: the first argument must be a function, got ${f === null ? 'null' : typeof f}`);
  const { pool: given, collections, opts } = parseArgs('pmap', rest);
  checkOptions(opts);
  const spread = collections.length > 1;
  const input: Iterable<unknown> = spread ? zip(...collections) : collections[0];
  const total = spread ? (input as ReturnType<typeof zip>).length : knownLength(input);
  const handleErrors = opts.on_error !== undefined || opts.retry_delays !== undefined;
  const progress = opts.progress ? new Progress('pmap') : undefined;
  const engine = {
    on_error: opts.on_error,
    retry_delays: opts.retry_delays,
    retry_check: opts.retry_check,
    progress,
    total,
  };
  if (opts.distributed === false) {
    const n = opts.ntasks ?? os.availableParallelism();
    const batch = opts.batch_size ?? 1;
    const lanes = threadLanes(f, spread, handleErrors, n);
    try {
      return (await runEngine(input, lanes, { ...engine, batch, pipeline: batch === 'auto' })) as Array<Awaited<R>>;
    } finally {
      await lanes.close();
    }
  }
  const pool = given ?? default_worker_pool();
  const ws = await pool.workers();
  if (ws.length === 0 || (ws.length === 1 && ws[0] === myid())) {
    // Nothing to distribute to: run here, one item at a time, as Julia does.
    return (await runEngine(input, localLanes(f, spread, handleErrors, 1), { ...engine, batch: 1, pipeline: false })) as Array<Awaited<R>>;
  }
  const batch = opts.batch_size ?? 1;
  const lanes = poolLanes(pool, f, spread, handleErrors, batch !== 1);
  return (await runEngine(input, lanes, { ...engine, batch, pipeline: true })) as Array<Awaited<R>>;
}
