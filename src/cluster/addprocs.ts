/**
 * Adding and removing workers (Julia's `addprocs` and `rmprocs`), on process 1 only.
 */
import * as os from 'node:os';
import type { Readable } from 'node:stream';
import { ClusterManager, default_addprocs_params, defaultWorkerTimeout, type AddprocsOptions } from './cluster-manager';
import { LocalManager } from './local-manager';
import { SSHManager, checkSSHOptions, type SSHOptions } from './ssh-manager';
import type { MachineSpec } from './ssh-machines';
import { PGRP, myid, type ProcessRecord } from './process-group';
import type { WorkerConfig } from './worker-config';
import { cluster_cookie } from './cookie';
import { ANNOUNCE_PREFIX, eachLine, forwardLine } from './worker-output';
import { Connection, asDuplex, parseAddress, type Address } from '../transport/connection';
import { handleFrame, onMessage } from '../messages/process-messages';
import { sendFrame } from '../messages/messaging';
import { MessageKind } from '../wire/generated/dts/wire/message-kind';
import { sendRequest, settle } from '../messages/requests';
import { dropClient } from '../remote/ref-store';
import { applyIdleSpin, appliedIdleSpin, idleSpinMicros, spinWindowFor } from '../transport/idle-spin';

/**
 * Another worker, as a worker is told of it: where to dial it (absent when it has no address other
 * workers can use, a custom transport's worker) and, with topology 'custom', `linked: false` when the
 * two must not connect (neither lists the other's `ident` in its `connect_idents`).
 */
export interface PeerEntry {
  id: number;
  address?: string;
  linked?: false;
  /** Its host as its cluster manager named it (`WorkerConfig.host`), when not this machine's ('localhost'). */
  host?: string;
}

/** What a worker is told when it joins (Julia's JoinPGRPMsg). */
export interface JoinRecord {
  id: number;
  topology: string;
  lazy: boolean;
  /** The other workers at the time (for worker-to-worker connections, and their hosts). */
  others: PeerEntry[];
  /**
   * The worker's own host as its cluster manager named it, when not this machine's: with its peers'
   * hosts, what `procs(pid)` reads on a worker (a worker cannot tell on its own which peers share its
   * machine; two hosts can both listen on 127.0.0.1 behind ssh tunnels).
   */
  host?: string;
  /** Its idle polling window in microseconds (transport/idle-spin.ts; 0 = off). */
  spin: number;
}

/** Membership news for workers that already joined (MessageKind.Members). */
export interface MembersNotice {
  add: PeerEntry[];
  remove: number[];
  /** The idle polling window now in force, in microseconds (transport/idle-spin.ts). */
  spin: number;
}

/** Workers sent a Join: they hear of every later arrival and departure. */
const joinedWorkers = new Set<number>();

/** The cluster's idle polling window: process 1 decides it from every process it knows, starting ones included. */
function clusterSpin(): number {
  return spinWindowFor(PGRP.processes.size + 1);
}

/**
 * @internal Applies the cluster's idle polling window here and, when it changed, tells the joined
 * workers (called on membership changes; benchmarks call it after `setIdleSpinMicros`).
 */
export function updateClusterSpin(): void {
  const spin = clusterSpin();
  if (spin === appliedIdleSpin()) return;
  applyIdleSpin(spin);
  broadcastMembers({ add: [], remove: [] }, 0);
}

/**
 * Tells every joined worker except `except` of a change in membership (and of the idle polling window).
 * `add` lists the new workers' ids: each receiver is told how it may reach them (`peerEntry`).
 */
function broadcastMembers(change: { add: number[]; remove: number[] }, except: number): void {
  for (const pid of joinedWorkers) {
    if (pid === except) continue;
    const conn = PGRP.get(pid)?.connection;
    if (conn === undefined || conn.closed) continue;
    const notice: MembersNotice = { add: change.add.map((id) => peerEntry(pid, id)), remove: change.remove, spin: appliedIdleSpin() };
    try {
      sendFrame(conn, MessageKind.Members, notice, { rootPath: 'members' });
    } catch {
      // that worker is going away itself
    }
  }
}

PGRP.onGone.push((id) => {
  if (myid() !== 1) return;
  joinedWorkers.delete(id);
  applyIdleSpin(clusterSpin());
  broadcastMembers({ add: [], remove: [id] }, id);
});

/** What a worker answers (Julia's JoinCompleteMsg). */
export interface JoinAnswer {
  ospid: number;
  cpuThreads: number;
}

onMessage(MessageKind.JoinComplete, (_conn, h, payload) => settle(h.responseId, payload, false));
PGRP.onGone.push(dropClient);

const managers = new Map<number, ClusterManager>();

/** The cluster manager that launched worker `pid` (for `interrupt`). @internal */
export function managerOf(pid: number): ClusterManager | undefined {
  return managers.get(pid);
}
/**
 * Workers past their announcement, with the address other workers reach them at (their `connect_at`;
 * undefined for a custom transport's worker that has none). Those are the workers a joining one is told of.
 */
const addresses = new Map<number, string | undefined>();

/** The address worker `pid` listens on, as it announced it (for tests and diagnostics). @internal */
export function workerAddress(pid: number): string | undefined {
  return addresses.get(pid);
}

/** Whether `x` lists `y`'s ident in its connect_idents. */
function lists(x: WorkerConfig, y: WorkerConfig): boolean {
  return y.ident !== undefined && Array.isArray(x.connect_idents) && x.connect_idents.includes(y.ident);
}

/**
 * Whether workers `a` and `b` may connect to each other: always, except with topology 'custom', where
 * they may when either lists the other's `ident` in its `connect_idents` (Julia: a worker connects to
 * those it lists; the connection then serves both ways).
 */
function linked(a: number, b: number): boolean {
  if (PGRP.topology !== 'custom') return true;
  const ca = PGRP.get(a)?.config;
  const cb = PGRP.get(b)?.config;
  return ca !== undefined && cb !== undefined && (lists(ca, cb) || lists(cb, ca));
}

/** Worker `id` as worker `to` is told of it. */
function peerEntry(to: number, id: number): PeerEntry {
  const entry: PeerEntry = { id };
  const host = foreignHost(id);
  if (host !== undefined) entry.host = host;
  if (!linked(to, id)) entry.linked = false;
  else if (addresses.has(id)) entry.address = addresses.get(id);
  return entry;
}

/** Worker `id`'s host when it is not this machine (which every process names 'localhost'). */
function foreignHost(id: number): string | undefined {
  const host = PGRP.get(id)?.config.host;
  return host === undefined || host === 'localhost' ? undefined : host;
}

function onlyMaster(fname: string): void {
  if (myid() !== 1) throw new Error(`${fname}: only process 1 can add or remove workers (this is process ${myid()})`);
}

/**
 *     addprocs(n?, opts?) -> Promise<number[]>
 *     addprocs(opts) -> Promise<number[]>
 *
 * Starts workers and adds them to the cluster; resolves with their ids. With a number, starts that many
 * local workers; with no number (or options alone, Julia's `addprocs(; kw...)`), one per CPU thread;
 * with a list of machines, workers on them over ssh (`'[user@]host[:port] [bind_addr[:port]]'`, or
 * `[that, count]`; see {@link SSHOptions}); with a `ClusterManager`, whatever it launches. The options
 * are merged into `default_addprocs_params(manager)`. Workers start in parallel. A worker that fails to
 * start rejects the call within `timeout` seconds with the reason (and what it printed).
 *
 * ```ts
 * const ids = await addprocs(2); // [2, 3]
 * await addprocs({ exeflags: ['--max-old-space-size=4096'] }); // one per CPU thread
 * await addprocs(['node1', ['me@node2:2222', 4]], { sshflags: ['-i', 'key.pem'] });
 * ```
 */
export async function addprocs(opts?: AddprocsOptions & SSHOptions): Promise<number[]>;
export async function addprocs(n?: number | ClusterManager | readonly MachineSpec[], opts?: AddprocsOptions & SSHOptions): Promise<number[]>;
export async function addprocs(
  first?: number | ClusterManager | readonly MachineSpec[] | (AddprocsOptions & SSHOptions),
  second?: AddprocsOptions & SSHOptions,
): Promise<number[]> {
  onlyMaster('addprocs');
  let n: unknown = first;
  let opts: AddprocsOptions & SSHOptions = second === undefined ? {} : second;
  if (!isManagerLike(first) && isOptionsObject(first)) {
    if (second !== undefined) throw new TypeError('addprocs: options given twice (addprocs(opts) takes no second argument; use addprocs(n, opts))');
    n = undefined;
    opts = first;
  }
  let manager: ClusterManager;
  if (n instanceof ClusterManager || isManagerLike(n)) manager = n as ClusterManager;
  else if (Array.isArray(n)) manager = new SSHManager(n as readonly MachineSpec[]);
  else if (n !== undefined && typeof n === 'object' && n !== null) {
    throw new TypeError(
      `addprocs: the first argument must be a number of workers, a ClusterManager, a list of machines or an options object, got ${describeValue(n)} (a cluster manager extends ClusterManager and has launch and manage)`,
    );
  } else {
    const count = n ?? os.availableParallelism();
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
      throw new RangeError(`addprocs: the number of workers must be a non-negative integer, got ${String(n)}`);
    }
    manager = new LocalManager(count);
  }
  // The built-in managers hand workers the cookie: ours, or those of another copy of this package (the
  // same classes by name, with the same empty cookie field).
  if (manager instanceof LocalManager || manager instanceof SSHManager || (isManagerLike(manager) && (manager as { cookie?: unknown }).cookie === '')) {
    (manager as unknown as { cookie: string }).cookie = cluster_cookie();
  }
  validateOptions(opts);
  idleSpinMicros(); // a malformed DISTRIBUTED_IDLE_SPIN_US fails here, before anything starts
  const params: AddprocsOptions & SSHOptions = default_addprocs_params(manager);
  for (const [k, v] of Object.entries(opts)) if (v !== undefined) (params as Record<string, unknown>)[k] = v;
  // TLS runs over TCP: asked for without a transport, the default transport becomes 'tcp'.
  if (opts.tls === true && opts.transport === undefined) params.transport = 'tcp';
  validateOptions(params, 'default_addprocs_params');
  if (params.tls === true && manager.connect !== undefined) {
    throw new RangeError("addprocs: tls secures the built-in sockets; a cluster manager with its own connect carries the cluster over its own streams (secure those instead)");
  }
  PGRP.topology = params.topology!;
  PGRP.lazy = params.lazy!;

  const launched: WorkerConfig[] = [];
  const setups: Array<Promise<number>> = [];
  let taken = 0;
  const startPending = () => {
    while (taken < launched.length) setups.push(setupWorker(launched[taken++], params, manager));
  };
  // A manager that fails part-way may have launched some workers already: those are set up and then
  // removed again, so a failed addprocs leaves nothing behind.
  let launchError: Error | undefined;
  try {
    await manager.launch(params, launched, startPending);
  } catch (e) {
    launchError = e instanceof Error ? e : new Error(String(e));
  }
  startPending();
  const results = await Promise.allSettled(setups);
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length > 0 || launchError !== undefined) {
    const ok = results.filter((r): r is PromiseFulfilledResult<number> => r.status === 'fulfilled').map((r) => r.value);
    await Promise.allSettled(ok.map((id) => removeWorker(id, 5)));
    if (launchError !== undefined) throw new Error(`addprocs: the cluster manager failed to launch workers: ${launchError.message.replace(/^addprocs: /, '')}`);
    const reasons = failures.map((f) => (f.reason as Error).message).join('\n');
    throw new Error(`addprocs: ${failures.length} of ${results.length} worker(s) failed to start:\n${reasons}`);
  }
  const ids = results.map((r) => (r as PromiseFulfilledResult<number>).value).sort((a, b) => a - b);
  // Julia's 'custom' topology fails when a worker's connect_idents name a worker that never joined.
  const unmatched = PGRP.topology === 'custom' ? unmatchedIdents(ids) : [];
  if (unmatched.length > 0) {
    await Promise.allSettled(ids.map((id) => removeWorker(id, 5)));
    throw new Error(`addprocs: topology 'custom': ${unmatched.join('; ')} (no worker has that ident; the workers were removed again)`);
  }
  return ids;
}

/** For each of `ids` whose connect_idents name an ident no worker has: "worker N lists …". */
function unmatchedIdents(ids: readonly number[]): string[] {
  const known = new Set<unknown>();
  for (const rec of PGRP.processes.values()) if (rec.config.ident !== undefined) known.add(rec.config.ident);
  const out: string[] = [];
  for (const id of ids) {
    const missing = (PGRP.get(id)?.config.connect_idents ?? []).filter((x) => !known.has(x));
    if (missing.length > 0) out.push(`worker ${id} lists connect_idents ${missing.map((x) => JSON.stringify(x)).join(', ')}`);
  }
  return out;
}

/** A plain object (not a manager, not a list of machines): `addprocs(opts)`. */
function isOptionsObject(x: unknown): x is AddprocsOptions & SSHOptions {
  if (x === null || typeof x !== 'object' || Array.isArray(x) || x instanceof ClusterManager) return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A manager from another copy of this package (its own ClusterManager class): it has launch and manage. */
function isManagerLike(x: unknown): boolean {
  return x !== null && typeof x === 'object' && typeof (x as ClusterManager).launch === 'function' && typeof (x as ClusterManager).manage === 'function';
}

function describeValue(x: object): string {
  const name = (x.constructor as { name?: string } | undefined)?.name;
  return name ? `an instance of ${name}` : 'an object';
}

/** Checks options (TypeError/RangeError naming the option); `source` names where they came from when not the caller. */
function validateOptions(o: AddprocsOptions & SSHOptions, source?: string): void {
  try {
    checkOptions(o);
  } catch (e) {
    if (source !== undefined && e instanceof Error) e.message = `${e.message} (from the manager's ${source})`;
    throw e;
  }
}

function checkOptions(o: AddprocsOptions & SSHOptions): void {
  if (o === null || typeof o !== 'object') throw new TypeError('addprocs: options must be an object');
  checkSSHOptions(o);
  if (o.exeflags !== undefined && (!Array.isArray(o.exeflags) || o.exeflags.some((f) => typeof f !== 'string'))) {
    throw new TypeError('addprocs: exeflags must be an array of strings');
  }
  if (o.env !== undefined && (typeof o.env !== 'object' || Object.values(o.env).some((v) => typeof v !== 'string'))) {
    throw new TypeError('addprocs: env must be an object of strings');
  }
  if (o.timeout !== undefined && !(typeof o.timeout === 'number' && o.timeout > 0)) {
    throw new RangeError(`addprocs: timeout must be a positive number of seconds, got ${String(o.timeout)}`);
  }
  if (o.topology !== undefined && !['all_to_all', 'master_worker', 'custom'].includes(o.topology)) {
    throw new RangeError(`addprocs: topology must be 'all_to_all', 'master_worker' or 'custom', got ${String(o.topology)}`);
  }
  if (o.transport !== undefined && o.transport !== 'unix' && o.transport !== 'tcp') {
    throw new RangeError(`addprocs: transport must be 'unix' or 'tcp', got ${String(o.transport)}`);
  }
  if (o.tls !== undefined && typeof o.tls !== 'boolean') throw new TypeError('addprocs: tls must be a boolean');
  if (o.tls === true && o.transport === 'unix') throw new RangeError("addprocs: tls runs over TCP: leave transport out, or give 'tcp'");
}

/** Rejects after `ms` with `message`, unless `work` settles first. The timer never outlives the race. */
function withTimeout<T>(work: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message())), ms)));
  return Promise.race([work, t]).finally(() => clearTimeout(timer));
}

async function setupWorker(config: WorkerConfig, params: AddprocsOptions, manager: ClusterManager): Promise<number> {
  const id = PGRP.lastId + 1;
  const rec = PGRP.add(id, config);
  updateClusterSpin();
  const timeoutMs = (params.timeout ?? defaultWorkerTimeout()) * 1000;
  const errLines: string[] = [];
  const child = config.process;
  let exitInfo = '';
  // Without a child process (a custom manager's worker), the worker has exited once it is gone.
  const exited = !child
    ? rec.gone
    : new Promise<void>((resolve) => {
        child.once('exit', (code, signal) => {
          exitInfo = signal ? `killed by ${signal}` : `exited with code ${code}`;
          rec.connection?.close(`worker ${id} ${exitInfo}`);
          rec.markGone(exitInfo);
          resolve();
        });
        child.once('error', (e) => {
          exitInfo = `could not be started: ${e.message}`;
          rec.markGone(exitInfo);
          resolve();
        });
      });
  (rec as ProcessRecord & { exited?: Promise<void> }).exited = exited;

  const describe = (what: string) =>
    `worker ${id} ${what}${exitInfo ? ` (${exitInfo})` : ''}${errLines.length ? `; it printed:\n${errLines.slice(-20).join('\n')}` : ''}`;

  try {
    checkTopologyFields(config);
    const announced = await withTimeout(readAddress(config, id, errLines, exited, manager.connect !== undefined), timeoutMs, () =>
      describe(`did not announce its address within ${timeoutMs / 1000} s`),
    );
    // What launch put in connect_at wins over the announcement (Julia: connect_at is the manager's).
    if (config.connect_at === undefined && announced !== undefined) config.connect_at = announced;
    addresses.set(id, config.connect_at);
    const opening = openConnection(manager, id, config);
    // A worker that exits while its manager's connect is pending fails at once, not at the timeout.
    const exitedFirst = exited.then(() => Promise.reject(new Error(describe('exited before it could be reached'))));
    exitedFirst.catch(() => undefined);
    const conn = await withTimeout(Promise.race([opening, exitedFirst]), timeoutMs, () =>
      describe(`could not be reached within ${timeoutMs / 1000} s (its cluster manager's connect did not finish)`),
    ).catch((e: unknown) => {
      // A connection that opens after all (a late connect) must not live on, owned by nobody.
      void opening.then((c) => c.close('worker failed to start'), () => undefined);
      throw e;
    });
    conn.peer = id;
    rec.connection = conn;
    conn.onClose(() => rec.markGone(conn.closeReason));
    const join: JoinRecord = {
      id,
      topology: params.topology ?? 'all_to_all',
      lazy: params.lazy ?? true,
      // Every worker that announced itself, joined or still joining: one that joins later is told of
      // this one by a Members notice, so each pair learns of each other either way.
      others: [...addresses.keys()].filter((p) => p !== id && PGRP.get(p) !== undefined).map((p) => peerEntry(id, p)),
      spin: appliedIdleSpin(),
    };
    const host = foreignHost(id);
    if (host !== undefined) join.host = host;
    // Sent at once, queued behind the handshake (the worker reads it only once the cookie matched): the
    // handshake's reply and the Join's answer then take one round trip between them, not two.
    const answer = sendRequest(conn, MessageKind.Join, join, { rootPath: 'join' });
    answer.catch(() => undefined); // a failed handshake is the error reported
    joinedWorkers.add(id);
    await withTimeout(conn.ready, timeoutMs, () => describe('did not complete the handshake'));
    const joined = (await withTimeout(answer, timeoutMs, () => describe('did not join'))).value as JoinAnswer;
    config.ospid ??= joined.ospid;
    rec.state = 'up';
    broadcastMembers({ add: [id], remove: [] }, id);
    managers.set(id, manager);
    await manager.manage(id, config, 'register');
    for (const h of PGRP.onUp) h(id);
    // Idle workers must not keep this process alive (SPEC §3a): only pending requests hold it.
    conn.setUnrefWhenIdle(true);
    child?.unref();
    for (const s of [config.io, config.stderr, child?.stdin]) (s as { unref?: () => void } | null | undefined)?.unref?.();
    return id;
  } catch (e) {
    rec.connection?.close('worker failed to start');
    child?.kill('SIGKILL');
    rec.markGone('failed to start');
    throw new Error(describe(`failed to start: ${(e as Error).message.replace(/^worker \d+ /, '')}`));
  }
}

/** Checks a WorkerConfig's `ident` and `connect_idents` (topology 'custom'), naming what is wrong. */
function checkTopologyFields(config: WorkerConfig): void {
  const identOk = (x: unknown) => typeof x === 'string' || (typeof x === 'number' && Number.isFinite(x));
  if (config.ident !== undefined && !identOk(config.ident)) {
    throw new TypeError(`its WorkerConfig's ident must be a string or a number, got ${typeof config.ident}`);
  }
  if (config.connect_idents !== undefined && (!Array.isArray(config.connect_idents) || !config.connect_idents.every(identOk))) {
    throw new TypeError("its WorkerConfig's connect_idents must be an array of idents (strings or numbers)");
  }
}

/**
 * The master's connection to a new worker: over the manager's own transport when it has `connect`
 * (Julia's `connect(manager, pid, config)`), else a Unix or TCP socket to `connect_at` (the fast path).
 */
async function openConnection(manager: ClusterManager, id: number, config: WorkerConfig): Promise<Connection> {
  if (manager.connect !== undefined) {
    let streams;
    try {
      streams = await manager.connect(id, config);
    } catch (e) {
      throw new Error(`its cluster manager's connect failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    let stream;
    try {
      stream = asDuplex(streams, "the cluster manager's connect");
    } catch (e) {
      // Whatever streams it gave are not ours to keep open.
      for (const s of Array.isArray(streams) ? streams : [streams]) (s as { destroy?: () => void } | null)?.destroy?.();
      throw e;
    }
    return Connection.overStream(stream, 'connecting', cluster_cookie(), handleFrame);
  }
  if (config.connect_at === undefined) throw new Error('its WorkerConfig has neither an output stream nor an address');
  return Connection.connect(parseAddress(config.connect_at) as Address, cluster_cookie(), handleFrame);
}

/**
 * Waits for the announcement line on the worker's stdout (`io`); sets up forwarding of everything else.
 * Without `io`, the address is the config's (`connect_at`, `path`, or `host` and `port`): none is an
 * error unless the manager connects by itself (`optional`).
 */
function readAddress(config: WorkerConfig, id: number, errLines: string[], exited: Promise<void>, optional: boolean): Promise<string | undefined> {
  return new Promise<string | undefined>((resolve, reject) => {
    let announced = false;
    const io = config.io as Readable | undefined;
    if (config.stderr) {
      eachLine(config.stderr, (line) => {
        if (!announced) errLines.push(line);
        forwardLine(id, line, process.stderr);
      });
    }
    if (io === undefined) {
      if (config.connect_at !== undefined) return resolve(config.connect_at);
      if (config.path) return resolve(`unix:${config.path.replace(/^\0/, '@')}`);
      if (config.host && config.port) return resolve(`tcp:${config.host}:${config.port}`);
      if (optional) return resolve(undefined);
      return reject(new Error('its WorkerConfig has neither an output stream nor an address'));
    }
    eachLine(io, (line) => {
      if (!announced && line.startsWith(ANNOUNCE_PREFIX)) {
        announced = true;
        resolve(line.slice(ANNOUNCE_PREFIX.length).trim());
        return;
      }
      if (!announced) errLines.push(line);
      forwardLine(id, line, process.stdout);
    });
    void exited.then(() => {
      if (!announced) setImmediate(() => reject(new Error('exited before announcing its address')));
    });
  });
}

/** Options of `rmprocs`. */
export interface RmprocsOptions {
  /** Seconds to wait for the workers to exit: 0 returns at once; past a finite limit, the call rejects. */
  waitfor?: number;
}

const EXIT_GRACE_SECONDS = 10;

/** Asks a worker to leave, escalating to a signal if it does not; resolves when it is gone. */
function removeWorker(id: number, graceSeconds = EXIT_GRACE_SECONDS): Promise<void> {
  const rec = PGRP.get(id);
  if (rec === undefined) return Promise.resolve();
  rec.state = 'terminating';
  const manager = managers.get(id);
  void Promise.resolve(manager?.manage(id, rec.config, 'deregister')).catch(() => undefined);
  try {
    if (rec.connection && !rec.connection.closed) sendFrame(rec.connection, MessageKind.Exit, undefined);
  } catch {
    // the connection is already gone; the signal below still ends the process
  }
  const child = rec.config.process;
  // Idle workers do not keep this process alive, but one being removed must: a script that awaits
  // rmprocs and goes on would otherwise end in the middle of the await.
  child?.ref();
  if (rec.connection && !rec.connection.closed) rec.connection.hold();
  const escalate = setTimeout(() => {
    if (manager?.kill) void Promise.resolve(manager.kill(id, rec.config)).catch(() => undefined);
    setTimeout(() => child?.kill('SIGKILL'), graceSeconds * 1000).unref();
  }, graceSeconds * 1000);
  escalate.unref();
  const exited = (rec as ProcessRecord & { exited?: Promise<void> }).exited ?? Promise.resolve();
  return Promise.all([rec.gone, exited]).then(() => {
    clearTimeout(escalate);
    managers.delete(id);
    addresses.delete(id);
    void Promise.resolve(manager?.manage(id, rec.config, 'finalize')).catch(() => undefined);
  });
}

/**
 * Removes workers. Resolves once they have exited; with `waitfor: 0` at once (removal goes on in the
 * background); with a finite `waitfor` (seconds) rejects if they are not gone by then.
 *
 * ```ts
 * await rmprocs(2, 3);
 * await rmprocs(...workers(), { waitfor: 0 });
 * ```
 */
export async function rmprocs(...args: Array<number | number[] | RmprocsOptions>): Promise<void> {
  onlyMaster('rmprocs');
  let opts: RmprocsOptions = {};
  const last = args[args.length - 1];
  if (last !== undefined && typeof last === 'object' && !Array.isArray(last)) {
    opts = last;
    args = args.slice(0, -1);
  }
  const waitfor = opts.waitfor ?? Infinity;
  if (typeof waitfor !== 'number' || Number.isNaN(waitfor) || waitfor < 0) {
    throw new RangeError(`rmprocs: waitfor must be a non-negative number of seconds, got ${String(opts.waitfor)}`);
  }
  const pids: number[] = [];
  for (const a of args) {
    for (const p of Array.isArray(a) ? a : [a]) {
      if (typeof p !== 'number' || !Number.isInteger(p)) throw new TypeError(`rmprocs: process ids must be integers, got ${String(p)}`);
      pids.push(p);
    }
  }
  const removals: Array<Promise<void>> = [];
  for (const p of pids) {
    if (p === 1) {
      process.emitWarning('rmprocs: process 1 not removed');
      continue;
    }
    removals.push(removeWorker(p));
  }
  const all = Promise.all(removals);
  if (waitfor === 0) {
    all.catch(() => undefined);
    return;
  }
  if (waitfor === Infinity) {
    await all;
    return;
  }
  await withTimeout(all, waitfor * 1000, () => {
    const left = pids.filter((p) => p !== 1 && PGRP.get(p) !== undefined);
    return `rmprocs: pids ${JSON.stringify(left)} not terminated after ${waitfor} seconds`;
  });
}
