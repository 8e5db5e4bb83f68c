/**
 * The process group: who this process is, which processes it knows, and their connections.
 * Julia keeps the same in `PGRP` (ProcessGroup) and `LPROC` (LocalProcess).
 */
import type { Connection } from '../transport/connection';
import type { WorkerConfig } from './worker-config';
import type { SharedArray } from '../shared/shared-array';

/** @internal Objects that know their processes (SharedArray) answer `procs(x)` through this method. */
export const PROCS_OF: unique symbol = Symbol('distributed-ts.procsOf');

/** How processes are connected (Julia's `topology` keyword). */
export type Topology = 'all_to_all' | 'master_worker' | 'custom';

/** One process this process knows about. */
export interface ProcessRecord {
  /** Julia process id: 1 is the master, workers count up from 2. */
  readonly id: number;
  /** How it was launched (master side) or reached (worker side). */
  config: WorkerConfig;
  /** The live connection, once the handshake is done. */
  connection?: Connection;
  /** 'up' once joined; 'terminating' after rmprocs asked it to leave; 'down' once gone. */
  state: 'launching' | 'up' | 'terminating' | 'down';
  /** Resolves when the process is gone (connection closed and, for local workers, the OS process exited). */
  readonly gone: Promise<void>;
  /** Marks the process as gone (idempotent). */
  markGone(reason?: string): void;
  /** Why it went away, for error messages. */
  goneReason?: string;
}

/** The state of this process's membership in the cluster. */
class ProcessGroup {
  /** This process's id (1 on the master until it joins a cluster as a worker). */
  id = 1;
  /** Processes this one knows, by id (never includes itself). */
  readonly processes = new Map<number, ProcessRecord>();
  /** Ids that have ever been used (they are never reused). */
  lastId = 1;
  topology: Topology = 'all_to_all';
  lazy = true;
  /** On a worker with topology 'custom': the workers its cluster manager did not link it with (no connection may be made). */
  readonly unlinked = new Set<number>();
  /** Called when a process leaves, so pools, pending calls and references can react. */
  readonly onGone: Array<(id: number) => void> = [];
  /** Called on process 1 when a worker has joined (the default worker pool takes it in). */
  readonly onUp: Array<(id: number) => void> = [];
  /**
   * On a worker: the host of each process (itself included) as process 1 names it (its
   * `WorkerConfig.host`), sent in the Join record and the Members notices (`PeerEntry.host`; absent
   * means 'localhost'). A worker cannot tell on its own which peers share its machine. Empty on
   * process 1, which reads its records' configs.
   */
  readonly hostNames = new Map<number, string>();

  /** Records a process, returning a handle whose `gone` promise settles when it leaves. */
  add(id: number, config: WorkerConfig): ProcessRecord {
    let resolveGone!: () => void;
    const gone = new Promise<void>((r) => (resolveGone = r));
    const rec: ProcessRecord = {
      id,
      config,
      state: 'launching',
      gone,
      markGone: (reason?: string) => {
        if (rec.state === 'down') return;
        rec.state = 'down';
        rec.goneReason = reason;
        this.processes.delete(id);
        this.hostNames.delete(id);
        resolveGone();
        for (const h of this.onGone) h(id);
      },
    };
    this.processes.set(id, rec);
    if (id > this.lastId) this.lastId = id;
    return rec;
  }

  /** The record of a live process, or undefined. */
  get(id: number): ProcessRecord | undefined {
    return this.processes.get(id);
  }

  /** Ids of the processes that are up, sorted. */
  upIds(): number[] {
    const ids: number[] = [];
    for (const [id, rec] of this.processes) if (rec.state === 'up' || rec.state === 'terminating') ids.push(id);
    return ids.sort((a, b) => a - b);
  }
}

/** This process's group. There is one per process. */
export const PGRP = new ProcessGroup();

/**
 * The id of the current process: 1 on the master, 2, 3, … on workers.
 *
 * ```ts
 * myid() // 1 on the master
 * ```
 */
export function myid(): number {
  return PGRP.id;
}

/**
 * Ids of all processes (master and workers), sorted. With a pid, the processes on the same host as it
 * (Julia's `procs(pid)`; every local worker shares the master's host). A worker gives the same answer as
 * the master: the master tells every worker the host of every process. With a SharedArray, its
 * participating processes.
 *
 * ```ts
 * await addprocs(2); procs() // [1, 2, 3]
 * procs(2) // [1, 2, 3]: local workers share the master's host
 * ```
 */
export function procs(pid?: number | SharedArray): number[] {
  if (typeof pid === 'object' && pid !== null) {
    const f = (pid as { [PROCS_OF]?: unknown })[PROCS_OF];
    if (typeof f === 'function') return (f as () => number[]).call(pid);
  }
  if (pid !== undefined && typeof pid !== 'number') throw new TypeError(`procs: expected a process id or a SharedArray (got ${pid === null ? 'null' : typeof pid})`);
  const all = [...new Set([1, PGRP.id, ...PGRP.upIds()])].sort((a, b) => a - b);
  if (pid === undefined) return all;
  const host = hostOf(pid);
  if (host === undefined) throw new Error(`procs(${pid}): no process with id ${pid}`);
  return all.filter((p) => hostOf(p) === host);
}

/**
 * The host of process `pid` as process 1 names it: on process 1 from its records (`WorkerConfig.host`,
 * 'localhost' for itself and for workers whose manager gave none); on a worker from what process 1 told
 * it, or 'localhost' before it was told. Undefined for a process not known here.
 */
function hostOf(pid: number): string | undefined {
  const told = PGRP.hostNames.get(pid);
  if (pid === PGRP.id) return told ?? 'localhost';
  const rec = PGRP.get(pid);
  if (rec === undefined) return undefined;
  return told ?? rec.config.host ?? 'localhost';
}

/**
 * Ids of the worker processes, sorted. On a cluster with no workers, `[1]` (Julia's convention: the master
 * then does the work).
 *
 * ```ts
 * await addprocs(2); workers() // [2, 3]
 * ```
 */
export function workers(): number[] {
  const w = procs().filter((p) => p !== 1);
  return w.length === 0 ? [1] : w;
}

/**
 * The number of processes, master included.
 *
 * ```ts
 * await addprocs(2); nprocs() // 3
 * ```
 */
export function nprocs(): number {
  return procs().length;
}

/**
 * The number of workers (`nprocs() - 1`, or 1 when there are none).
 *
 * ```ts
 * await addprocs(2); nworkers() // 2
 * ```
 */
export function nworkers(): number {
  const n = nprocs();
  return n === 1 ? 1 : n - 1;
}
