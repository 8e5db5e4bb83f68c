/**
 * The scheduler behind `pmap`: items (or batches of them) are handed to lanes — a worker taken from the
 * pool, or a local thread — results are written by input index, failed items go through `on_error` and
 * the retry delays and run again on whatever lane is free, and a lane whose worker died is dropped.
 *
 * A lane keeps `depth` calls in flight: 1 while calls are slow (so the last items spread over every
 * worker, as Julia's take/put per item does), more once round trips are short next to the work, so tiny
 * functions are not bound by latency. With `batch_size: 'auto'` batch sizes follow the measured cost:
 * each call aims at ~`TARGET_MS` of work, never taking more than a fair share of what is left.
 */
import { performance } from 'node:perf_hooks';
import { ProcessExitedException, RemoteException } from '../errors';
import { runCheck, sleep } from './backoff';
import { Range } from './range';
import type { BatchAnswer } from './batch';
import type { Progress } from './progress';

/** A unit of work: items `[index, index + count)` of the input. */
export interface Job {
  readonly index: number;
  readonly items: unknown[] | Range;
  /** Retry bookkeeping of a single-item job. */
  delays?: Iterator<number>;
  state?: unknown;
  /** The lane it last failed on: a retry goes to another lane when there is one (Julia's take/put rotates workers). */
  avoid?: unknown;
}

/** Where jobs run: a worker (held for the pmap) or a thread. */
export interface Lane {
  /** Runs a job; a whole-job failure rejects. */
  run(job: Job): Promise<BatchAnswer>;
  /** Whether `err` means the lane can take no more work (its worker died). */
  lost(err: unknown): boolean;
  /** Gives the lane back (the worker to its pool). */
  release(): void;
}

/** Hands out lanes: `next()` resolves with one, or undefined once no more will come. */
export interface LaneSource {
  next(): Promise<Lane | undefined>;
  /** No more lanes are wanted (a waiting `next()` resolves undefined). */
  cancel(): void;
  /** Whether others wait for the resource lanes hold: lanes then give it back after each call. */
  contended?(): boolean;
  /** A lane was given back because of contention: the pending `next()` lets the others go first. */
  yielded?(): void;
}

export interface EngineOptions {
  batch: number | 'auto';
  on_error?: (err: unknown) => unknown;
  retry_delays?: Iterable<number>;
  retry_check?: (state: unknown, err: unknown) => unknown;
  progress?: Progress;
  /** The number of items, when known up front (sizes 'auto' batches and the progress bar). */
  total?: number;
  /** Whether a lane may keep several calls in flight when calls are fast. */
  pipeline: boolean;
}

const TARGET_MS = 4;
const FAST_CALL_MS = 1;
const MAX_DEPTH = 4;

/** The error `on_error` and `retry_check` see: a remote error's original error (Julia's `extract_exception`). */
export function extract(e: unknown): unknown {
  return e instanceof RemoteException ? e.captured.ex : e;
}

/** Reads the input lazily: whole sub-ranges from a Range, arrays from anything else. */
class Source {
  #range: Range | undefined;
  #it: Iterator<unknown> | undefined;
  #pos = 0;
  done = false;

  constructor(c: Iterable<unknown>) {
    if (c instanceof Range) this.#range = c;
    else this.#it = c[Symbol.iterator]();
    if (this.#range !== undefined && this.#range.length === 0) this.done = true;
  }

  /** The next up to `n` items and the index of the first. */
  take(n: number): Job | undefined {
    if (this.done) return undefined;
    const index = this.#pos;
    if (this.#range !== undefined) {
      const r = this.#range.slice(index, index + n);
      this.#pos += r.length;
      if (this.#pos >= this.#range.length) this.done = true;
      return r.length > 0 ? { index, items: r } : undefined;
    }
    const items: unknown[] = [];
    while (items.length < n) {
      const x = this.#it!.next();
      if (x.done) {
        this.done = true;
        break;
      }
      items.push(x.value);
    }
    this.#pos += items.length;
    return items.length > 0 ? { index, items } : undefined;
  }
}

/** Runs every item of `input` through lanes from `lanes`; resolves with the results in input order. */
export function runEngine(input: Iterable<unknown>, lanes: LaneSource, o: EngineOptions): Promise<unknown[]> {
  return new Promise<unknown[]>((resolve, reject) => {
    const source = new Source(input);
    const results: unknown[] = o.total !== undefined ? new Array(o.total) : [];
    const ready: Job[] = []; // jobs to run again (retries, items of a failed batch)
    const active = new Set<LaneState>();
    let outstanding = 0; // jobs taken from the source or re-queued and not finished
    let finished = false;
    let batch = o.batch === 'auto' ? 1 : o.batch;
    let callMs = -1; // running mean of a call's round trip, ms
    const handleErrors = o.on_error !== undefined || o.retry_delays !== undefined;
    let doneCount = 0;

    interface LaneState {
      lane: Lane;
      inflight: number;
      dead: boolean;
      /** Jobs started since the lane was taken. */
      ran: number;
    }

    const finish = (err?: unknown): void => {
      if (finished) return;
      finished = true;
      lanes.cancel();
      for (const s of active) if (s.inflight === 0) releaseLane(s);
      o.progress?.end(err === undefined);
      if (err !== undefined) reject(err);
      else resolve(results);
    };

    const releaseLane = (s: LaneState): void => {
      if (!active.delete(s)) return;
      s.lane.release();
    };

    const nextJob = (s: LaneState): Job | undefined => {
      const k = ready.findIndex((j) => j.avoid !== s || active.size < 2);
      if (k >= 0) return ready.splice(k, 1)[0];
      if (ready.length > 0 && source.done) return undefined;
      let n = batch;
      if (o.batch === 'auto' && o.total !== undefined) {
        // Never more than a fair share of what is left, so the last calls spread over every lane.
        const left = o.total - doneCount;
        n = Math.max(1, Math.min(n, Math.ceil(left / (4 * Math.max(1, active.size)))));
      }
      const job = source.take(n);
      if (job !== undefined) outstanding++;
      return job;
    };

    const depth = (): number => {
      if (!o.pipeline) return 1;
      if (o.batch === 'auto') return 2;
      return callMs >= 0 && callMs < FAST_CALL_MS ? MAX_DEPTH : 1;
    };

    const checkDone = (): void => {
      if (!finished && source.done && outstanding === 0 && ready.length === 0) finish();
    };

    const pump = (s: LaneState): void => {
      const contended = !finished && !s.dead && active.has(s) && lanes.contended?.() === true;
      if (contended && s.ran > 0) {
        // Share the pool: no new call on this lane; once its calls are done, its worker goes back and
        // this map queues again behind the others (a fresh lane always runs one job, so all progress).
        if (s.inflight === 0) {
          lanes.yielded?.();
          releaseLane(s);
          if (!source.done || ready.length > 0) awaitLane();
        }
        checkDone();
        return;
      }
      const limit = contended ? 1 : depth();
      while (!finished && !s.dead && s.inflight < limit) {
        const job = nextJob(s);
        if (job === undefined) break;
        s.ran++;
        start(s, job);
      }
      if (s.inflight === 0 && (finished || source.done) && ready.length === 0) {
        // Nothing left for this lane now; keep it only while retries may still come.
        if (finished || outstanding === 0) releaseLane(s);
      }
      checkDone();
    };

    const pumpAll = (): void => {
      for (const s of [...active]) pump(s);
    };

    const store = (job: Job, a: BatchAnswer): void => {
      const v = a.v;
      for (let i = 0; i < v.length; i++) results[job.index + i] = v[i];
      const ok = v.length - a.e.length;
      doneCount += ok;
      if (ok > 0) o.progress?.tick(ok);
    };

    const start = (s: LaneState, job: Job): void => {
      const queued = ++s.inflight;
      const t0 = performance.now();
      s.lane.run(job).then(
        (a) => {
          s.inflight--;
          if (finished) return releaseIfIdle(s);
          // Calls queued behind each other on one lane: a call's own cost is its share of the wait.
          const ms = performance.now() - t0;
          const own = ms / queued;
          callMs = callMs < 0 ? own : 0.8 * callMs + 0.2 * own;
          if (o.batch === 'auto') {
            const n = job.items.length;
            const perItem = Math.max(ms / n, 1e-5);
            batch = Math.max(1, Math.min(n * 4, Math.round(TARGET_MS / perItem), 1 << 20));
          }
          store(job, a);
          outstanding--;
          for (const [i, err] of a.e) {
            outstanding++;
            const one = single(job, i);
            one.avoid = s;
            void failed(one, err);
          }
          pump(s);
        },
        (err: unknown) => {
          s.inflight--;
          if (s.lane.lost(err)) {
            s.dead = true;
            if (s.inflight === 0) releaseLane(s);
          }
          if (finished) return releaseIfIdle(s);
          if (!handleErrors || job.items.length === 1) {
            job.avoid = s;
            void failed(job, err);
          } else {
            // A whole batch failed (its worker died): each item is handled, and retried, on its own.
            outstanding--;
            for (let i = 0; i < job.items.length; i++) {
              outstanding++;
              const one = single(job, i);
              one.avoid = s;
              void failed(one, err);
            }
          }
          if (!s.dead) pump(s);
        },
      );
    };

    const releaseIfIdle = (s: LaneState): void => {
      if (s.inflight === 0) releaseLane(s);
    };

    const single = (job: Job, i: number): Job => ({
      index: job.index + i,
      items: job.items instanceof Range ? job.items.slice(i, i + 1) : [job.items[i]],
    });

    /** One job failed with `err`: on_error, then the retry delays, else pmap fails. */
    const failed = async (job: Job, err: unknown): Promise<void> => {
      if (finished) return;
      if (job.items.length > 1) return finish(err);
      let ex = extract(err);
      let rethrown = err;
      try {
        if (o.on_error !== undefined) {
          try {
            const v = await o.on_error(ex);
            if (finished) return;
            results[job.index] = v;
            doneCount++;
            o.progress?.tick(1);
            outstanding--;
            pumpAll();
            return;
          } catch (e2) {
            if (e2 !== ex) rethrown = e2;
            ex = extract(e2);
          }
        }
        if (o.retry_delays === undefined) return finish(rethrown);
        job.delays ??= o.retry_delays[Symbol.iterator]();
        const d = job.delays.next();
        if (d.done) return finish(rethrown);
        const [state, again] = await runCheck(o.retry_check as Parameters<typeof runCheck>[0], job.state, ex);
        if (!again) return finish(rethrown);
        job.state = state;
        await sleep(Number(d.value) || 0);
        if (finished) return;
        ready.push(job);
        pumpAll();
        if (active.size === 0) awaitLane();
      } catch (e) {
        finish(e);
      }
    };

    let waitingForLane = false;
    const awaitLane = (): void => {
      if (waitingForLane || finished) return;
      waitingForLane = true;
      lanes.next().then(
        (lane) => {
          waitingForLane = false;
          if (lane === undefined) {
            if (!finished && active.size === 0) finish(new Error('No active worker available in pool'));
            return;
          }
          if (finished) return lane.release();
          const s: LaneState = { lane, inflight: 0, dead: false, ran: 0 };
          active.add(s);
          pump(s);
          // Keep taking lanes while there is work nobody has started.
          if (!finished && (!source.done || ready.length > 0)) awaitLane();
        },
        (e: unknown) => {
          waitingForLane = false;
          if (!finished && active.size === 0) finish(e);
        },
      );
    };

    o.progress?.begin(o.total);
    if (source.done) return finish();
    awaitLane();
  });
}

/** Whether `err` says the process that ran the call is gone. */
export function isProcessExit(err: unknown): boolean {
  return err instanceof ProcessExitedException || (err instanceof RemoteException && err.captured.ex instanceof ProcessExitedException);
}
