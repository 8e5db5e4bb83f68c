/**
 * Distributed reference tracking against real workers, checked through stats(): owner values freed after
 * fetch, after finalize, after the garbage collector reclaims the holder's reference, after forwarding
 * 1 → 2 → 3; fetched Futures travel with their value; finalized Futures fail clearly; Futures created on
 * one worker are fetched on another.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { dts, teardown, eventually } from './helpers';

const { addprocs, remotecall, remotecall_fetch, remotecall_wait, Future, RemoteChannel, Channel, stats, finalize, remoteref_id } = dts;
type Fut<T = unknown> = InstanceType<typeof Future<T>>;

jest.setTimeout(60_000);
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

let w: number[] = [];
beforeAll(async () => {
  w = await addprocs(3, { exeflags: ['--expose-gc'] });
});
afterAll(teardown);

declare const globalThis: Record<string, unknown> & { gc(): void };
declare function myid(): number;

const stored = async (p: number) => (await stats(p)).storedValues;

/** What process `p` stores once the garbage of earlier tests is collected (two equal readings in a row). */
async function settledBase(p: number): Promise<number> {
  let last = -1;
  for (let i = 0; i < 50; i++) {
    gc();
    await Promise.all(w.map((q) => remotecall_fetch(() => globalThis.gc(), q)));
    await new Promise((r) => setTimeout(r, 20));
    const n = await stored(p);
    if (n === last) return n;
    last = n;
  }
  return last;
}

/** Collects garbage here and on every worker until `cond` holds (or 5 s pass). */
async function collectUntil(cond: () => Promise<boolean>): Promise<boolean> {
  return eventually(async () => {
    gc();
    await Promise.all(w.map((p) => remotecall_fetch(() => globalThis.gc(), p)));
    await new Promise((r) => setTimeout(r, 10));
    return cond();
  }, 5000, 50);
}

test('a fetched Future frees the owner copy at once; the holder no longer counts it', async () => {
  const base = await stored(w[0]);
  const heldBefore = (await stats()).heldReferences;
  const f = remotecall(() => new Float64Array(1000).fill(1), w[0]);
  await f.wait();
  expect(await stored(w[0])).toBe(base + 1);
  expect((await stats()).heldReferences).toBe(heldBefore + 1);
  expect((await f.fetch()).length).toBe(1000);
  expect(await stored(w[0])).toBe(base);
  expect((await stats()).heldReferences).toBe(heldBefore);
  // many at once, in one batch of notices
  const fs = Array.from({ length: 200 }, (_, i) => remotecall((x: number) => x * 2, w[1], i));
  expect((await Promise.all(fs.map((x) => x.fetch()))).reduce((a, b) => a + b, 0)).toBe(199 * 200);
  expect(await stored(w[1])).toBe(0);
});

test('finalize frees the owner copy now; a finalized Future fails clearly when used or sent', async () => {
  const base = await stored(w[0]);
  const f = remotecall(() => 'big', w[0]);
  await f.wait();
  expect(await stored(w[0])).toBe(base + 1);
  const id = remoteref_id(f);
  expect(id).toEqual({ whence: 1, id: f.id });
  finalize(f);
  expect(await stored(w[0])).toBe(base);
  await expect(f.fetch()).rejects.toThrow(`cannot fetch a Future that was finalized (reference 1:${f.id} on process ${w[0]})`);
  await expect(f.wait()).rejects.toThrow(/cannot wait for a Future that was finalized/);
  await expect(f.isready()).rejects.toThrow(/finalized/);
  await expect(f.put('x')).rejects.toThrow(/finalized/);
  await expect(remotecall_fetch((x: unknown) => x, w[1], [f])).rejects.toThrow(/args\[0\]\[0\].*cannot send a Future that was finalized/);
  f.finalize(); // twice is fine
  // a fetched Future finalized afterwards fails too (Julia drops the cached value)
  const g = remotecall(() => 1, w[0]);
  await g.fetch();
  finalize(g);
  await expect(g.fetch()).rejects.toThrow(/finalized/);
  // an empty Future of this process
  const local = new Future<number>();
  finalize(local);
  await expect(local.put(1)).rejects.toThrow(/finalized/);
});

test("the garbage collector reclaiming the holder's reference frees the owner copy", async () => {
  const base = await stored(w[1]);
  await (async () => {
    const fs = Array.from({ length: 50 }, () => remotecall(() => new Array(100).fill(7), w[1]));
    await Promise.all(fs.map((f) => f.wait()));
  })();
  expect(await stored(w[1])).toBe(base + 50);
  expect(await collectUntil(async () => (await stored(w[1])) === base)).toBe(true);
  // and on a worker holding a reference to a value on another worker
  await remotecall_wait(async (owner: number) => {
    const f = remotecall(() => 'kept on the owner', owner);
    await f.wait();
  }, w[0], w[2]);
  expect(await collectUntil(async () => (await stored(w[2])) === 0 && (await stats(w[0])).heldReferences === 0)).toBe(true);
});

test('a reference forwarded 1 → 2 → 3 is released when its last holder drops it', async () => {
  const [owner, b, c] = w;
  const base = await settledBase(owner);
  const f = remotecall(() => ({ payload: 'forwarded' }), owner);
  await f.wait();
  // 1 sends it to b, b sends it to c; every holder but c then drops it
  await remotecall_wait((x: Fut, next: number) => remotecall_wait((y: Fut) => {
    globalThis.held = y;
  }, next, x), b, f, c);
  finalize(f);
  await remotecall_fetch(() => undefined, b); // b's reference is only an argument: garbage
  expect(await collectUntil(async () => (await stats(b)).heldReferences === 0)).toBe(true);
  expect(await stored(owner)).toBe(base + 1); // c still holds it
  expect((await stats(c)).heldReferences).toBe(1);
  expect(await remotecall_fetch(async () => ((await (globalThis.held as Fut).fetch()) as { payload: string }).payload, c)).toBe('forwarded');
  expect(await eventually(async () => (await stored(owner)) === base, 3000)).toBe(true); // c's fetch released the last one

  // the same with a RemoteChannel owned by the master, dropped (not fetched) by its last holder
  const masterBase = await settledBase(1);
  await (async () => {
    const rc = new RemoteChannel<number>(() => new Channel(1));
    await remotecall_wait((x: InstanceType<typeof RemoteChannel>, next: number) => remotecall_wait((y: InstanceType<typeof RemoteChannel>) => {
      globalThis.chan = y;
    }, next, x), b, rc, c);
  })();
  expect(await collectUntil(async () => (await stats(b)).heldReferences === 0)).toBe(true);
  expect(await stored(1)).toBe(masterBase + 1);
  await remotecall_fetch(async () => {
    await (globalThis.chan as InstanceType<typeof RemoteChannel>).put(1);
    globalThis.chan = undefined;
  }, c);
  expect(await collectUntil(async () => (await stored(1)) === masterBase)).toBe(true);
});

test('an already-fetched Future sent elsewhere carries its value (the owner is not asked)', async () => {
  const base = await settledBase(w[0]);
  const f = remotecall(() => 'carried', w[0]);
  expect(await f.fetch()).toBe('carried');
  expect(await stored(w[0])).toBe(base);
  expect(await remotecall_fetch(async (x: Fut) => [await x.isready(), await x.fetch()], w[1], f)).toEqual([true, 'carried']);
  expect(await stored(w[0])).toBe(base);
  // a failed one carries its error
  const bad = remotecall(() => {
    throw new Error('failed remotely');
  }, w[0]);
  await expect(bad.fetch()).rejects.toThrow(/failed remotely/);
  expect(await remotecall_fetch(async (x: Fut) => x.fetch().then(() => 'no', (e: Error) => e.message), w[1], bad)).toMatch(`On worker ${w[0]}:\nError: failed remotely`);
});

test('Futures created on one worker are fetched on another; a reference arriving twice is the same object', async () => {
  const [a, b] = w;
  const base = await settledBase(w[2]);
  const made = await remotecall_fetch((owner: number) => remotecall(() => myid() * 10, owner), a, b);
  expect(made.where).toBe(b);
  expect(made.whence).toBe(a);
  expect(await remotecall_fetch(async (x: Fut<number>) => x.fetch(), w[2], made)).toBe(b * 10);
  expect(await made.fetch()).toBe(b * 10);
  // a Future put on one worker, fetched on another
  const empty = new Future<string>(w[2]);
  await remotecall_wait(async (x: Fut<string>) => {
    await x.put(`put by ${myid()}`);
  }, a, empty);
  expect(await remotecall_fetch(async (x: Fut<string>) => x.fetch(), b, empty)).toBe(`put by ${a}`);
  finalize(empty);
  // identity: the same reference sent twice in one call, and in two calls, arrives as one object
  const g = remotecall(() => 1, w[2]);
  expect(await remotecall_fetch((x: Fut, y: Fut) => x === y, a, g, g)).toBe(true);
  await remotecall_wait((x: Fut) => {
    globalThis.first = x;
  }, a, g);
  expect(await remotecall_fetch((x: Fut) => x === globalThis.first, a, g)).toBe(true);
  // sent back to its owner it becomes a local reference there
  expect(await remotecall_fetch(async (x: Fut) => [x.where === myid(), await x.fetch()], w[2], g)).toEqual([true, 1]);
  await remotecall_fetch(() => {
    globalThis.first = undefined;
  }, a);
  finalize(g);
  expect(await collectUntil(async () => (await stored(w[2])) === base)).toBe(true);
});

test('a reference made here comes back as the same object once sent, also from its owner and through a worker', async () => {
  const [a, b] = w;
  const base = await settledBase(a);
  const f = remotecall(() => 7, a);
  await f.wait();
  // to its owner, which registers nothing for it, and back
  expect(await remotecall_fetch((x: Fut) => x, a, f)).toBe(f);
  // through another worker, twice
  expect(await remotecall_fetch((x: Fut) => x, b, f)).toBe(f);
  expect(await remotecall_fetch((x: Fut) => x, b, f)).toBe(f);
  expect(await f.fetch()).toBe(7);
  const rc = new RemoteChannel<number>(a);
  expect(await remotecall_fetch((x: unknown) => x, a, rc)).toBe(rc);
  expect(await remotecall_fetch((x: unknown) => x, b, rc)).toBe(rc);
  finalize(rc);
  expect(await collectUntil(async () => (await stored(a)) === base)).toBe(true);
});

test('reference tracking survives a send that fails to encode (nothing stays registered)', async () => {
  const base = await settledBase(w[0]);
  const f = remotecall(() => 5, w[0]);
  await f.wait();
  await expect(remotecall_fetch((x: unknown, _y: unknown) => x, w[1], f, new WeakMap())).rejects.toThrow(/args\[1\]/);
  expect(await f.fetch()).toBe(5);
  expect(await stored(w[0])).toBe(base);
});

test('references to values of a process that left count no more, and fail with ProcessExitedException', async () => {
  const [x] = await addprocs(1);
  const held = (await stats()).heldReferences;
  const f = remotecall(() => 'lost', x);
  const rc = new RemoteChannel(x);
  await f.wait();
  expect((await stats()).heldReferences).toBe(held + 2);
  await dts.rmprocs(x);
  expect((await stats()).heldReferences).toBe(held);
  await expect(f.fetch()).rejects.toBeInstanceOf(dts.ProcessExitedException);
  await expect(rc.put(1)).rejects.toBeInstanceOf(dts.ProcessExitedException);
});

test('a Future sent on while its fetch is under way still reaches its value from the new holder', async () => {
  const base = await settledBase(w[0]);
  const slow = remotecall(() => new Promise((r) => setTimeout(() => r('slow'), 200)), w[0]);
  const fetching = slow.fetch();
  const onB = remotecall_fetch(async (x: Fut) => x.fetch(), w[1], slow);
  expect(await fetching).toBe('slow');
  expect(await onB).toBe('slow');
  const ready = remotecall(() => 'ready', w[0]);
  await ready.wait();
  const fetching2 = ready.fetch(); // the value is there: the owner answers at once
  const onC = remotecall_fetch(async (x: Fut) => x.fetch(), w[2], ready);
  expect(await fetching2).toBe('ready');
  expect(await onC).toBe('ready');
  expect(await collectUntil(async () => (await stored(w[0])) === base)).toBe(true);
});

test('references sent around concurrently among all processes are all released in the end', async () => {
  const [owner, b, c] = w;
  const base = await settledBase(owner);
  await (async () => {
    const fs = Array.from({ length: 60 }, (_, i) => remotecall((k: number) => ({ k }), owner, i));
    const hop = (x: Fut[], next: number) => remotecall_fetch((y: Fut[]) => y.length, next, x);
    // b and c each receive every reference, pass them to each other and back to the master, at once
    const relay = (via: number, to: number) =>
      remotecall_fetch(async (x: Fut[], t: number) => {
        const [back] = await Promise.all([remotecall_fetch((y: Fut[]) => y, t, x), remotecall_fetch((y: Fut[]) => y.length, 1, x)]);
        return (back as Fut[]).length;
      }, via, fs, to);
    expect(await Promise.all([relay(b, c), relay(c, b), hop(fs, b), hop(fs.slice(0, 30), c)])).toEqual([60, 60, 60, 30]);
    // half are fetched here, the rest simply dropped
    await Promise.all(fs.slice(0, 30).map((f) => f.fetch()));
  })();
  expect(await collectUntil(async () => (await stored(owner)) === base)).toBe(true);
  for (const p of [1, b, c]) expect((await stats(p)).heldReferences).toBe(0);
});
