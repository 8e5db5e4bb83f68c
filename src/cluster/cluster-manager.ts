/**
 * `ClusterManager`: how workers are launched, managed, connected to and killed (Julia's cluster manager
 * interface), and `default_addprocs_params`, the options every `addprocs` starts from.
 */
import type { WorkerConfig } from './worker-config';
import type { Topology } from './process-group';
import type { TransportStreams } from '../transport/connection';

/** The options of an `addprocs` call, as a cluster manager sees them (Julia's `params`). */
export interface AddprocsOptions {
  /** The program that runs a worker (default: this Node executable). */
  exename?: string;
  /** Extra arguments for it (e.g. `['--max-old-space-size=4096']`; default: this process's loader flags, such as `--import tsx`). */
  exeflags?: string[];
  /** Environment variables for workers, added to this process's. */
  env?: Record<string, string>;
  /** Working directory of workers (default: this process's). */
  dir?: string;
  /** How processes connect to each other (default 'all_to_all'). */
  topology?: Topology;
  /** With all_to_all, connect worker pairs on first use (default true). */
  lazy?: boolean;
  /** Bind local workers to 127.0.0.1 (default true); false binds TCP workers to the CLI's `--bind-to` address, or to all interfaces without one. */
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

const LOADER_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

/**
 * This process's module-loader flags (`--import tsx`, `--require …`), which local workers get too when
 * `exeflags` is not given, so they load the same kinds of files (TypeScript under tsx, as the master).
 *
 * ```ts
 * inheritedLoaderFlags(['--import', 'tsx', '--inspect']) // ['--import', 'tsx']
 * ```
 */
export function inheritedLoaderFlags(execArgv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i];
    const name = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    if (!LOADER_FLAGS.has(name)) continue;
    if (a.includes('=')) out.push(a);
    else if (i + 1 < execArgv.length) out.push(a, execArgv[++i]);
  }
  return out;
}

/** @internal Seconds a new worker and the master wait for each other: DISTRIBUTED_WORKER_TIMEOUT, or 60. */
export function defaultWorkerTimeout(): number {
  const env = Number(process.env.DISTRIBUTED_WORKER_TIMEOUT);
  return Number.isFinite(env) && env > 0 ? env : 60;
}

/**
 *     default_addprocs_params(manager?) -> AddprocsOptions
 *
 * The options `addprocs` starts from before it merges the caller's (Julia's `default_addprocs_params`):
 * `topology: 'all_to_all'`, `lazy: true`, `restrict: true`, `transport: 'unix'` (`addprocs` picks
 * `'tcp'` instead when the caller asks for `tls` and gives no transport), `tls: false`, `timeout`
 * (DISTRIBUTED_WORKER_TIMEOUT or 60 seconds), `exename` (this Node executable), `exeflags` (this
 * process's loader flags), `dir` (the current directory) and `env` (none added). With a manager, its own
 * `default_addprocs_params()` method answers: `SSHManager` adds its keywords (`tunnel`, `multiplex`,
 * `sshflags`, `max_parallel`, …). Each call returns a new object.
 *
 * ```ts
 * default_addprocs_params().topology // 'all_to_all'
 * default_addprocs_params(new SSHManager(['node1'])).max_parallel // 10
 * ```
 */
export function default_addprocs_params(manager?: ClusterManager): AddprocsOptions {
  // (A manager from another copy of this package may predate the method.)
  if (manager !== undefined && typeof manager.default_addprocs_params === 'function') return manager.default_addprocs_params();
  return {
    topology: 'all_to_all',
    lazy: true,
    restrict: true,
    transport: 'unix',
    tls: false,
    timeout: defaultWorkerTimeout(),
    exename: process.execPath,
    exeflags: inheritedLoaderFlags(),
    dir: process.cwd(),
    env: {},
  };
}

/**
 * The interface a cluster manager implements (Julia's `ClusterManager`). `launch` starts workers and
 * pushes one `WorkerConfig` per worker onto `launched`, calling `notify()` after each; `manage` hears of
 * lifecycle events; `kill` makes a worker exit; `connect`, when defined, supplies the byte streams to a
 * worker (a custom transport) instead of the built-in Unix/TCP sockets.
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

  /**
   *     connect(pid, config) -> Promise<Duplex | [Readable, Writable]>
   *
   * Implemented by cluster managers with a custom transport (Julia's `connect(manager, pid, config)`):
   * opens a logical connection to worker `pid` and resolves with its streams, one Duplex or Julia's pair
   * (the stream messages from the worker are read from, the stream messages to it are written to). The
   * transport must deliver every byte, in order. When the worker's config has `io`, `addprocs` has read
   * its announced address into `config.connect_at` before the call; otherwise `connect_at` is whatever
   * `launch` put there. Over these streams `addprocs` runs the usual handshake (cookie, version), then
   * the cluster's messages; frames are written with the stream's `write` (no native writes, no shared
   * memory; `tls: true` is refused, as it secures the built-in sockets). If the stream has `ref`/`unref`
   * (a socket does; a pair's halves are asked too), an idle connection stops keeping this process
   * alive, as built-in ones do. Without this method, `addprocs`
   * dials `connect_at` itself over a Unix or TCP socket (the fast path). Worker-to-worker connections
   * are made by the workers: they dial `connect_at` unless the worker process runs a manager of its own
   * (see `init_worker`).
   *
   * ```ts
   * class ViaProxy extends LocalManager {
   *   async connect(pid: number, config: WorkerConfig) {
   *     const [, host, port] = /^tcp:(.*):(\d+)$/.exec(config.connect_at!)!;
   *     return net.connect(await myProxyFor(host, Number(port)));
   *   }
   * }
   * await addprocs(new ViaProxy(2), { transport: 'tcp' });
   * ```
   */
  connect?(pid: number, config: WorkerConfig): Promise<TransportStreams>;

  /**
   * The options `addprocs(manager, opts)` merges `opts` into (Julia's `default_addprocs_params(manager)`).
   * The default is `default_addprocs_params()`; a manager with keywords of its own extends it.
   *
   * ```ts
   * class MyManager extends ClusterManager {
   *   override default_addprocs_params() { return { ...super.default_addprocs_params(), timeout: 120 }; }
   *   // launch, manage …
   * }
   * ```
   */
  default_addprocs_params(): AddprocsOptions {
    return default_addprocs_params();
  }
}
