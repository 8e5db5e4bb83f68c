/**
 * `pmap(..., { distributed: false })` on local worker threads (piscina). A thread receives `f` and the
 * items through the same codec a worker process does (so `f` travels by global name, package path or as
 * source, and its free identifiers resolve in the thread's global scope, where the package's exports
 * are); `myid()` there is 1.
 */
import * as path from 'node:path';
import type { Piscina as PiscinaPool } from 'piscina';
import { decodeValue, encodeValue } from '../serialization/wire-codec';
import type { BatchAnswer } from './batch';
import type { Job, Lane, LaneSource } from './map-engine';

/** A task for a thread: an encoded value (inline bytes plus out-of-band segments, all owned). */
export interface EncodedTask {
  inline: Uint8Array;
  segments: ArrayBuffer[];
}

/** Encodes `value` into buffers the task owns (the codec's buffers are reused by the next encode). */
export function encodeOwned(value: unknown, rootPath: string | readonly string[]): EncodedTask {
  const enc = encodeValue(value, rootPath, undefined);
  return {
    inline: Uint8Array.prototype.slice.call(enc.inline) as Uint8Array, // a copy (Buffer#slice would be a view)
    segments: enc.segments.map((s) => s.buffer.slice(s.byteOffset, s.byteOffset + s.byteLength) as ArrayBuffer),
  };
}

/** Decodes what {@link encodeOwned} made. */
export function decodeOwned(t: EncodedTask): unknown {
  return decodeValue(t.inline, t.segments, undefined);
}

const TASK_PATH = ['f', 'items', 'spread', 'capture'] as const;

/** `n` lanes, one per thread of a fresh piscina pool; `close()` stops the threads. */
export function threadLanes(f: Function, spread: boolean, capture: boolean, n: number): LaneSource & { close(): Promise<void> } {
  // piscina is required on first use: every process loads this module, few run pmap on threads.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Piscina } = require('piscina') as { Piscina: typeof PiscinaPool };
  const pool = new Piscina({ filename: path.join(__dirname, 'thread-worker.js'), minThreads: n, maxThreads: n, concurrentTasksPerWorker: 1 });
  let given = 0;
  let wake: ((l: Lane | undefined) => void) | undefined;
  const lane: Lane = {
    async run(job: Job): Promise<BatchAnswer> {
      const task = encodeOwned([f, job.items, spread, capture], TASK_PATH);
      const answer = (await pool.run(task, { transferList: [task.inline.buffer as ArrayBuffer, ...task.segments] })) as EncodedTask;
      const out = decodeOwned(answer) as BatchAnswer | { thrown: unknown };
      if ('thrown' in out) throw out.thrown;
      return out;
    },
    lost: () => false,
    release: () => undefined,
  };
  return {
    next: () => (given++ < n ? Promise.resolve(lane) : new Promise((r) => (wake = r))),
    cancel: () => wake?.(undefined),
    close: () => pool.destroy(),
  };
}
