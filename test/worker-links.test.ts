/**
 * Worker-to-worker calls under each topology: all_to_all lazy (connections appear on first use, seen in
 * stats; two workers dialling each other at once), all_to_all eager (every pair connected at addprocs),
 * master_worker (a worker-to-worker call fails clearly, references still travel through the master);
 * and worker links never keep a worker alive once the master is gone.
 */
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { dts, teardown, eventually, alive, ROOT } from './helpers';

const { addprocs, remotecall, remotecall_fetch, remotecall_wait, remote_do, stats, workers, RemoteChannel, Channel, Future, worker_id_from_socket, finalize, LocalManager } = dts;
type Fut<T = unknown> = InstanceType<typeof Future<T>>;
type WorkerConfig = import('../src/index').WorkerConfig;

jest.setTimeout(60_000);
afterEach(teardown);

declare function myid(): number;
declare function nworkers(): number;
declare const globalThis: Record<string, unknown>;

test('lazy all_to_all: no worker-to-worker connection until first use, then one each way in stats', async () => {
  const [a, b, c] = await addprocs(3);
  for (const p of [a, b, c]) expect((await stats(p)).connectedTo).toEqual([1]);
  expect(await remotecall_fetch((to: number) => remotecall_fetch(() => myid(), to), a, b)).toBe(b);
  expect((await stats(a)).connectedTo).toEqual([1, b]);
  expect((await stats(b)).connectedTo).toEqual([1, a]);
  expect((await stats(c)).connectedTo).toEqual([1]);
  // every form of call, and a Future made on one worker and fetched by another, both over worker links
  const r = await remotecall_fetch(async (to: number) => {
    const f = remotecall((x: number) => x + 1, to, 41);
    const fetched = await f.fetch();
    const w = await remotecall_wait(() => 'waited', to);
    remote_do(() => undefined, to);
    return [fetched, await w.fetch()];
  }, c, a);
  expect(r).toEqual([42, 'waited']);
  const made: Fut<number> = await remotecall_fetch((owner: number) => remotecall(() => myid(), owner), b, c);
  expect(await remotecall_fetch(async (x: Fut<number>) => x.fetch(), a, made)).toBe(c);
  expect((await stats(a)).connectedTo).toEqual([1, b, c]);
  // worker_id_from_socket names the process at the other end of a cluster socket; -1 for any other
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PGRP } = require(path.join(ROOT, 'dist', 'src', 'cluster', 'process-group.js'));
  expect(worker_id_from_socket(PGRP.get(b).connection.socket)).toBe(b);
  expect(worker_id_from_socket(new net.Socket())).toBe(-1);
});

test('two workers calling each other at the same moment both get through', async () => {
  const [a, b] = await addprocs(2);
  const callBoth = async () =>
    Promise.all([
      remotecall_fetch((to: number) => Promise.all(Array.from({ length: 20 }, (_, i) => remotecall_fetch((x: number) => x * 2, to, i))), a, b),
      remotecall_fetch((to: number) => Promise.all(Array.from({ length: 20 }, (_, i) => remotecall_fetch((x: number) => x * 3, to, i))), b, a),
    ]);
  const [fromA, fromB] = await callBoth();
  expect(fromA).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
  expect(fromB).toEqual(Array.from({ length: 20 }, (_, i) => i * 3));
  expect((await stats(a)).connectedTo).toEqual([1, b]);
  expect((await stats(b)).connectedTo).toEqual([1, a]);
  // a channel owned by one, used from the other, after the crossing dials
  const rc = await remotecall_fetch(() => new RemoteChannel(() => new Channel(4)), a);
  await remotecall_fetch(async (c: InstanceType<typeof RemoteChannel>) => c.put(myid()), b, rc);
  expect(await rc.take()).toBe(b);
});

test("a call that reaches a worker before its own Join waits for it, and runs knowing the worker's id", async () => {
  // Two local workers, the first one reached only when the test lets it: the other joins first, is
  // told of the first (still joining: its Join lists every worker that announced), and calls it.
  let slow: number | undefined;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  class SlowFirst extends LocalManager {
    override async connect(pid: number, config: WorkerConfig): Promise<net.Socket> {
      slow ??= pid;
      if (pid === slow) await gate;
      const [, host, port] = /^tcp:(.*):(\d+)$/.exec(config.connect_at ?? '')!;
      return net.connect(Number(port), host);
    }
  }
  const adding = addprocs(new SlowFirst(2), { transport: 'tcp' });
  let fast: number | undefined;
  expect(await eventually(() => (fast = workers().find((p) => p !== 1)) !== undefined, 20_000)).toBe(true);
  expect(slow).not.toBe(fast);
  expect(workers()).not.toContain(slow);
  // the nested call is held on the slow worker until its Join, then runs as that worker
  const answer = remotecall_fetch((to: number) => remotecall_fetch(() => [myid(), nworkers()], to), fast!, slow!);
  // once the fast worker has dialled the slow one, the call is on its way: let the slow one join
  expect(await eventually(async () => (await stats(fast!)).connectedTo.includes(slow!), 10_000)).toBe(true);
  release();
  expect((await adding).sort()).toEqual([fast, slow].sort());
  expect(await answer).toEqual([slow, 2]);
  expect((await stats(slow!)).connectedTo).toEqual([1, fast]);
});

test('eager all_to_all (lazy: false): every pair is connected when addprocs returns', async () => {
  const ids = await addprocs(3, { lazy: false });
  for (const p of ids) expect((await stats(p)).connectedTo).toEqual([1, ...ids.filter((q) => q !== p)]);
  expect(await remotecall_fetch((to: number) => remotecall_fetch(() => myid() * 10, to), ids[2], ids[0])).toBe(ids[0] * 10);
});

test("master_worker: a worker-to-worker call fails with a clear error; references still travel through the master", async () => {
  const [a, b] = await addprocs(2, { topology: 'master_worker' });
  const err = await remotecall_fetch((to: number) => remotecall_fetch(() => 1, to), a, b).catch((e: Error) => e);
  expect(err).toBeInstanceOf(dts.RemoteException);
  expect((err as Error).message).toMatch(`process ${a} cannot reach process ${b}: the cluster runs with topology 'master_worker'`);
  expect((await stats(a)).connectedTo).toEqual([1]);
  // a Future owned by b passes through a (which cannot reach b) and back; the master fetches it
  const f = remotecall(() => 'owned by b', b);
  await f.wait();
  const back: Fut<string> = await remotecall_fetch((x: Fut<string>) => {
    globalThis.x = x;
    return x;
  }, a, f);
  expect(back).toBe(f);
  expect(await f.fetch()).toBe('owned by b');
  await remotecall_fetch(() => {
    finalize(globalThis.x as Fut);
  }, a);
  // a's notices to b went through the master: b frees the value once both holders let go
  expect(await eventually(async () => (await stats(b)).storedValues === 0, 3000)).toBe(true);
  expect((await stats(a)).heldReferences).toBe(0);
  // a channel on the master serves both workers
  const rc = new RemoteChannel<number>(() => new Channel(2));
  await Promise.all(workers().map((p) => remotecall_fetch(async (c: InstanceType<typeof RemoteChannel>) => c.put(myid()), p, rc)));
  expect([await rc.take(), await rc.take()].sort()).toEqual([a, b]);
});

test('worker links never keep a worker alive once the master is gone', async () => {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const d = require('./dist/src/index.js');
       d.addprocs(3).then(async (ids) => {
         const pids = await Promise.all(ids.map((id) => d.remotecall_fetch(() => process.pid, id)));
         await d.remotecall_fetch((to) => Promise.all(to.map((t) => remotecall_fetch(() => 1, t))), ids[0], ids.slice(1));
         await d.remotecall_fetch((to) => remotecall_fetch(() => 1, to), ids[1], ids[2]);
         console.log('PIDS ' + JSON.stringify(pids));
         setInterval(() => {}, 1000);
       });`,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  expect(await eventually(() => /PIDS \[/.test(out), 20_000)).toBe(true);
  const pids = JSON.parse(/PIDS (\[.*\])/.exec(out)![1]) as number[];
  expect(pids.every(alive)).toBe(true);
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  expect(await eventually(() => pids.every((p) => !alive(p)), 5000)).toBe(true);
});
