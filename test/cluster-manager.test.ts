/**
 * Julia's cluster manager interface beyond launch/manage: a custom transport (`connect`), the defaults
 * addprocs merges (`default_addprocs_params`), topology 'custom' (`ident`, `connect_idents`),
 * `connect_at`, `addprocs(opts)` with options alone, and workers on a transport of their own
 * (`init_worker`, `process_messages`).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough, type Duplex, type Readable, type Writable } from 'node:stream';
import { dts, teardown, eventually, alive, childWorkers, ROOT } from './helpers';
import type { AddprocsOptions, WorkerConfig } from '../src/index';

const { addprocs, rmprocs, workers, remotecall_fetch, stats, LocalManager, SSHManager, ClusterManager, default_addprocs_params } = dts;

jest.setTimeout(60_000);
afterEach(teardown);

declare function myid(): number;
declare function init_worker(cookie: string): void;
declare const SharedArray: typeof dts.SharedArray;
declare function procs(x: unknown): number[];
declare function finalize(x: unknown): void;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { PGRP } = require(path.join(ROOT, 'dist', 'src', 'cluster', 'process-group.js')) as { PGRP: { get(id: number): { config: WorkerConfig } | undefined } };

/** Listens on an ephemeral loopback port; resolves with it. */
function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

/**
 * Local workers reached through a relay of the manager's own: for each worker, `connect` opens a relay
 * on loopback that forwards to the worker's announced address, counting every byte both ways, and hands
 * addprocs Julia's pair of streams to the relay (not a socket it could write to natively).
 */
class RelayManager extends LocalManager {
  forwarded = 0;
  connected: number[] = [];
  readonly relays: net.Server[] = [];

  override async connect(pid: number, config: WorkerConfig): Promise<readonly [Readable, Writable]> {
    const m = /^tcp:(.*):(\d+)$/.exec(config.connect_at ?? '');
    if (m === null) throw new Error(`no TCP address for worker ${pid}: ${String(config.connect_at)}`);
    this.connected.push(pid);
    const relay = net.createServer((client) => {
      const upstream = net.connect(Number(m[2]), m[1]);
      client.on('data', (d: Buffer) => ((this.forwarded += d.length), upstream.write(d)));
      upstream.on('data', (d: Buffer) => ((this.forwarded += d.length), client.write(d)));
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('error', () => undefined);
      upstream.on('error', () => undefined);
    });
    this.relays.push(relay);
    const port = await listen(relay);
    const s = net.connect(port, '127.0.0.1');
    // The read side through a stream of our own: what addprocs reads is not a socket at all.
    const incoming = s.pipe(new PassThrough());
    return [incoming, s];
  }

  close(): void {
    for (const r of this.relays) r.close();
  }
}

test('connect: a custom transport carries the cluster (remote calls, worker-to-worker, rmprocs), and nothing is left', async () => {
  const manager = new RelayManager(2);
  try {
    const ids = await addprocs(manager, { transport: 'tcp' });
    expect(ids.length).toBe(2);
    expect(manager.connected.sort()).toEqual(ids);
    const [a, b] = ids;
    const before = manager.forwarded;
    expect(before).toBeGreaterThan(0); // the handshake and the join went through the relay
    const big = new Float64Array(50_000).fill(1.5);
    expect(await remotecall_fetch((x: Float64Array) => x.reduce((s, v) => s + v, 0), a, big)).toBe(75_000);
    expect(manager.forwarded - before).toBeGreaterThan(big.byteLength); // the array itself crossed the relay
    expect(await remotecall_fetch(() => myid(), b)).toBe(b);
    // Workers reach each other at their connect_at as usual (the manager's connect is the master's link).
    expect(await remotecall_fetch((to: number) => remotecall_fetch(() => myid(), to), a, b)).toBe(b);
    expect(PGRP.get(a)!.config.connect_at).toMatch(/^tcp:127\.0\.0\.1:\d+$/);
    const os_ = childWorkers();
    expect(os_.length).toBe(2);
    await rmprocs(a, b, { waitfor: 20 });
    expect(await eventually(() => os_.every((p) => !alive(p)), 5000)).toBe(true);
    expect(workers()).toEqual([1]);
  } finally {
    manager.close();
  }
});

test('connect: a failing connect fails that worker with the reason, and the worker is not left running', async () => {
  class Broken extends LocalManager {
    override async connect(): Promise<readonly [Readable, Writable]> {
      throw new Error('no route to the worker');
    }
  }
  await expect(addprocs(new Broken(1))).rejects.toThrow(/its cluster manager's connect failed: no route to the worker/);
  expect(await eventually(() => childWorkers().length === 0, 5000)).toBe(true);
  class NotStreams extends LocalManager {
    override async connect(): Promise<readonly [Readable, Writable]> {
      return 42 as unknown as readonly [Readable, Writable];
    }
  }
  await expect(addprocs(new NotStreams(1))).rejects.toThrow(/must give a Duplex stream or a pair \[readable, writable\], got 42/);
  expect(await eventually(() => childWorkers().length === 0, 5000)).toBe(true);
  await expect(addprocs(new NotStreams(1), { tls: true })).rejects.toThrow(/tls secures the built-in sockets; a cluster manager with its own connect/);
  expect(workers()).toEqual([1]);
});

test('connect: a worker that exits while connect is pending fails at once; a connect that finishes too late is closed, not kept', async () => {
  // connect never finishes; the worker is killed meanwhile: addprocs says so well before its timeout.
  class Stuck extends LocalManager {
    override connect(_pid: number, config: WorkerConfig): Promise<Duplex> {
      setTimeout(() => (config.process as ChildProcess).kill('SIGKILL'), 200);
      return new Promise<Duplex>(() => undefined);
    }
  }
  const t0 = Date.now();
  await expect(addprocs(new Stuck(1), { transport: 'tcp', timeout: 30 })).rejects.toThrow(/exited before it could be reached \(killed by SIGKILL\)/);
  expect(Date.now() - t0).toBeLessThan(15_000);
  // connect finishes after addprocs gave up: the stream it gave is closed, so nothing is left open.
  let late: net.Socket | undefined;
  class Late extends LocalManager {
    override async connect(_pid: number, config: WorkerConfig): Promise<Duplex> {
      const [, host, port] = /^tcp:(.*):(\d+)$/.exec(config.connect_at ?? '')!;
      await new Promise((r) => setTimeout(r, 3000));
      late = net.connect(Number(port), host);
      return late;
    }
  }
  await expect(addprocs(new Late(1), { transport: 'tcp', timeout: 2 })).rejects.toThrow(/could not be reached within 2 s/);
  expect(await eventually(() => late !== undefined && late.destroyed, 5000)).toBe(true);
  expect(await eventually(() => childWorkers().length === 0, 5000)).toBe(true);
  expect(workers()).toEqual([1]);
});

test('default_addprocs_params: the defaults addprocs merges, per manager; the caller wins', async () => {
  const d = default_addprocs_params();
  expect(d).toMatchObject({ topology: 'all_to_all', lazy: true, restrict: true, transport: 'unix', tls: false, exename: process.execPath, dir: process.cwd(), env: {} });
  expect(d.timeout).toBe(Number(process.env.DISTRIBUTED_WORKER_TIMEOUT) > 0 ? Number(process.env.DISTRIBUTED_WORKER_TIMEOUT) : 60);
  expect(Array.isArray(d.exeflags)).toBe(true);
  expect(default_addprocs_params()).not.toBe(d);
  const ssh = default_addprocs_params(new SSHManager(['node1']));
  expect(ssh).toMatchObject({ topology: 'all_to_all', tunnel: false, multiplex: false, max_parallel: 10, sshflags: [], shell: 'posix', ssh: 'ssh', exeflags: [] });

  let seen: AddprocsOptions | undefined;
  class Defaults extends LocalManager {
    override default_addprocs_params(): AddprocsOptions {
      return { ...super.default_addprocs_params(), env: { DTS_FROM: 'defaults' }, transport: 'tcp' };
    }
    override async launch(params: AddprocsOptions, launched: WorkerConfig[], notify: () => void): Promise<void> {
      seen = params;
      return super.launch(params, launched, notify);
    }
  }
  const [w] = await addprocs(new Defaults(1));
  expect(seen).toMatchObject({ topology: 'all_to_all', lazy: true, transport: 'tcp', env: { DTS_FROM: 'defaults' } });
  expect(await remotecall_fetch(() => process.env.DTS_FROM, w)).toBe('defaults');
  expect(PGRP.get(w)!.config.connect_at).toMatch(/^tcp:/);
  const [v] = await addprocs(new Defaults(1), { env: { DTS_FROM: 'caller' }, timeout: undefined });
  expect(seen!.timeout).toBe(d.timeout); // an option given as undefined leaves the default
  expect(await remotecall_fetch(() => process.env.DTS_FROM, v)).toBe('caller');
  // tls without a transport still picks TCP over the 'unix' default
  const [t] = await addprocs(1, { tls: true });
  expect(PGRP.get(t)!.config.connect_at).toMatch(/^tls:127\.0\.0\.1:\d+$/);
});

test("addprocs(opts): options alone start one worker per CPU thread; other objects are refused by name", async () => {
  // As many as the CPU threads, which this test pins at 2 so that a large machine does not start dozens.
  const realOs = require('node:os') as { availableParallelism(): number };
  const threads = realOs.availableParallelism;
  realOs.availableParallelism = () => 2;
  let ids: number[];
  try {
    ids = await addprocs({ exeflags: ['--max-old-space-size=300'] });
  } finally {
    realOs.availableParallelism = threads;
  }
  expect(ids.length).toBe(2);
  for (const w of ids) expect(await remotecall_fetch(() => process.execArgv, w)).toContain('--max-old-space-size=300');
  await rmprocs(...ids, { waitfor: 20 });
  await expect(addprocs({ topology: 'all_to_all' } as unknown as number, { lazy: false })).rejects.toThrow(/addprocs: options given twice/);
  await expect(addprocs(new Date() as unknown as number)).rejects.toThrow(/first argument must be a number of workers, a ClusterManager, a list of machines or an options object, got an instance of Date/);
  await expect(addprocs({ timeout: -1 })).rejects.toThrow(/timeout must be a positive number of seconds, got -1/);
  expect(workers()).toEqual([1]);
});

/**
 * Local workers with Julia's custom topology: worker k is ident `${prefix}${k}` and lists the idents given for it.
 */
class IdentManager extends LocalManager {
  constructor(
    readonly lists: string[][],
    readonly prefix = 'w',
  ) {
    super(lists.length);
  }
  override async launch(params: AddprocsOptions, launched: WorkerConfig[], notify: () => void): Promise<void> {
    let k = 0;
    await super.launch(params, launched, () => {
      const c = launched[launched.length - 1];
      c.ident = `${this.prefix}${k}`;
      c.connect_idents = this.lists[k++];
      notify();
    });
  }
}

test("topology 'custom': workers connect at once to those linked by ident/connect_idents, and to no other", async () => {
  // A chain: w1 lists w0, w2 lists w1; w0 and w2 are not linked.
  const [a, b, c] = await addprocs(new IdentManager([[], ['w0'], ['w1']]), { topology: 'custom' });
  expect(PGRP.get(b)!.config).toMatchObject({ ident: 'w1', connect_idents: ['w0'] });
  // Connected when they joined, both ways, without a call first.
  expect(await eventually(async () => JSON.stringify((await stats(b)).connectedTo) === JSON.stringify([1, a, c]), 10_000)).toBe(true);
  expect((await stats(a)).connectedTo).toEqual([1, b]);
  expect((await stats(c)).connectedTo).toEqual([1, b]);
  expect(await remotecall_fetch((to: number) => remotecall_fetch(() => myid(), to), a, b)).toBe(b);
  expect(await remotecall_fetch((to: number) => remotecall_fetch(() => myid(), to), c, b)).toBe(b);
  // linked in one direction only still serves calls both ways
  expect(await remotecall_fetch((to: number) => remotecall_fetch(() => myid(), to), b, a)).toBe(a);
  await expect(remotecall_fetch((to: number) => remotecall_fetch(() => myid(), to), a, c)).rejects.toThrow(
    new RegExp(`process ${a} cannot reach process ${c}: the cluster runs with topology 'custom', and their cluster manager did not link them`),
  );
  await expect(remotecall_fetch((to: number) => remotecall_fetch(() => myid(), to), c, a)).rejects.toThrow(/topology 'custom'/);
  // every worker still knows every other, and the master reaches all
  expect(await remotecall_fetch(() => workers(), a)).toEqual([a, b, c]);
  for (const w of [a, b, c]) expect(await remotecall_fetch(() => myid(), w)).toBe(w);
  expect((await stats(a)).connectedTo).toEqual([1, b]);
  // A SharedArray made on a worker may span only the workers it is linked with.
  const sharedOn = (pids: number[]) =>
    remotecall_fetch(async (pids: number[]) => {
      const S = await SharedArray.create('Int32', 4, { pids });
      const out = procs(S);
      finalize(S);
      return out;
    }, a, pids);
  expect(await sharedOn([a, b])).toEqual([a, b]);
  await expect(sharedOn([a, b, c])).rejects.toThrow(
    `SharedArray.create: process ${a} cannot map the array on process ${c}: the cluster runs with topology 'custom', and its cluster manager did not link it with process ${a}`,
  );
  expect(await remotecall_fetch(() => myid(), c)).toBe(c);
  const creator = await remotecall_fetch(() => process.pid, a);
  expect(await eventually(() => fs.readdirSync('/dev/shm').every((n) => !n.startsWith(`dts-${creator}-`)), 5000)).toBe(true);

  // A later addprocs links with the earlier workers the same way.
  const [d] = await addprocs(new IdentManager([['w2']], 'x'), { topology: 'custom' });
  expect(await eventually(async () => (await stats(d)).connectedTo.includes(c), 10_000)).toBe(true);
  expect(await remotecall_fetch((to: number) => remotecall_fetch(() => myid(), to), d, c)).toBe(c);
  await expect(remotecall_fetch((to: number) => remotecall_fetch(() => myid(), to), d, b)).rejects.toThrow(/topology 'custom'/);
});

test("topology 'custom': a malformed ident or connect_idents fails that worker by name", async () => {
  class Bad extends LocalManager {
    override async launch(params: AddprocsOptions, launched: WorkerConfig[], notify: () => void): Promise<void> {
      await super.launch(params, launched, () => {
        launched[launched.length - 1].connect_idents = 'w0' as unknown as string[];
        notify();
      });
    }
  }
  await expect(addprocs(new Bad(1), { topology: 'custom' })).rejects.toThrow(/connect_idents must be an array of idents/);
  expect(await eventually(() => childWorkers().length === 0, 5000)).toBe(true);
  // An ident that no worker has (misspelt, never launched) fails the addprocs, as Julia's does.
  const before = workers();
  await expect(addprocs(new IdentManager([['nobody']], 'y'), { topology: 'custom' })).rejects.toThrow(
    /addprocs: topology 'custom': worker \d+ lists connect_idents "nobody" \(no worker has that ident; the workers were removed again\)/,
  );
  expect(workers()).toEqual(before);
});

test('a manager from another copy of the package (launch and manage, not our ClusterManager) is taken as a manager', async () => {
  // Another copy's LocalManager: addprocs hands it the cookie as it does ours (its field starts empty).
  const inner = new LocalManager(1);
  const foreign = {
    cookie: '',
    launch(p: AddprocsOptions, l: WorkerConfig[], n: () => void) {
      inner.cookie = this.cookie;
      return inner.launch(p, l, n);
    },
    manage: () => undefined,
  };
  const [w] = await addprocs(foreign as unknown as InstanceType<typeof ClusterManager>);
  expect(foreign.cookie).toBe(dts.cluster_cookie());
  expect(await remotecall_fetch(() => myid(), w)).toBe(w);
});

/**
 * Workers on a transport of their own (test/fixtures/custom-transport-worker.js): each is started with a
 * socketpair on its fd 3, which is how the master reaches it (`connect`); it runs `init_worker` and
 * `process_messages`, and reaches other workers through its own manager's `connect`.
 */
class SocketpairManager extends ClusterManager {
  readonly children: ChildProcess[] = [];
  constructor(readonly n: number) {
    super();
  }
  async launch(_params: AddprocsOptions, launched: WorkerConfig[], notify: () => void): Promise<void> {
    for (let i = 0; i < this.n; i++) {
      const child = spawn(process.execPath, [path.join(ROOT, 'test', 'fixtures', 'custom-transport-worker.js')], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
      this.children.push(child);
      child.stdin!.write(`${dts.cluster_cookie()}\n`);
      const peerAddress = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /^PEER (\S+)$/m.exec(out);
          if (m !== null) resolve(m[1]);
        });
        child.once('exit', (code) => reject(new Error(`the worker exited with ${code} before printing its address`)));
      });
      launched.push({ process: child, ospid: child.pid, stderr: child.stderr!, connect_at: peerAddress });
      notify();
    }
  }
  manage(_id: number, config: WorkerConfig, op: string): void {
    if (op === 'interrupt') config.process?.kill('SIGINT');
  }
  override async connect(_pid: number, config: WorkerConfig): Promise<Duplex> {
    return config.process!.stdio[3] as Duplex;
  }
}

test('init_worker and process_messages: workers reached only over inherited sockets; their own links go through their own manager', async () => {
  const manager = new SocketpairManager(2);
  try {
    const [a, b] = await addprocs(manager);
    expect(await remotecall_fetch(() => myid(), a)).toBe(a);
    // The package's exports are globals there too, and values travel both ways over the socketpair.
    expect(await remotecall_fetch((x: Float64Array) => [workers(), x.length], b, new Float64Array(100_000))).toEqual([[a, b], 100_000]);
    // Worker to worker: a reaches b through its PeerManager (which counts what it reads), b serves it with process_messages.
    expect(await remotecall_fetch(() => (globalThis as unknown as { peerBytes(): number }).peerBytes(), a)).toBe(0);
    expect(await remotecall_fetch((to: number) => remotecall_fetch(() => myid(), to), a, b)).toBe(b);
    expect(await remotecall_fetch(() => (globalThis as unknown as { peerBytes(): number }).peerBytes(), a)).toBeGreaterThan(0);
    expect((await stats(b)).connectedTo).toEqual([1, a]);
    // Calls there are interruptible, as on every worker (the manager's manage('interrupt') sends SIGINT).
    const spinning = remotecall_fetch(() => {
      for (;;) {
        /* spin */
      }
    }, b);
    let settled = false;
    const outcome = spinning.then(
      () => 'returned',
      (e: Error) => e.message,
    ).finally(() => (settled = true));
    // (A signal that arrives before the call started is absorbed: interrupt until it ends.)
    for (let i = 0; i < 100 && !settled; i++) {
      dts.interrupt(b);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await outcome).toMatch(/InterruptException/);
    expect(await remotecall_fetch(() => myid(), b)).toBe(b);
    // Such a process is a worker once: a second init_worker fails clearly.
    await expect(remotecall_fetch(() => init_worker('x'), a)).rejects.toThrow(/init_worker: this process is already a worker/);
    await rmprocs(a, b, { waitfor: 20 });
    expect(workers()).toEqual([1]);
    expect(await eventually(() => manager.children.every((c) => c.exitCode !== null || c.signalCode !== null), 10_000)).toBe(true);
  } finally {
    for (const c of manager.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
});

test('init_worker and process_messages refuse misuse by name', () => {
  expect(() => dts.process_messages(new PassThrough())).toThrow(/process_messages: call init_worker\(cookie\) first/);
  expect(() => dts.init_worker(42 as unknown as string)).toThrow(/init_worker: cookie must be a string, got number/);
});

test('over a transport that passes buffers along (a PassThrough to a slow consumer), large frames sent back to back arrive intact', async () => {
  // A write callback of such a stream comes while a later stage still holds the buffer: a frame's copy
  // must not be reused for the next frame then.
  const dist = path.join(ROOT, 'dist', 'src');
  const { Connection } = require(path.join(dist, 'transport', 'connection.js')) as {
    Connection: { overStream(s: Duplex, role: string, cookie: string, onFrame: (...a: unknown[]) => void): { ready: Promise<void>; close(r: string): void } };
  };
  const { sendFrame } = require(path.join(dist, 'messages', 'messaging.js')) as { sendFrame(c: unknown, kind: number, v: unknown): void };
  const { MessageKind } = require(path.join(dist, 'wire', 'generated', 'dts', 'wire', 'message-kind.js')) as { MessageKind: Record<string, number> };
  const { Duplex: DuplexClass, Writable: WritableClass } = require('node:stream') as typeof import('node:stream');
  const cookie = dts.cluster_cookie();
  const toB = new PassThrough({ highWaterMark: 64 << 20 });
  const toA = new PassThrough();
  const fromA = new PassThrough();
  fromA.pipe(
    new WritableClass({
      highWaterMark: 1 << 10,
      write(chunk: Buffer, _e, cb) {
        setTimeout(() => {
          toB.write(Buffer.from(chunk)); // copied only when it is finally consumed
          cb();
        }, 30);
      },
    }),
  );
  const got: number[][] = [];
  let done!: () => void;
  const both = new Promise<void>((r) => (done = r));
  const A = Connection.overStream(DuplexClass.from({ readable: toA, writable: fromA }), 'connecting', cookie, () => undefined);
  const B = Connection.overStream(DuplexClass.from({ readable: toB, writable: toA }), 'accepting', cookie, (_c, _h, _inline, segments) => {
    for (const s of segments as Array<ArrayBuffer | ArrayBufferView>) {
      const u = ArrayBuffer.isView(s) ? new Float64Array(s.buffer, s.byteOffset, s.byteLength / 8) : new Float64Array(s);
      got.push([u[0], u[u.length - 1]]);
    }
    if (got.length === 2) done();
  });
  try {
    await A.ready;
    const n = 1 << 18; // 2 MiB each: large enough for the spill pool
    sendFrame(A, MessageKind.Stats, new Float64Array(n).fill(1));
    await new Promise((r) => setTimeout(r, 10));
    sendFrame(A, MessageKind.Stats, new Float64Array(n).fill(2));
    await both;
    expect(got).toEqual([
      [1, 1],
      [2, 2],
    ]);
  } finally {
    A.close('test over');
    B.close('test over');
  }
});
