/**
 * `WorkerConfig`: what a cluster manager knows about one worker, with Julia's field names.
 */
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

/**
 * How to reach and manage one worker. Cluster managers fill it in `launch`; the fields are Julia's
 * (`enable_threaded_blas` is left out: there is no BLAS to thread here).
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
  /** Data of an external cluster manager, per worker (the built-in managers leave it alone). */
  userdata?: unknown;
  /** Private data of the built-in managers (Julia's `environ`: SSHManager keeps its machine and session here). */
  environ?: Record<string, unknown>;

  // SSHManager's fields (Julia's): how it reached the worker.
  /** Reached through an `ssh -L` tunnel. */
  tunnel?: boolean;
  /** Its ssh session shares the host's one ssh connection (ControlMaster). */
  multiplex?: boolean;
  /** The tunnel's forward, `'localport:remotehost:remoteport'` as given to `ssh -L`. */
  forward?: string;
  /** The address the worker binds to: a machine entry's `bind_addr` (default its host), or the remote loopback with `tunnel`. */
  bind_addr?: string;
  /** The extra `ssh` arguments it was started with. */
  sshflags?: string[];
  /** At most this many workers were started at once on its host. */
  max_parallel?: number;

  /**
   * Where the worker is reached: `'tcp:host:port'`, `'tls:host:port'` or `'unix:path'` (`'unix:@name'`
   * for an abstract socket). A manager may set it in `launch`; otherwise `addprocs` fills it from the
   * worker's announcement (or from `host`/`port`/`path`). It is passed to every `connect` call, and other
   * workers dial it for worker-to-worker connections (Julia's `connect_at`). A manager whose `connect`
   * reaches the worker by other means may leave it unset: the worker is then reachable from the master only.
   */
  connect_at?: string;

  /** The worker as the cluster manager names it, for topology 'custom' (Julia's `ident`: a string or a number). */
  ident?: string | number;
  /**
   * With topology 'custom', the `ident`s of the workers this worker connects to (Julia's
   * `connect_idents`). Connections are both ways: two workers are linked when either lists the other.
   * Workers not linked cannot call each other; calls through the master still work.
   */
  connect_idents?: Array<string | number>;
}
