/**
 * A worker process: reads the cookie, listens, announces its address on stdout, accepts the master's
 * connection (checking the cookie), joins the cluster, serves calls, and exits when the master goes away
 * or never comes (Julia's `start_worker`).
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
import type { JoinAnswer, JoinRecord } from '../cluster/addprocs';
import { applyHosts, type HostsNotice } from '../cluster/member-hosts';
import { Connection, formatAddress, type Address } from '../transport/connection';
import { handleFrame, onMessage } from '../messages/process-messages';
import { sendFrame } from '../messages/messaging';
import { MessageKind } from '../wire/generated/dts/wire/message-kind';
import type { Topology } from '../cluster/process-group';
import { connectToWorker } from '../cluster/worker-links';
import { applyIdleSpin } from '../transport/idle-spin';

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
      const [host, port] = (opts.bindTo ?? '127.0.0.1').split(/:(?=\d+$)/);
      server.listen(Number(port ?? 0), host, () => {
        const a = server.address() as net.AddressInfo;
        resolve({ host: host === '0.0.0.0' ? '127.0.0.1' : host, port: a.port });
      });
    }
  });
}

/**
 * Runs this process as a worker. Resolves once it is listening (and has printed its address).
 *
 * ```ts
 * await start_worker({ cookie: 'secret' });
 * ```
 */
export async function start_worker(opts: WorkerOptions = {}): Promise<void> {
  process.env.DISTRIBUTED_TS_WORKER = '1';
  reportUncaughtErrors();
  // What every worker needs before the rest of the package loads (if it ever does): its own error types
  // travel as themselves, and the identity functions run here by name.
  registerBuiltinTypes();
  registerCorePackageFunctions({ ...CORE_EXPORTS, start_worker });
  const cookie = opts.cookie ?? (await readCookieFromStdin());
  cluster_cookie(cookie);
  // The master going away closes our stdin: leave with it.
  process.stdin.on('end', () => exitSoon(0));
  process.stdin.on('error', () => exitSoon(0));
  process.stdin.resume();

  if (opts.tls === true && (opts.transport ?? 'unix') !== 'tcp') throw new Error('start_worker: tls needs the tcp transport');
  const server = net.createServer({ pauseOnConnect: true }, (raw) => {
    const conn = Connection.accept(raw, cookie, handleFrame, { tls: opts.tls });
    conn.ready.catch(() => undefined);
  });
  const listening = await listen(server, opts);
  const address: Address = opts.tls === true && !('path' in listening) ? { ...listening, tls: true } : listening;
  process.stdout.write(`${ANNOUNCE_PREFIX}${formatAddress(address)}\n`);

  const timeoutS = Number(process.env.DISTRIBUTED_WORKER_TIMEOUT) > 0 ? Number(process.env.DISTRIBUTED_WORKER_TIMEOUT) : 60;
  const timer = setTimeout(() => {
    if (joined) return;
    process.stderr.write(`distributed-ts worker: the master did not connect within ${timeoutS} s (DISTRIBUTED_WORKER_TIMEOUT); exiting\n`);
    process.exit(1);
  }, timeoutS * 1000);

  onMessage(MessageKind.Join, (conn, h, payload) => {
    const join = payload as JoinRecord;
    if (joined) {
      process.emitWarning(`distributed-ts: ignoring a second Join from a connection`);
      return;
    }
    joined = true;
    clearTimeout(timer);
    PGRP.id = join.id;
    PGRP.topology = join.topology as Topology;
    PGRP.lazy = join.lazy;
    conn.peer = 1;
    const master = PGRP.add(1, { host: 'localhost' });
    master.connection = conn;
    master.state = 'up';
    for (const o of join.others) {
      const known = PGRP.get(o.id);
      if (known === undefined) PGRP.add(o.id, { host: 'localhost', userdata: o.address }).state = 'up';
      else known.config.userdata ??= o.address; // it dialled us before we joined
    }
    conn.onClose(() => exitSoon(0));
    if (typeof join.spin === 'number') applyIdleSpin(join.spin);
    const answer: JoinAnswer = { ospid: process.pid, cpuThreads: os.availableParallelism() };
    // lazy: false connects every pair at addprocs: each worker dials those that announced before it.
    const eager = join.topology === 'all_to_all' && !join.lazy ? join.others.map((o) => connectToWorker(o.id).catch(() => undefined)) : [];
    void Promise.all(eager).then(() => {
      if (!conn.closed) sendFrame(conn, MessageKind.JoinComplete, answer, { responseId: h.requestId });
    });
  });
  onMessage(MessageKind.Members, (_conn, _h, payload) => {
    const news = payload as HostsNotice;
    for (const o of news.add ?? []) {
      if (o.id === PGRP.id) continue;
      const known = PGRP.get(o.id);
      if (known === undefined) PGRP.add(o.id, { host: 'localhost', userdata: o.address }).state = 'up';
      else known.config.userdata ??= o.address; // it dialled us before the notice came
    }
    for (const id of news.remove ?? []) PGRP.get(id)?.markGone('removed from the cluster');
    applyHosts(news);
    if (typeof news.spin === 'number') applyIdleSpin(news.spin);
  });
  onMessage(MessageKind.Exit, () => exitSoon(0));
}
