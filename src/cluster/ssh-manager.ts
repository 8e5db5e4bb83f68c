/**
 * `SSHManager`: workers on other machines, started over `ssh` (Julia's SSHManager).
 *
 * Each worker is one `ssh` session running the worker script on the remote host. As with local workers,
 * the cookie goes to it on the session's standard input, never on a command line; the worker listens on
 * TCP, prints its address, and leaves when its standard input closes, that is when this process or its
 * `ssh` goes away. With `tunnel: true` the worker listens on the remote host's loopback only and this
 * process reaches it through an `ssh -L` forward of its own, which also ends when this process ends.
 * With `multiplex: true` a host's sessions and forwards share one ssh connection (ssh-control.ts).
 * Machine entries are parsed in ssh-machines.ts.
 */
import * as net from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { ClusterManager, type AddprocsOptions } from './cluster-manager';
import type { WorkerConfig } from './worker-config';
import { WORKER_SCRIPT } from './local-manager';
import { deferrableLoaderFlags } from './deferred-loaders';
import { DEFERRED_LOADERS_VARIABLE } from '../worker/deferred-loaders';
import { ANNOUNCE_PREFIX, eachLine } from './worker-output';
import { parseMachine, shellQuote, type Machine, type MachineSpec } from './ssh-machines';
import { acquireMaster, clients, controlCommand, detach, outcome, releaseMaster, runSSH, sessionTiedToThisProcess, through, type ControlMaster } from './ssh-control';

/** The options of `addprocs(machines, opts)` beyond those of every `addprocs` (Julia's keywords). */
export interface SSHOptions {
  /** Reach each worker through an `ssh -L` tunnel instead of connecting to it directly (default false). */
  tunnel?: boolean;
  /** Extra arguments for every `ssh` (e.g. `['-i', '/home/me/key.pem']`). */
  sshflags?: string[];
  /** The `ssh` client to run (default `'ssh'`). */
  ssh?: string;
  /** At most this many workers being started at once on one host (default 10). */
  max_parallel?: number;
  /** The remote shell: only `'posix'` (sh, bash, …). */
  shell?: 'posix';
  /**
   * One ssh connection per host for all its workers and tunnels (OpenSSH's ControlMaster), instead of
   * one per worker: fewer logins when many workers start on one host (default false).
   */
  multiplex?: boolean;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Checks the SSH options of an `addprocs` call (TypeError/RangeError naming the option). */
export function checkSSHOptions(o: SSHOptions): void {
  if (o.tunnel !== undefined && typeof o.tunnel !== 'boolean') throw new TypeError('addprocs: tunnel must be a boolean');
  if (o.sshflags !== undefined && (!Array.isArray(o.sshflags) || o.sshflags.some((f) => typeof f !== 'string'))) {
    throw new TypeError('addprocs: sshflags must be an array of strings');
  }
  if (o.ssh !== undefined && (typeof o.ssh !== 'string' || o.ssh === '')) throw new TypeError('addprocs: ssh must be the name or path of an ssh client');
  if (o.max_parallel !== undefined && !(Number.isInteger(o.max_parallel) && o.max_parallel >= 1)) {
    throw new RangeError(`addprocs: max_parallel must be a positive integer, got ${String(o.max_parallel)}`);
  }
  if (o.multiplex !== undefined && typeof o.multiplex !== 'boolean') throw new TypeError('addprocs: multiplex must be a boolean');
  if (o.shell !== undefined && o.shell !== 'posix') throw new RangeError(`addprocs: shell must be 'posix' (the only remote shell this version supports), got ${String(o.shell)}`);
}

/** Lets at most `n` tasks run at once. */
class Gate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly n: number) {}
  async enter(): Promise<() => void> {
    if (this.running >= this.n) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.running--;
      this.waiting.shift()?.();
    };
  }
}

/**
 * The tunnels this process opened, closed when their worker goes away (and by their own end when this
 * process ends): an `ssh -L` process, or a forward on a shared connection (`multiplex`).
 */
const tunnels = new Map<WorkerConfig, { child?: ChildProcess; close(): void }>();

function closeTunnel(config: WorkerConfig): void {
  tunnels.get(config)?.close();
  tunnels.delete(config);
}

/**
 * Starts workers on remote machines over `ssh`, as `addprocs(machines, opts)` does.
 *
 * ```ts
 * await addprocs(new SSHManager(['node1', ['me@node2:2222', 4]]), { sshflags: ['-i', 'key.pem'] });
 * ```
 */
export class SSHManager extends ClusterManager {
  readonly machines: Machine[];
  /** The cluster cookie to hand each worker. @internal set by addprocs */
  cookie = '';

  constructor(machines: readonly MachineSpec[]) {
    super();
    if (!Array.isArray(machines) || machines.length === 0) throw new RangeError('SSHManager: give at least one machine');
    this.machines = machines.map(parseMachine);
  }

  /**
   * `default_addprocs_params()` with SSHManager's keywords (Julia's defaults): `ssh: 'ssh'`,
   * `sshflags: []`, `shell: 'posix'`, `tunnel: false`, `multiplex: false`, `max_parallel: 10`, and
   * `exeflags: []` (a remote node gets no loader flags of this process).
   *
   * ```ts
   * new SSHManager(['node1']).default_addprocs_params().tunnel // false
   * ```
   */
  override default_addprocs_params(): AddprocsOptions & SSHOptions {
    return { ...super.default_addprocs_params(), exeflags: [], ssh: 'ssh', sshflags: [], shell: 'posix', tunnel: false, multiplex: false, max_parallel: 10 };
  }

  async launch(params: AddprocsOptions & SSHOptions, launched: WorkerConfig[], notify: () => void): Promise<void> {
    // (addprocs has checked the options.) Every machine's command is made once first, so a bad option (an env name) fails before any ssh starts.
    for (const machine of this.machines) workerCommand(machine, params);
    const starts: Promise<void>[] = [];
    for (const machine of this.machines) {
      const gate = new Gate(params.max_parallel ?? 10);
      starts.push(
        (async () => {
          // With multiplex, this launch holds the host's shared connection until its workers hold it.
          const master = params.multiplex === true ? acquireMaster(machine, params) : undefined;
          try {
            await master?.ready;
            const count = machine.count === 'auto' ? await remoteThreads(machine, params, master) : machine.count;
            const each: Promise<void>[] = [];
            for (let i = 0; i < count; i++) {
              each.push(
                gate.enter().then((leave) => {
                  const config = startWorker(machine, params, this.cookie, leave, master === undefined ? undefined : acquireMaster(machine, params));
                  launched.push(config);
                  notify();
                }),
              );
            }
            await Promise.all(each);
          } finally {
            releaseMaster(master);
          }
        })(),
      );
    }
    await Promise.all(starts);
  }

  /**
   * `'register'`: the worker joined, so its ssh session and tunnel no longer keep this process alive;
   * `'interrupt'` sends the worker SIGINT over ssh; `'finalize'` (the worker is gone) closes its tunnel, if any.
   */
  override manage(_id: number, config: WorkerConfig, op: 'register' | 'deregister' | 'interrupt' | 'finalize'): void {
    const data = config.environ as SSHEnviron;
    if (op === 'register') {
      for (const c of [config.process, tunnels.get(config)?.child]) if (c !== undefined) detach(c);
    } else if (op === 'interrupt' && config.ospid !== undefined) {
      void outcome(runSSH(data.machine, data.params, `kill -INT ${config.ospid}`, through(data.master)));
    } else if (op === 'finalize') {
      // Only once the worker is gone: its Exit message may still be on its way through the tunnel.
      closeTunnel(config);
    }
  }
}

/** The remote command that runs one worker. */
function workerCommand(machine: Machine, params: AddprocsOptions & SSHOptions): string {
  const env: Record<string, string> = { DISTRIBUTED_TS_WORKER: '1' };
  // As Julia passes JULIA_WORKER_TIMEOUT: how long the worker waits for this process to connect.
  if (process.env.DISTRIBUTED_WORKER_TIMEOUT !== undefined) env.DISTRIBUTED_WORKER_TIMEOUT = process.env.DISTRIBUTED_WORKER_TIMEOUT;
  for (const [k, v] of Object.entries(params.env ?? {})) {
    if (!ENV_NAME.test(k)) throw new RangeError(`addprocs: env name ${JSON.stringify(k)} is not a shell variable name`);
    env[k] = v;
  }
  // tsx's flags, given in exeflags, are registered by the worker when first needed (deferred-loaders.ts).
  const deferred = deferrableLoaderFlags(params.exeflags ?? [], params.env);
  if (deferred !== undefined) env[DEFERRED_LOADERS_VARIABLE] = JSON.stringify(deferred);
  const bind = params.tunnel ? '127.0.0.1' : (machine.bindAddr ?? machine.host);
  const bindTo = machine.bindPort !== undefined ? `${bind}:${machine.bindPort}` : bind;
  const words = [
    'env',
    ...Object.entries(env).map(([k, v]) => `${k}=${shellQuote(v)}`),
    shellQuote(params.exename ?? process.execPath),
    ...(deferred === undefined ? (params.exeflags ?? []) : []).map(shellQuote),
    shellQuote(WORKER_SCRIPT),
    '--transport=tcp',
    `--bind-to=${shellQuote(bindTo)}`,
    ...(params.tls === true ? ['--tls'] : []),
  ];
  return `cd ${shellQuote(params.dir ?? process.cwd())} && exec ${words.join(' ')}`;
}

/** What SSHManager keeps in a worker's `environ` (Julia's private per-worker data of the built-in managers). */
interface SSHEnviron {
  [key: string]: unknown;
  machine: Machine;
  params: AddprocsOptions & SSHOptions;
  master?: ControlMaster;
}

/** Starts one worker's ssh session; `started` is called once it announced itself or ended. */
function startWorker(machine: Machine, params: AddprocsOptions & SSHOptions, cookie: string, started: () => void, master?: ControlMaster): WorkerConfig {
  const child = runSSH(machine, params, workerCommand(machine, params), through(master));
  clients.add(child);
  child.stdin!.on('error', () => undefined);
  child.stdin!.write(`${cookie}\n`);
  let done = false;
  const ended = (): void => {
    clients.delete(child);
    closeTunnel(config);
    started();
    if (!done) releaseMaster(master);
    done = true;
  };
  child.once('exit', ended);
  child.once('error', ended);
  const config: WorkerConfig = {
    stderr: child.stderr!,
    process: child,
    host: machine.host,
    port: machine.bindPort,
    exename: params.exename,
    exeflags: params.exeflags,
    env: params.env,
    dir: params.dir,
    count: typeof machine.count === 'number' ? machine.count : undefined,
    tunnel: params.tunnel === true,
    multiplex: params.multiplex === true,
    bind_addr: params.tunnel === true ? '127.0.0.1' : (machine.bindAddr ?? machine.host),
    sshflags: params.sshflags,
    max_parallel: params.max_parallel,
    environ: { machine, params, master } satisfies SSHEnviron,
  };
  // The announcement is passed on as it is, or, through a tunnel, rewritten to the tunnel's local end.
  const io = new PassThrough();
  config.io = io;
  let announced = false;
  eachLine(child.stdout!, (line) => {
    if (announced || !line.startsWith(ANNOUNCE_PREFIX)) {
      io.write(`${line}\n`);
      return;
    }
    announced = true;
    started();
    if (!params.tunnel) {
      io.write(`${line}\n`);
      return;
    }
    const m = /^(tcp|tls):(.*):(\d+)$/.exec(line.slice(ANNOUNCE_PREFIX.length).trim());
    if (m === null) {
      io.write(`${line}\n`);
      return;
    }
    void openTunnel(machine, params, Number(m[3]), config, master).then(
      (local) => io.write(`${ANNOUNCE_PREFIX}${m[1]}:127.0.0.1:${local}\n`),
      (e: Error) => {
        io.write(`the ssh tunnel to the worker failed: ${e.message}\n`);
        child.kill('SIGTERM');
      },
    );
  });
  child.stdout!.on('end', () => io.end());
  return config;
}

/** @internal A free TCP port on this host's loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Forwards a local port to the worker's `remotePort` on the remote loopback and resolves with the local
 * port once it accepts connections. The tunnel's remote side waits on its standard input, so the tunnel
 * ends when this process does.
 */
async function openTunnel(machine: Machine, params: SSHOptions, remotePort: number, config: WorkerConfig, master?: ControlMaster): Promise<number> {
  const local = await freePort();
  const forward = `127.0.0.1:${local}:127.0.0.1:${remotePort}`;
  config.forward = forward;
  let exited = false;
  if (master !== undefined) {
    // A forward added to the host's shared connection (and cancelled there when the worker is gone).
    const r = await controlCommand(machine, params, master, ['-O', 'forward', '-L', forward]);
    if (r.code !== 0) throw new Error(`ssh -O forward failed: ${r.err.trim()}`);
    tunnels.set(config, { close: () => void controlCommand(machine, params, master, ['-O', 'cancel', '-L', forward]) });
  } else {
    const { child } = sessionTiedToThisProcess(machine, params, ['-o', 'ExitOnForwardFailure=yes', '-L', forward]);
    tunnels.set(config, { child, close: () => child.kill('SIGTERM') });
    child.once('exit', () => (exited = true));
  }
  for (let i = 0; i < 600; i++) {
    if (exited) throw new Error(`ssh -L exited (port ${local})`);
    // The worker drops this probe (it presents no cookie); the real connection follows.
    if (await accepts(local)) return local;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the tunnel did not open within 30 s');
}

/** @internal Whether something accepts TCP connections on `port` of this host's loopback. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** @internal How many CPU threads `machine` has, asked of the node there (count 'auto'). */
export async function remoteThreads(machine: Machine, params: AddprocsOptions & SSHOptions, master?: ControlMaster): Promise<number> {
  const { code, out, err } = await outcome(runSSH(machine, params, `exec ${shellQuote(params.exename ?? process.execPath)} -p "require('os').availableParallelism()"`, through(master)));
  const n = Number(out.trim());
  if (code !== 0 || !(Number.isInteger(n) && n >= 1)) {
    throw new Error(`addprocs: could not ask ${machine.host} for its CPU threads (count 'auto'): ${err.trim() || `ssh exited with ${code}`}`);
  }
  return n;
}
