/**
 * Failure handling with real processes: a worker killed mid-call, hostile connections to a worker's port,
 * a master that is killed or simply ends, a master that never connects.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dts, teardown, alive, eventually, ospids, ROOT, runMasterScript, exitCodeWithin } from './helpers';

const { addprocs, remotecall, remotecall_fetch, remote_do, workers, stats, ProcessExitedException } = dts;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const internals = require(path.join(ROOT, 'dist', 'src', 'cluster', 'addprocs.js')) as { workerAddress(pid: number): string | undefined };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { PGRP } = require(path.join(ROOT, 'dist', 'src', 'cluster', 'process-group.js')) as typeof import('../src/cluster/process-group');

jest.setTimeout(60_000);
afterAll(teardown);

test('a worker SIGKILLed mid-call fails pending calls with ProcessExitedException within a second; the other keeps working', async () => {
  const [a, b] = await addprocs(2);
  const [osA] = await ospids([a]);
  const hanging = remotecall_fetch(() => new Promise(() => undefined), a);
  const fut = remotecall(() => new Promise(() => undefined), a);
  const fetching = fut.fetch();
  const busy = remotecall_fetch(() => new Promise((r) => setTimeout(() => r('b done'), 300)), b);
  await new Promise((r) => setTimeout(r, 50));
  const t = Date.now();
  process.kill(osA, 'SIGKILL');
  const err = await hanging.catch((e: unknown) => e);
  expect(Date.now() - t).toBeLessThan(1000);
  expect(err).toBeInstanceOf(ProcessExitedException);
  expect((err as InstanceType<typeof ProcessExitedException>).worker_id).toBe(a);
  await expect(fetching).rejects.toBeInstanceOf(ProcessExitedException);
  expect(workers()).not.toContain(a);
  await expect(remotecall_fetch(() => 1, a)).rejects.toBeInstanceOf(ProcessExitedException);
  expect(() => remote_do(() => 1, a)).toThrow(ProcessExitedException);
  expect(await busy).toBe('b done');
  expect(await remotecall_fetch((x: number) => x + 1, b, 1)).toBe(2);
});

function connectRaw(address: string): net.Socket {
  const target = address.startsWith('unix:') ? { path: address.slice(5).replace(/^@/, '\0') } : { host: address.split(':')[1], port: Number(address.split(':')[2]) };
  return net.connect(target as net.NetConnectOpts);
}

function closedWithin(sock: net.Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

test('a connection with the wrong cookie, or garbage bytes, is dropped and the worker is unharmed', async () => {
  const w = workers().filter((p) => p !== 1);
  const id = w[w.length - 1];
  const [os] = await ospids([id]);
  const address = internals.workerAddress(id)!;
  expect(address).toMatch(/^unix:@dts-/);
  const before = await stats(id);

  const wrong = connectRaw(address);
  const wrongClosed = closedWithin(wrong, 3000);
  wrong.write(Buffer.concat([Buffer.from('WRONGCOOKIE00000'), Buffer.from('dts1/0.1.0\0\0\0\0\0\0'), randomBytes(200)]));
  expect(await wrongClosed).toBe(true);

  const garbage = connectRaw(address);
  const garbageClosed = closedWithin(garbage, 3000);
  garbage.write(randomBytes(4096));
  expect(await garbageClosed).toBe(true);

  const silent = connectRaw(address);
  silent.write(Buffer.from('short'));
  silent.destroy();

  expect(alive(os)).toBe(true);
  expect(await remotecall_fetch(() => 'unharmed', id)).toBe('unharmed');
  expect((await stats(id)).storedValues).toBe(before.storedValues);
});

test("bad data on the master's own link ends that worker, which says why on its stderr; its calls fail and the other worker is unharmed", async () => {
  const [a, b] = await addprocs(2);
  const [osA] = await ospids([a]);
  const err: string[] = [];
  const se = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
  try {
    const hanging = remotecall_fetch(() => new Promise(() => undefined), a);
    await new Promise((r) => setTimeout(r, 50));
    // 64 bytes that are not a frame, on the connection the master's frames travel (bad magic)
    PGRP.get(a)!.connection!.socket.write(Buffer.alloc(64, 0xee));
    await expect(hanging).rejects.toBeInstanceOf(ProcessExitedException);
    const said = `      From worker ${a}:\tdistributed-ts worker ${a}: the connection to the master failed (invalid data from process 1: `;
    expect(await eventually(() => err.join('').includes(said), 3000)).toBe(true);
  } finally {
    se.mockRestore();
  }
  expect(await eventually(() => !alive(osA), 3000)).toBe(true);
  expect(workers()).not.toContain(a);
  expect(await remotecall_fetch((x: number) => x + 1, b, 1)).toBe(2);
});

test('workers exit when the master is killed with SIGKILL', async () => {
  const m = runMasterScript(`
    const d = require('./dist/src/index.js');
    d.addprocs(2).then(async (ids) => {
      const pids = await Promise.all(ids.map((id) => d.remotecall_fetch(() => process.pid, id)));
      console.log('PIDS ' + JSON.stringify(pids));
      setInterval(() => {}, 1000);
    });`);
  const pids = JSON.parse((await m.line(/PIDS (\[.*\])/, 20_000))[1]) as number[];
  expect(pids.every(alive)).toBe(true);
  m.child.kill('SIGKILL');
  await m.exited;
  expect(await eventually(() => pids.every((p) => !alive(p)), 5000)).toBe(true);
});

test('a master script that ends with workers attached exits normally and takes them down', async () => {
  const m = runMasterScript(`
    const d = require('./dist/src/index.js');
    d.addprocs(2).then(async (ids) => {
      const pids = await Promise.all(ids.map((id) => d.remotecall_fetch(() => process.pid, id)));
      console.log('PIDS ' + JSON.stringify(pids));
      const f = d.remotecall(() => 1, ids[0]); // an unfetched Future must not keep the master alive either
    });`);
  const pids = JSON.parse((await m.line(/PIDS (\[.*\])/, 20_000))[1]) as number[];
  expect(await exitCodeWithin(m, 10_000)).toBe(0);
  expect(await eventually(() => pids.every((p) => !alive(p)), 5000)).toBe(true);
});


test('a script that awaits rmprocs goes on after it', async () => {
  const m = runMasterScript(`
    const d = require('./dist/src/index.js');
    (async () => {
      const ids = await d.addprocs(2);
      await d.remotecall_fetch(Math.abs, ids[0], -1);
      await d.rmprocs(...ids);
      console.log('AFTER RMPROCS ' + JSON.stringify(d.workers()));
    })();`);
  expect((await m.line(/AFTER RMPROCS (.*)/, 20_000))[1]).toBe('[1]');
  expect(await exitCodeWithin(m, 10_000)).toBe(0);
});

test('a call whose arguments cannot travel leaves nothing pending that keeps the master alive', async () => {
  const m = runMasterScript(`
    const d = require('./dist/src/index.js');
    (async () => {
      const ids = await d.addprocs(1);
      for (const call of [d.remotecall_fetch, d.remotecall_wait]) {
        await call((s) => s, ids[0], new (require('net').Socket)()).catch((e) => console.log('FAILED ' + e.constructor.name));
      }
      console.log('PENDING ' + (await d.stats()).pendingRequests);
    })();`);
  expect((await m.line(/PENDING (\d+)/, 20_000))[1]).toBe('0');
  expect(m.output()).toMatch(/FAILED EncodeError[\s\S]*FAILED EncodeError/);
  expect(await exitCodeWithin(m, 10_000)).toBe(0);
});

test('a worker whose master never connects exits after DISTRIBUTED_WORKER_TIMEOUT', async () => {
  const worker = spawn(process.execPath, [path.join(ROOT, 'dist', 'src', 'worker', 'main.js')], {
    env: { ...process.env, DISTRIBUTED_WORKER_TIMEOUT: '1', DISTRIBUTED_TS_WORKER: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  worker.stdout.on('data', (d) => (out += d));
  worker.stderr.on('data', (d) => (err += d));
  worker.stdin.write('abcdefgh\n');
  const t = Date.now();
  const code = await new Promise<number | null>((r) => worker.on('exit', (c) => r(c)));
  expect(Date.now() - t).toBeLessThan(5000);
  expect(code).toBe(1);
  expect(out).toMatch(/^dts_worker:unix:@dts-/);
  expect(err).toMatch(/did not connect within 1 s/);
  worker.stdin.destroy();
});

test('the cookie never appears on a worker command line', async () => {
  const id = workers().filter((p) => p !== 1)[0];
  const [os] = await ospids([id]);
  const cmdline = require('node:fs').readFileSync(`/proc/${os}/cmdline`, 'latin1');
  expect(cmdline).not.toContain(dts.cluster_cookie());
});
