/**
 * Worker pools, pool arguments to the remote-call forms, the default pool following addprocs/rmprocs,
 * CachingPool, distributed loops (Julia's splitrange chunking), sync; range/zip/ExponentialBackOff/retry.
 */
import { dts, teardown, alive } from './helpers';

const { addprocs, rmprocs, workers, remotecall, remotecall_fetch, remotecall_wait, remote_do, WorkerPool, CachingPool, default_worker_pool, remote, clear, stats } = dts;
const { distributed, sync, splitrange, range, zip, ExponentialBackOff, retry, pmap, CompositeException, Future } = dts;

declare function myid(): number;
jest.setTimeout(90_000);
let w: number[] = [];
beforeAll(async () => {
  w = await addprocs(2);
});
afterAll(teardown);

test('range, zip, ExponentialBackOff, retry', async () => {
  const r = range(0, 10, 3);
  expect([...r]).toEqual([0, 3, 6, 9]);
  expect(r.length).toBe(4);
  expect(r.at(-1)).toBe(9);
  expect(range(5, 0, -2).toArray()).toEqual([5, 3, 1]);
  expect(range(3).length).toBe(3);
  expect(range(0, 0).length).toBe(0);
  expect(() => range(0, 1, 0)).toThrow(/step/);
  expect([...zip([1, 2, 3], ['a', 'b'])]).toEqual([[1, 'a'], [2, 'b']]);
  expect(zip([1, 2], range(0, 5)).length).toBe(2);
  expect([...ExponentialBackOff({ n: 3, jitter: 0 })]).toEqual([0.05, 0.25, 1.25]);
  expect([...ExponentialBackOff()]).toEqual([0.05]);
  expect([...ExponentialBackOff({ n: 5, first_delay: 1, max_delay: 2 })].every((d) => d <= 2)).toBe(true);
  let calls = 0;
  const flaky = retry(async () => { if (++calls < 3) throw new Error('flaky'); return calls; }, { delays: [0, 0, 0] });
  expect(await flaky()).toBe(3);
  calls = 0;
  const never = retry(async () => { calls++; throw new Error('no'); }, { delays: [0, 0], check: (s, e) => [s, (e as Error).message !== 'no'] });
  await expect(never()).rejects.toThrow('no');
  expect(calls).toBe(1);
  expect(await remotecall_fetch((x: unknown) => x, w[0], range(2, 8, 2))).toEqual(range(2, 8, 2));
});

test('WorkerPool: take, put, isready, length; remote-call forms accept a pool', async () => {
  const pool = new WorkerPool([w[0]]);
  expect(await pool.length()).toBe(1);
  expect(await pool.isready()).toBe(true);
  const t = await pool.take();
  expect(t).toBe(w[0]);
  expect(await pool.isready()).toBe(false);
  let got = false;
  const waiting = pool.take().then((x) => ((got = true), x));
  await new Promise((r) => setTimeout(r, 20));
  expect(got).toBe(false);
  await pool.put(t);
  expect(await waiting).toBe(w[0]);
  await pool.put(w[0]);
  expect(await remotecall_fetch(() => myid(), pool)).toBe(w[0]);
  expect(await remotecall(() => myid(), pool).fetch()).toBe(w[0]);
  expect(await (await remotecall_wait(() => myid(), pool)).fetch()).toBe(w[0]);
  remote_do(() => undefined, pool);
  expect(await remote(() => myid(), pool)()).toBe(w[0]);
  await expect(new WorkerPool([]).take()).rejects.toThrow(/No active worker/);
  await pool.push(w[1]);
  expect(await pool.workers()).toEqual([w[0], w[1]]);
  // Busy workers: a remotecall that has to wait for one still returns a Future at once.
  const both = new WorkerPool(w);
  const slow = [0, 1, 2].map(() => remotecall(async () => { await new Promise((r) => setTimeout(r, 50)); return myid(); }, both));
  expect(slow.every((f) => f instanceof Future)).toBe(true);
  const pids = await Promise.all(slow.map((f) => f.fetch()));
  expect(new Set(pids)).toEqual(new Set(w));
});

test('a WorkerPool used from a worker acts on its creator\'s pool', async () => {
  const pool = new WorkerPool([w[1]]);
  const r = await remotecall_fetch(async (p: InstanceType<typeof WorkerPool>) => {
    const x = await p.take();
    const ready = await p.isready();
    const n = await p.length();
    await p.put(x);
    return [x, ready, n, await remotecall_fetch(() => myid(), p)];
  }, w[0], pool);
  expect(r).toEqual([w[1], false, 1, w[1]]);
  expect(await pool.isready()).toBe(true);
  // pmap from a worker over the creator's pool.
  expect(new Set(await remotecall_fetch((p: unknown) => pmap(() => myid(), p, range(0, 10)), w[0], pool))).toEqual(new Set([w[1]]));
  expect(await remotecall_fetch(async () => default_worker_pool().workers(), w[0])).toEqual(w);
});

test('CachingPool keeps the function on each worker: sent once, later calls send a reference; clear frees it', async () => {
  const pool = new CachingPool([w[0]]);
  const base = (await stats(w[0])).storedValues;
  const payload = 'x'.repeat(50_000);
  // A function whose source is large, so the bytes sent show whether it travelled.
  const f = new Function('x', `return x + ${JSON.stringify(payload)}.length;`) as (x: number) => number;
  const conn = (require('../dist/src/cluster/process-group.js').PGRP.get(w[0]).connection) as { bytesSent: number };
  const b0 = conn.bytesSent;
  expect(await remotecall_fetch(f, pool, 1)).toBe(50_001);
  const first = conn.bytesSent - b0;
  expect((await stats(w[0])).storedValues).toBe(base + 1);
  const b1 = conn.bytesSent;
  for (let i = 0; i < 5; i++) expect(await remotecall_fetch(f, pool, i)).toBe(50_000 + i);
  expect(await pmap(f, pool, [1, 2, 3], { batch_size: 2 })).toEqual([50_001, 50_002, 50_003]);
  const later = conn.bytesSent - b1;
  expect(first).toBeGreaterThan(50_000);
  expect(later).toBeLessThan(5_000);
  expect((await stats(w[0])).storedValues).toBe(base + 1);
  expect(pool.cachedCount()).toBe(1);
  expect(await clear(pool)).toBe(pool); // Julia's clear!(pool) -> pool
  expect(pool.cachedCount()).toBe(0);
  expect(await remotecall_fetch(f, pool, 2)).toBe(50_002); // cached again
  expect(pool.cachedCount()).toBe(1);
  expect(pool.clear()).toBe(pool); // the method clear(pool) calls
  expect(pool.cachedCount()).toBe(0);
});

test('clear is given names or a CachingPool: anything else fails naming what was wrong', async () => {
  // A WorkerPool caches nothing (Julia has clear!(pool) for a CachingPool only): this used to fail with "not iterable".
  await expect(clear(new WorkerPool([w[0]]) as never)).rejects.toThrow(/^clear: a WorkerPool has no cache to clear: clear\(pool\) empties a CachingPool's cache/);
  await expect(clear(new CachingPool([w[0]]) as never, [w[0]])).rejects.toThrow(/clear: clear\(pool\) takes no process ids/);
  await expect(clear(42 as never)).rejects.toThrow(/clear: expected a global's name, an array of names, or a CachingPool; got number 42/);
  await expect(clear(null as never)).rejects.toThrow(/got null/);
  await expect(clear([3] as never)).rejects.toThrow(/clear: names must be strings, got number 3/);
  await expect(clear(['x'], 'two' as never)).rejects.toThrow(/clear: pids must be a process id or an array of them, got "two"/);
  await expect(clear(['x'], [0])).rejects.toThrow(/clear: pids must be process ids \(positive integers\), got number 0/);
  // A Set of names is names (a Set has a clear() method too: it is not emptied).
  const names = new Set(['notDefinedAnywhere']);
  expect(await clear(names, [w[0]])).toBeUndefined();
  expect(names.size).toBe(1);
});

test('splitrange is Julia\'s; distributed with a reducer reduces per worker then on the caller; without one returns Futures', async () => {
  // Julia: splitrange(1, 10, 3) == [1:4, 5:7, 8:10]; splitrange(1, 2, 3) == [1:1, 2:2]; splitrange(1, 9, 3) == [1:3, 4:6, 7:9]
  expect(splitrange(0, 10, 3)).toEqual([[0, 4], [4, 7], [7, 10]]);
  expect(splitrange(0, 2, 3)).toEqual([[0, 1], [1, 2]]);
  expect(splitrange(0, 9, 3)).toEqual([[0, 3], [3, 6], [6, 9]]);
  expect(splitrange(0, 0, 2)).toEqual([]);
  expect(splitrange(5, 12, 2)).toEqual([[5, 9], [9, 12]]);
  expect(await distributed(range(0, 1001), (i: number) => i, (a: number, b: number) => a + b)).toBe(500500);
  expect(await distributed([0, 5], (i: number) => i * i, (a: number, b: number) => a + b)).toBe(30);
  expect(await distributed(['a', 'b', 'c'], (s: string) => s.toUpperCase(), (a: string, b: string) => a + b)).toBe('ABC');
  const parts = await distributed(range(0, 10), (i: number) => [myid(), i], (a: unknown, b: unknown) => [].concat(a as never, b as never));
  expect((parts as number[]).filter((_, k) => k % 2 === 1)).toEqual([...range(0, 10)]);
  const futs = distributed(range(0, 10), () => undefined);
  expect(futs.length).toBe(2);
  expect(futs.every((f) => f instanceof Future)).toBe(true);
  expect(await Promise.all(futs.map((f) => f.fetch()))).toEqual([undefined, undefined]);
});

test('sync waits for every call started inside and gathers failures in a CompositeException', async () => {
  const rc = new dts.RemoteChannel<number>(() => new dts.Channel(100));
  await sync(async () => {
    for (const p of w) remotecall(async (c: { put(v: number): Promise<unknown> }) => { await new Promise((r) => setTimeout(r, 30)); await c.put(myid()); }, p, rc);
    remote_do(async (c: { put(v: number): Promise<unknown> }) => { await new Promise((r) => setTimeout(r, 40)); await c.put(-1); }, w[0], rc);
    distributed(range(0, 2), async () => { await new Promise((r) => setTimeout(r, 30)); });
  });
  const got = [await rc.take(), await rc.take(), await rc.take()].sort((a, b) => a - b);
  expect(got).toEqual([-1, ...w]);
  const err = await sync(async () => {
    remotecall(() => { throw new Error('one'); }, w[0]);
    await new Promise((r) => setTimeout(r, 5));
    remotecall_fetch(() => { throw new Error('two'); }, w[1]);
    remotecall_fetch(() => 3, w[1]);
  }).catch((e) => e);
  expect(err).toBeInstanceOf(CompositeException);
  expect((err as InstanceType<typeof CompositeException>).exceptions.map((e) => (e as { captured: { ex: Error } }).captured.ex.message)).toEqual(['one', 'two']);
  expect(await sync(() => 7)).toBe(7);
});

test('the default pool follows addprocs and rmprocs', async () => {
  const pool = default_worker_pool();
  expect(await pool.workers()).toEqual(w);
  const [extra] = await addprocs(1);
  expect(await pool.workers()).toEqual([...w, extra]);
  expect(new Set(await pmap(async () => { await new Promise((r) => setTimeout(r, 10)); return myid(); }, range(0, 30)))).toEqual(new Set([...w, extra]));
  const os = await remotecall_fetch(() => process.pid, extra);
  await rmprocs(extra);
  expect(await pool.workers()).toEqual(w);
  expect(alive(os)).toBe(false);
  expect(workers()).toEqual(w);
});

test('a pmap shares its pool: a call or a second pmap waiting for a worker gets one between items', async () => {
  const one = new WorkerPool([w[0]]);
  const order: string[] = [];
  const slow = async (x: number) => { await new Promise((r) => setTimeout(r, 15)); return x; };
  const a = pmap(slow, one, range(0, 12)).then(() => order.push('a'));
  await new Promise((r) => setTimeout(r, 20));
  const b = remotecall_fetch(() => 'b', one).then(() => order.push('b'));
  const c = pmap(slow, one, range(0, 3)).then(() => order.push('c'));
  await Promise.all([a, b, c]);
  expect(order).toEqual(['b', 'c', 'a']);
  expect(await one.isready()).toBe(true);
});
