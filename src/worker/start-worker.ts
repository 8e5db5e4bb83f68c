/**
 * A worker process: reads the cookie, listens, announces its address on stdout, accepts the master's
 * connection (checking the cookie), joins the cluster, serves calls, and exits when the master goes away
 * or never comes (Julia's `start_worker`). A worker on a transport of its own starts with `init_worker`
 * instead and is handed its connections with `process_messages` (Julia's names too).
 */
import * as net from 'node:net';
import * as os from 'node:os';
import { inspect } from 'node:util';
import { PGRP } from '../cluster/process-group';
import { CORE_EXPORTS } from './globals';
import { registerBuiltinTypes } from '../serialization/builtin-types';
import { registerCorePackageFunctions } from '../serialization/functions';
import { cluster_cookie } from '../cluster/cookie';
import { ANNOUNCE_PREFIX } from '../cluster/worker-output';
import type { JoinAnswer, JoinRecord, MembersNotice } from '../cluster/addprocs';
import { Connection, INVALID_DATA, asDuplex, formatAddress, splitBindAddress, type Address, type ConnectionStream, type TransportStreams } from '../transport/connection';
import { handleFrame, holdFramesUntilJoined, onMessage } from '../messages/process-messages';
import { sendFrame } from '../messages/messaging';
import { MessageKind } from '../wire/generated/dts/wire/message-kind';
import type { Topology } from '../cluster/process-group';
import { connectToWorker, dialable, notePeer, setWorkerManager } from '../cluster/worker-links';
import { defaultWorkerTimeout, type ClusterManager } from '../cluster/cluster-manager';
import { installWorkerGlobals } from './globals';
import { enableInterrupts } from './interruptible';
import { applyIdleSpin } from '../transport/idle-spin';
import { updateBatchScheduling } from './batch-scheduling';
import { takeDeferredLoaders } from './deferred-loaders';

/** How a worker is started. */
export interface WorkerOptions {
  /** The cluster cookie; read from the first line of stdin when absent. */
  cookie?: string;
  /** 'unix' (abstract socket, the default for local workers) or 'tcp'. */
  transport?: 'unix' | 'tcp';
  /** TCP address to bind, `host[:port]` (default 127.0.0.1 and an ephemeral port). */
  bindTo?: string;
  /** Take only TLS connections, keyed by the cookie (transport/tls-psk.ts); TCP only. */
  tls?: boolean;
}

let joined = false;

/**
 * A promise rejected by shipped code with nobody to handle it, or an error thrown from a callback it
 * scheduled (a timer, an event), ends a Node process by default; a worker reports it (on stderr, so
 * the master prints it `From worker N:`) and keeps serving, as a Julia worker keeps running when a
 * task it started fails. (Errors of the calls themselves never get here: they go back to the caller.)
 */
function reportUncaughtErrors(): void {
  const report = (what: string, reason: unknown): void => {
    let text: string;
    try {
      text = reason instanceof Error ? (reason.stack ?? `${reason.name}: ${reason.message}`) : inspect(reason);
    } catch {
      text = '(a value that cannot be printed)';
    }
    process.stderr.write(`distributed-ts worker ${PGRP.id}: ${what} (the worker keeps running): ${text}\n`);
  };
  process.on('unhandledRejection', (reason) => report('unhandled promise rejection', reason));
  process.on('uncaughtException', (error) => report('uncaught exception', error));
}

function exitSoon(code: number): void {
  setImmediate(() => process.exit(code));
}

function readCookieFromStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        process.stdin.off('data', onData);
        process.stdin.off('end', onEnd);
        resolve(buf.slice(0, nl).replace(/\r$/, ''));
      }
    };
    const onEnd = () => reject(new Error('stdin closed before the cluster cookie arrived'));
    process.stdin.on('data', onData);
    process.stdin.on('end', onEnd);
  });
}

function listen(server: net.Server, opts: WorkerOptions): Promise<Address> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    if ((opts.transport ?? 'unix') === 'unix' && !opts.bindTo) {
      // Unique, not secret (the cookie guards the socket): no need for node:crypto here.
      const path = `\0dts-${process.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
      server.listen(path, () => resolve({ path }));
    } else {
      const { host, port } = splitBindAddress(opts.bindTo ?? '127.0.0.1');
      server.listen(port, host, () => {
        const a = server.address() as net.AddressInfo;
        resolve({ host: host === '0.0.0.0' ? '127.0.0.1' : host, port: a.port });
      });
    }
  });
}

/** Set once this process is a worker (start_worker or init_worker). */
let initialised = false;
/** The start_worker timer that ends a worker the master never joins. */
let joinTimer: NodeJS.Timeout | undefined;

/**
 * What makes this process a worker, whatever its transport: its errors reported, the types and package
 * functions every worker has, the cookie, and the handlers of the master's messages (Join, Members, Exit).
 */
function becomeWorker(cookie: string, fname: string): void {
  if (initialised) throw new Error(`${fname}: this process is already a worker`);
  if (PGRP.processes.size > 0) throw new Error(`${fname}: this process has workers of its own; a master cannot become a worker`);
  cluster_cookie(cookie); // checks it first: nothing changes if it is malformed
  takeDeferredLoaders();
  initialised = true;
  process.env.DISTRIBUTED_TS_WORKER = '1';
  reportUncaughtErrors();
  // What every worker needs before the rest of the package loads (if it ever does): its own error types
  // travel as themselves, and the identity functions run here by name.
  registerBuiltinTypes();
  registerCorePackageFunctions({ ...CORE_EXPORTS, start_worker });
  holdFramesUntilJoined();
  onMessage(MessageKind.Join, (conn, h, payload) => {
    const join = payload as JoinRecord;
    if (joined) {
      process.emitWarning(`distributed-ts: ignoring a second Join from a connection`);
      return;
    }
    joined = true;
    clearTimeout(joinTimer);
    PGRP.id = join.id;
    PGRP.topology = join.topology as Topology;
    PGRP.lazy = join.lazy;
    if (join.host !== undefined) PGRP.hostNames.set(join.id, join.host);
    conn.peer = 1;
    const master = PGRP.add(1, { host: 'localhost' });
    master.connection = conn;
    master.state = 'up';
    for (const o of join.others) notePeer(o);
    conn.onClose(() => {
      // The master closing its end is the usual way out, and says nothing. Bad data on the link is
      // said on stderr (the master prints it as this worker's output), or nobody would know why.
      if (conn.closeReason.startsWith(INVALID_DATA)) process.stderr.write(`distributed-ts worker ${PGRP.id}: the connection to the master failed (${conn.closeReason}); exiting\n`);
      exitSoon(0);
    });
    if (typeof join.spin === 'number') applyIdleSpin(join.spin);
    updateBatchScheduling();
    const answer: JoinAnswer = { ospid: process.pid, cpuThreads: os.availableParallelism() };
    // lazy: false connects every pair at addprocs: each worker dials those that announced before it.
    // Topology 'custom' connects at once too (as Julia does), to the workers it is linked with.
    const dialNow = (join.topology === 'all_to_all' && !join.lazy) || join.topology === 'custom';
    const eager = dialNow ? join.others.filter(dialable).map((o) => connectToWorker(o.id).catch(() => undefined)) : [];
    void Promise.all(eager).then(() => {
      if (!conn.closed) sendFrame(conn, MessageKind.JoinComplete, answer, { responseId: h.requestId });
    });
  });
  onMessage(MessageKind.Members, (_conn, _h, payload) => {
    const news = payload as MembersNotice;
    for (const o of news.add) if (o.id !== PGRP.id) notePeer(o);
    for (const id of news.remove) PGRP.get(id)?.markGone('removed from the cluster');
    if (typeof news.spin === 'number') applyIdleSpin(news.spin);
    updateBatchScheduling();
  });
  onMessage(MessageKind.Exit, () => exitSoon(0));
}

/**
 * Runs this process as a worker. Resolves once it is listening (and has printed its address).
 *
 * ```ts
 * await start_worker({ cookie: 'secret' });
 * ```
 */
export async function start_worker(opts: WorkerOptions = {}): Promise<void> {
  // Checked first: a call with wrong options leaves this process as it was, free to try again.
  if (opts.tls === true && (opts.transport ?? 'unix') !== 'tcp') throw new Error('start_worker: tls needs the tcp transport');
  const cookie = opts.cookie ?? (await readCookieFromStdin());
  becomeWorker(cookie, 'start_worker');
  // The master going away closes our stdin: leave with it.
  process.stdin.on('end', () => exitSoon(0));
  process.stdin.on('error', () => exitSoon(0));
  process.stdin.resume();

  const server = net.createServer({ pauseOnConnect: true }, (raw) => {
    const conn = Connection.accept(raw, cookie, handleFrame, { tls: opts.tls });
    conn.ready.catch(() => undefined);
  });
  const listening = await listen(server, opts);
  const address: Address = opts.tls === true && !('path' in listening) ? { ...listening, tls: true } : listening;
  process.stdout.write(`${ANNOUNCE_PREFIX}${formatAddress(address)}\n`);

  const timeoutS = defaultWorkerTimeout();
  joinTimer = setTimeout(() => {
    if (joined) return;
    process.stderr.write(`distributed-ts worker: the master did not connect within ${timeoutS} s (DISTRIBUTED_WORKER_TIMEOUT); exiting\n`);
    process.exit(1);
  }, timeoutS * 1000);
}

/**
 *     init_worker(cookie, manager?)
 *
 * Makes this process a worker that is reached over a transport of its own (Julia's `init_worker`), for
 * cluster managers whose workers are not started with `--worker`/`start_worker`: it listens on nothing
 * and announces nothing. Give each connection that arrives over the transport, the master's and other
 * workers', to `process_messages`. `cookie` must be the master's `cluster_cookie()`. With `manager`,
 * this worker makes its own worker-to-worker connections with `manager.connect(pid, config)` (the
 * peer's `config.connect_at` is what the master knows of it); without, it dials `connect_at` over a
 * socket. Also puts the package's exports in the global scope and makes calls interruptible, as for
 * every worker. The worker exits when its connection to the master closes.
 *
 * ```ts
 * init_worker(cookieFromTheMaster);
 * process_messages(new net.Socket({ fd: 3 })); // the master reaches this process over an inherited socket
 * ```
 */
export function init_worker(cookie: string, manager?: ClusterManager): void {
  if (typeof cookie !== 'string') throw new TypeError(`init_worker: cookie must be a string, got ${typeof cookie}`);
  if (manager !== undefined && (manager === null || typeof manager !== 'object' || typeof manager.launch !== 'function')) {
    throw new TypeError('init_worker: manager must be a ClusterManager');
  }
  becomeWorker(cookie, 'init_worker');
  setWorkerManager(manager);
  installWorkerGlobals();
  enableInterrupts();
}

/**
 *     process_messages(streams) -> Promise<void>
 *
 * Serves one incoming cluster connection over `streams`, a Duplex or Julia's pair `[readable, writable]`
 * (Julia's `process_messages(r_stream, w_stream, incoming=true)`): checks the cookie the other side
 * presents, answers with this version, then handles its messages (the master's Join, another worker's
 * calls…). Call `init_worker` first. Resolves when the connection closes. (Julia's `incoming=false`,
 * a connection this side opens, is what `connect` does: a worker's own links go through its manager.)
 *
 * ```ts
 * init_worker(cookie);
 * net.createServer((s) => void process_messages(s)).listen(port);
 * ```
 */
export function process_messages(streams: TransportStreams): Promise<void> {
  if (!initialised) throw new Error('process_messages: call init_worker(cookie) first (this process is not a worker)');
  const conn = Connection.overStream(asDuplex(streams, 'process_messages') as ConnectionStream, 'accepting', cluster_cookie(), handleFrame);
  return new Promise<void>((resolve) => conn.onClose(() => resolve()));
}
