/**
 * Parent-side plumbing for the baselines: starting the peer process, waiting for its messages, loopback
 * servers and connections, and tearing all of it down. Everything waited for has a timeout.
 */
import { fork, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { withTimeout } from '../lib/async';
import { projectRoot } from '../lib/results';
import type { Address, PeerConfig, ToParent, ToPeer, Transport } from './protocol';

/** The compiled peer script: next to this file when compiled, else under dist/ (when run from .ts). */
export function peerScript(): string {
  const candidates = [
    path.join(__dirname, 'peer.js'),
    path.join(projectRoot(), 'dist', 'bench', 'baselines', 'peer.js'),
  ];
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new Error(`peer script not found (tried ${candidates.join(', ')}); run \`npx tsc -p .\` first`);
}

type MsgType = ToParent['type'];
type MsgOf<T extends MsgType> = Extract<ToParent, { type: T }>;

/** A forked peer process and a typed queue of the messages it sent. */
export class Peer {
  readonly child: ChildProcess;
  private readonly queues = new Map<MsgType, ToParent[]>();
  private readonly waiters = new Map<MsgType, Array<(m: ToParent) => void>>();
  private failure: Error | undefined;
  private readonly failWaiters = new Set<(e: Error) => void>();
  /** Resolves when the process exited. */
  readonly exited: Promise<void>;
  /** Resolves when the process exited and its IPC channel is closed (nothing of it is left in this process). */
  readonly closed: Promise<void>;

  constructor(config: PeerConfig) {
    this.child = fork(peerScript(), [JSON.stringify(config)], {
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.fail(new Error(`peer exited (code ${code}, signal ${signal})`));
        resolve();
      });
    });
    this.closed = new Promise((resolve) => this.child.once('close', () => resolve()));
    this.child.on('error', (e) => this.fail(e));
    this.child.on('message', (m: ToParent) => {
      if (m.type === 'error') return this.fail(new Error(`peer error: ${m.message}`));
      const w = this.waiters.get(m.type);
      if (w && w.length > 0) w.shift()!(m);
      else {
        const q = this.queues.get(m.type) ?? [];
        q.push(m);
        this.queues.set(m.type, q);
      }
    });
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const f of this.failWaiters) f(e);
    this.failWaiters.clear();
  }

  /** The next message of the given type (in arrival order), or a rejection on timeout / peer failure. */
  next<T extends MsgType>(type: T, timeoutMs = 30_000): Promise<MsgOf<T>> {
    const q = this.queues.get(type);
    if (q && q.length > 0) return Promise.resolve(q.shift() as MsgOf<T>);
    if (this.failure) return Promise.reject(this.failure);
    let onFail!: (e: Error) => void;
    let onMsg!: (m: ToParent) => void;
    const p = new Promise<MsgOf<T>>((resolve, reject) => {
      onMsg = (m) => resolve(m as MsgOf<T>);
      onFail = reject;
      this.failWaiters.add(onFail);
      const w = this.waiters.get(type) ?? [];
      w.push(onMsg);
      this.waiters.set(type, w);
    });
    return withTimeout(p, timeoutMs, `peer message '${type}'`).finally(() => {
      this.failWaiters.delete(onFail);
      const w = this.waiters.get(type);
      const i = w ? w.indexOf(onMsg) : -1;
      if (i >= 0) w!.splice(i, 1);
    });
  }

  /**
   * Waits for `p`, but rejects early if the peer fails (exits, reports an error) or `timeoutMs` passes.
   * Leaves no timer or listener behind.
   */
  guard<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    let onFail!: (e: Error) => void;
    const failed = new Promise<never>((_, reject) => {
      onFail = (e) => reject(new Error(`${what}: ${e.message}`));
      this.failWaiters.add(onFail);
    });
    return withTimeout(Promise.race([p, failed]), timeoutMs, what).finally(() => this.failWaiters.delete(onFail));
  }

  send(msg: ToPeer): void {
    if (this.child.connected) this.child.send(msg);
  }

  /**
   * Asks the peer to exit, disconnects IPC, and SIGKILLs it if it is not gone within `graceMs`; then
   * waits (bounded) for its 'close' so no handle of it remains.
   */
  async stop(graceMs = 2000): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      try {
        this.send({ type: 'exit' });
        if (this.child.connected) this.child.disconnect();
      } catch {
        /* already gone */
      }
      try {
        await withTimeout(this.exited, graceMs, 'peer exit');
      } catch {
        this.child.kill('SIGKILL');
        await withTimeout(this.exited, graceMs, 'peer exit after SIGKILL').catch(() => undefined);
      }
    }
    await withTimeout(this.closed, graceMs, 'peer close').catch(() => undefined);
  }
}

/** A loopback server: abstract Unix socket (nothing on disk) or 127.0.0.1 on an ephemeral port. */
export async function listenLoopback(transport: Transport): Promise<{ server: net.Server; address: Address }> {
  const server = net.createServer();
  const address = await withTimeout(
    new Promise<Address>((resolve, reject) => {
      server.once('error', reject);
      if (transport === 'unix') {
        const p = `\0dts-bench-${process.pid}-${Math.random().toString(36).slice(2)}`;
        server.listen(p, () => resolve({ path: p }));
      } else {
        server.listen(0, '127.0.0.1', () => {
          const a = server.address() as net.AddressInfo;
          resolve({ host: '127.0.0.1', port: a.port });
        });
      }
    }),
    10_000,
    'listen',
  );
  return { server, address };
}

/** Connects to `address` (optionally with `onread`), NoDelay on TCP. */
export function connectTo(address: Address, onread?: net.OnReadOpts, timeoutMs = 10_000): Promise<net.Socket> {
  const s = net.connect({ ...address, onread } as net.NetConnectOpts);
  return withTimeout(
    new Promise<net.Socket>((resolve, reject) => {
      s.once('error', reject);
      s.once('connect', () => {
        if ('port' in address) s.setNoDelay(true);
        resolve(s);
      });
    }),
    timeoutMs,
    'connect',
  ).catch((e) => {
    s.destroy();
    throw e;
  });
}

/** The next connection accepted by `server` (NoDelay on TCP). */
export function nextConnection(server: net.Server, timeoutMs = 10_000): Promise<net.Socket> {
  let onConn!: (s: net.Socket) => void;
  const p = new Promise<net.Socket>((resolve) => {
    onConn = (s) => {
      if (s.remoteFamily !== undefined) s.setNoDelay(true);
      resolve(s);
    };
    server.once('connection', onConn);
  });
  return withTimeout(p, timeoutMs, 'accept').catch((e) => {
    server.off('connection', onConn);
    throw e;
  });
}

/** Destroys sockets and closes servers (waiting, bounded, for the servers' close). */
export async function closeAll(sockets: Array<net.Socket | undefined>, servers: Array<net.Server | undefined>): Promise<void> {
  for (const s of sockets) s?.destroy();
  await Promise.all(
    servers.map((srv) =>
      srv
        ? withTimeout(new Promise<void>((r) => srv.close(() => r())), 5000, 'server close').catch(() => undefined)
        : undefined,
    ),
  );
}
