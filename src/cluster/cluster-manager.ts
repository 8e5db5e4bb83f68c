/**
 * `ClusterManager`: how workers are launched, managed and killed (Julia's cluster manager interface).
 */
import type { WorkerConfig } from './worker-config';
import type { Topology } from './process-group';

/** The options of an `addprocs` call, as a cluster manager sees them (Julia's `params`). */
export interface AddprocsOptions {
  /** The program that runs a worker (default: this Node executable). */
  exename?: string;
  /** Extra arguments for it (e.g. `['--max-old-space-size=4096']`). */
  exeflags?: string[];
  /** Environment variables for workers, added to this process's. */
  env?: Record<string, string>;
  /** Working directory of workers (default: this process's). */
  dir?: string;
  /** How processes connect to each other (default 'all_to_all'). */
  topology?: Topology;
  /** With all_to_all, connect worker pairs on first use (default true). */
  lazy?: boolean;
  /** Bind local workers to 127.0.0.1 (default true); false binds TCP workers to all interfaces. */
  restrict?: boolean;
  /** Local workers' transport: 'unix' (default, the fastest) or 'tcp' (the default with `tls`). */
  transport?: 'unix' | 'tcp';
  /**
   * Encrypt the new workers' connections with TLS, keyed by the cluster cookie (no certificates; see
   * transport/tls-psk.ts). Workers then listen on TCP and take only TLS connections (default false).
   */
  tls?: boolean;
  /** Seconds to wait for a worker to start and connect (default DISTRIBUTED_WORKER_TIMEOUT or 60). */
  timeout?: number;
}

/**
 * The interface a cluster manager implements. `launch` starts workers and pushes one `WorkerConfig` per
 * worker onto `launched`, calling `notify()` after each; `manage` hears of lifecycle events; `kill`
 * makes a worker exit.
 *
 * ```ts
 * class MyManager extends ClusterManager {
 *   async launch(params, launched, notify) { launched.push({ host: 'localhost', port: 9009 }); notify(); }
 *   async manage() {}
 * }
 * ```
 */
export abstract class ClusterManager {
  /** Starts workers; pushes their configs onto `launched` and calls `notify` after each. */
  abstract launch(params: AddprocsOptions, launched: WorkerConfig[], notify: () => void): Promise<void>;
  /** Called on 'register', 'deregister', 'interrupt' and 'finalize' of worker `id`. */
  abstract manage(id: number, config: WorkerConfig, op: 'register' | 'deregister' | 'interrupt' | 'finalize'): Promise<void> | void;
  /** Makes worker `pid` exit. The default asks it over its connection (see `rmprocs`). */
  kill?(pid: number, config: WorkerConfig): Promise<void> | void;
}
