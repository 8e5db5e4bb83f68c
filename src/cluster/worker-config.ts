/**
 * `WorkerConfig`: what a cluster manager knows about one worker, with Julia's field names.
 */
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

/**
 * How to reach and manage one worker. Cluster managers fill it in `launch`; Julia's field names.
 *
 * ```ts
 * const c: WorkerConfig = { host: 'localhost', port: 9009 };
 * ```
 */
export interface WorkerConfig {
  /** The stream the worker prints its address on (and then its output), when the manager started it. */
  io?: Readable;
  /** Its error stream, forwarded like `io`. */
  stderr?: Readable;
  /** Host to connect to (TCP), or where it runs. */
  host?: string;
  /** TCP port, when known up front. */
  port?: number;
  /** Unix socket path (a leading '\0' means Linux's abstract namespace). */
  path?: string;
  /** The OS process id. */
  ospid?: number;
  /** The child process handle for local workers. */
  process?: ChildProcess;
  /** Options of the `addprocs` call that launched it. */
  exename?: string;
  exeflags?: string[];
  env?: Record<string, string>;
  dir?: string;
  /** How many workers a host entry asked for (Julia's `count`). */
  count?: number;
  /** Manager-specific data. */
  userdata?: unknown;
  /** Connection topology the worker should use. */
  connect_at?: string;
}
