/**
 * RemoteChannel against real workers: every operation from the master and from workers, full, empty,
 * closed, iteration, factory sizes, keyed backing stores (the manual's DictChannel), bad factories,
 * channel_from_id, and finalized channels failing clearly.
 */
import { dts, teardown, eventually } from './helpers';

const { addprocs, remotecall_fetch, remotecall_wait, remote_do, RemoteChannel, Channel, stats, finalize, remoteref_id, channel_from_id } = dts;
const { RemoteException, InvalidStateException } = dts;
type RC<T = unknown> = InstanceType<typeof RemoteChannel<T>>;

jest.setTimeout(60_000);
let w: number[] = [];
beforeAll(async () => {
  w = await addprocs(2);
});
afterAll(teardown);

declare const globalThis: Record<string, unknown>;

/** Whether `p` is still pending after a short while (long enough for a round trip to a local worker). */
async function stillPending(p: Promise<unknown>, ms = 150): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setTimeout(r, ms));
  return !done;
}

test('RemoteChannel(pid) is a Channel(1) on pid: put waits while full, take while empty; fetch, isready, wait', async () => {
  const rc = new RemoteChannel<number>(w[0]);
  expect(rc.where).toBe(w[0]);
  expect(rc.whence).toBe(1);
  expect(await rc.isready()).toBe(false);
  const taking = rc.take();
  expect(await stillPending(taking)).toBe(true);
  expect(await rc.put(1)).toBe(rc);
  expect(await taking).toBe(1);
  await rc.put(2);
  const second = rc.put(3);
  expect(await stillPending(second)).toBe(true); // size 1: full
  expect(await rc.isready()).toBe(true);
  expect(await rc.fetch()).toBe(2); // not removed
  expect(await rc.wait()).toBe(rc);
  expect(await rc.take()).toBe(2);
  await second;
  expect(await rc.take()).toBe(3);
  expect(await remotecall_fetch((id: { whence: number; id: number }) => (channel_from_id(id) as InstanceType<typeof Channel>).sz_max, w[0], remoteref_id(rc))).toBe(1);
});

test('factory sizes: Channel(10) and Channel(Infinity) made on the owner', async () => {
  const ten = new RemoteChannel<number>(() => new Channel(10), w[1]);
  for (let i = 0; i < 10; i++) await ten.put(i);
  const eleventh = ten.put(10);
  expect(await stillPending(eleventh)).toBe(true);
  expect(await ten.take()).toBe(0);
  await eleventh;
  const got: number[] = [];
  for (let i = 0; i < 10; i++) got.push(await ten.take());
  expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  expect(await remotecall_fetch((c: RC) => (channel_from_id(remoteref_id(c)) as InstanceType<typeof Channel>).sz_max, w[1], ten)).toBe(10);

  const unbounded = new RemoteChannel<number>(() => new Channel(Infinity), w[1]);
  await Promise.all(Array.from({ length: 500 }, (_, i) => unbounded.put(i)));
  expect(await remotecall_fetch((c: RC) => (channel_from_id(remoteref_id(c)) as InstanceType<typeof Channel>).n_avail(), w[1], unbounded)).toBe(500);
});

test('close: waiting takers fail with InvalidStateException inside RemoteException; values left can be taken; for await ends', async () => {
  const rc = new RemoteChannel<number>(() => new Channel(4), w[0]);
  const other = new RemoteChannel<number>(w[0]);
  const waiting = other.take();
  await new Promise((r) => setTimeout(r, 50));
  await other.close();
  const err = await waiting.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RemoteException);
  expect((err as InstanceType<typeof RemoteException>).captured.ex).toBeInstanceOf(InvalidStateException);
  expect(((err as InstanceType<typeof RemoteException>).captured.ex as InstanceType<typeof InvalidStateException>).state).toBe('closed');
  await expect(other.put(1)).rejects.toThrow(/Channel is closed/);

  await rc.put(1);
  await rc.put(2);
  await rc.close();
  expect(await rc.take()).toBe(1);
  const rest: number[] = [];
  for await (const x of rc) rest.push(x);
  expect(rest).toEqual([2]);
  await expect(rc.take()).rejects.toBeInstanceOf(RemoteException);
});

test('for await over a RemoteChannel fed by a worker', async () => {
  const rc = new RemoteChannel<number>(() => new Channel(3), w[0]);
  remote_do(
    async (c: RC<number>) => {
      for (let i = 0; i < 20; i++) await c.put(i * i);
      await c.close();
    },
    w[1],
    rc,
  );
  const got: number[] = [];
  for await (const x of rc) got.push(x);
  expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i * i));
});

test('a channel on the master, used by workers; a worker-owned channel used by another worker', async () => {
  const jobs = new RemoteChannel<number>(() => new Channel(100));
  const results = new RemoteChannel<[number, number]>(() => new Channel(100));
  expect(jobs.where).toBe(1);
  for (let i = 1; i <= 10; i++) await jobs.put(i);
  await jobs.close();
  const work = async (j: RC<number>, r: RC<[number, number]>) => {
    let n = 0;
    for await (const x of j) {
      await r.put([x, myid()]);
      n++;
    }
    return n;
  };
  const counts = await Promise.all(w.map((p) => remotecall_fetch(work, p, jobs, results)));
  expect(counts[0] + counts[1]).toBe(10);
  const seen: number[] = [];
  for (let i = 0; i < 10; i++) {
    const [x, who] = await results.take();
    expect(w).toContain(who);
    seen.push(x);
  }
  expect(seen.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

  // owned by w[0], filled by w[1], drained here
  const onWorker = new RemoteChannel<string>(() => new Channel(2), w[0]);
  await remotecall_fetch(async (c: RC<string>) => {
    await c.put(`from ${myid()}`);
  }, w[1], onWorker);
  expect(await onWorker.take()).toBe(`from ${w[1]}`);
  expect(await remotecall_fetch(async (c: RC<string>) => c.isready(), w[1], onWorker)).toBe(false);
});

/** The manual's DictChannel: a keyed store whose methods take the key (made on the channel's owner). */
const dictChannel = () => {
  class DictChannel {
    d = new Map<unknown, unknown>();
    waiters: Array<() => void> = [];
    put(k: unknown, v: unknown) {
      this.d.set(k, v);
      for (const f of this.waiters.splice(0)) f();
      return this;
    }
    async take(k: unknown) {
      const v = await this.fetch(k);
      this.d.delete(k);
      return v;
    }
    async fetch(k: unknown) {
      await this.wait(k);
      return this.d.get(k);
    }
    isready(k?: unknown) {
      return k === undefined ? this.d.size > 0 : this.d.has(k);
    }
    async wait(k: unknown) {
      while (!this.isready(k)) await new Promise<void>((r) => this.waiters.push(r));
    }
  }
  return new DictChannel();
};

test("the manual's DictChannel: keyed put/take/fetch/isready/wait proxied with their arguments", async () => {
  const dc = new RemoteChannel(dictChannel, w[1]);
  expect(await dc.isready('a')).toBe(false);
  const b = dc.take('b');
  await dc.put('a', 1);
  expect(await dc.isready('a')).toBe(true);
  expect(await dc.isready('b')).toBe(false);
  expect(await dc.fetch('a')).toBe(1);
  expect(await remotecall_fetch(async (c: RC) => c.take('a'), w[0], dc)).toBe(1);
  expect(await dc.isready('a')).toBe(false);
  expect(await stillPending(b)).toBe(true);
  await remotecall_wait(async (c: RC) => {
    await c.put('b', { from: myid() });
  }, w[0], dc);
  expect(await b).toEqual({ from: w[0] });
  await dc.put('c', 3);
  expect(await dc.wait('c')).toBe(dc);
  await expect(dc.close()).rejects.toThrow(/has no close method/); // DictChannel defines none
});

test('the free put/take/fetch/isready/wait pass every argument on: a keyed channel gets its keys and values', async () => {
  const { put, take, fetch, isready, wait } = dts;
  const dc = new RemoteChannel(dictChannel, w[1]);
  expect(await isready(dc, 'a')).toBe(false);
  expect(await put(dc, 'a', 1)).toBe(dc); // put(dc, k, v): v used to be dropped, storing undefined under 'a'
  expect(await isready(dc, 'a')).toBe(true);
  expect(await isready(dc, 'b')).toBe(false); // the key reaches isready: without it, isready() is "any key"
  expect(await fetch(dc, 'a')).toBe(1);
  expect(await wait(dc, 'a')).toBe(dc);
  const b = take(dc, 'b');
  expect(await stillPending(b)).toBe(true); // waits for its own key, not for any value
  await put(dc, 'b', 'bee');
  expect(await b).toBe('bee');
  expect(await take(dc, 'a')).toBe(1);
  expect(await isready(dc, 'a')).toBe(false);
  // From a worker, through its globals (where fetch is combined with Node's HTTP fetch).
  const onWorker = await remotecall_fetch(async (c: RC) => {
    await put(c, 'w', myid());
    return [await isready(c, 'w'), await isready(c, 'zz'), await fetch(c, 'w'), await take(c, 'w'), await isready(c, 'w')];
  }, w[0], dc);
  expect(onWorker).toEqual([true, false, w[0], w[0], false]);
  // There, fetch of anything else is still Node's HTTP fetch, with all its arguments.
  const http = await remotecall_fetch(async () => {
    const hostFetch = fetch as unknown as (u: string, init: { method: string }) => Promise<{ text(): Promise<string> }>;
    return (await hostFetch('data:text/plain,hello', { method: 'GET' })).text();
  }, w[0]);
  expect(http).toBe('hello');
  // Extra arguments to a value with no fetch method are an error, not silently ignored.
  await expect(fetch(5 as unknown as { fetch(): Promise<number> }, 'k')).rejects.toThrow(/fetch: the number given has no fetch\(\) method/);
});

test('a factory that throws, or returns something that is not a channel, fails the operations clearly', async () => {
  const throws = new RemoteChannel(() => {
    throw new RangeError('no channel for you');
  }, w[0]);
  const e = await throws.put(1).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(RemoteException);
  expect((e as Error).message).toMatch(/RangeError: no channel for you/);
  const notChannel = new RemoteChannel((() => 42) as unknown as () => InstanceType<typeof Channel>, w[0]);
  await expect(notChannel.take()).rejects.toThrow(/returned number; it must return a channel/);
  expect(() => new RemoteChannel((() => 42) as unknown as () => InstanceType<typeof Channel>)).toThrow(/it must return a channel/);
  expect(() => new RemoteChannel(0)).toThrow(/positive integer/);
  expect(() => new RemoteChannel('x' as unknown as number)).toThrow(/factory function or a process id/);
});

test('a RemoteChannel on this process works without messages; an async factory is awaited', async () => {
  const local = new RemoteChannel<number>(() => new Channel(2));
  await local.put(5);
  expect(await local.isready()).toBe(true);
  expect(await local.fetch()).toBe(5);
  expect(await local.take()).toBe(5);
  const asyncMade = new RemoteChannel<number>(async () => new Channel(3), w[0]);
  await asyncMade.put(1);
  expect(await asyncMade.take()).toBe(1);
  expect(channel_from_id(remoteref_id(local))).toBeInstanceOf(Channel);
});

test('finalize frees the channel on its owner; a finalized RemoteChannel fails clearly when used or sent', async () => {
  const before = (await stats(w[0])).storedValues;
  const rc = new RemoteChannel<number>(() => new Channel(4), w[0]);
  await rc.put(1);
  expect((await stats(w[0])).storedValues).toBe(before + 1);
  const id = remoteref_id(rc);
  finalize(rc);
  expect((await stats(w[0])).storedValues).toBe(before);
  await expect(remotecall_fetch((i: { whence: number; id: number }) => channel_from_id(i), w[0], id)).rejects.toThrow(/no channel with id 1:\d+ on process \d+ \(freed/);
  await expect(rc.put(2)).rejects.toThrow(/cannot put into a RemoteChannel that was finalized/);
  await expect(rc.take()).rejects.toThrow(/finalized/);
  await expect(remotecall_fetch((c: unknown) => c, w[1], rc)).rejects.toThrow(/args\[0\].*cannot send a RemoteChannel that was finalized/);
  rc.finalize(); // twice is fine
  expect(() => finalize(42 as never)).toThrow(/expected a Future, a RemoteChannel/);
  const localOne = new RemoteChannel<number>();
  const lid = remoteref_id(localOne);
  expect(channel_from_id(lid)).toBeInstanceOf(Channel);
  finalize(localOne);
  expect(() => channel_from_id(lid)).toThrow(/freed/);
});

test('a channel dropped by every holder is freed on its owner', async () => {
  const before = (await stats(w[1])).storedValues;
  await remotecall_fetch((c: RC) => {
    globalThis.kept = c;
  }, w[0], new RemoteChannel(w[1]));
  // the master's own reference is garbage now; worker w[0] still holds one
  await eventually(async () => (await stats(w[1])).storedValues === before + 1, 2000);
  await remotecall_fetch(() => {
    finalize(globalThis.kept as RC);
    globalThis.kept = undefined;
  }, w[0]);
  const freed = await eventually(async () => {
    gcHere();
    await new Promise((r) => setTimeout(r, 10));
    return (await stats(w[1])).storedValues === before;
  }, 5000);
  expect(freed).toBe(true);
});

function gcHere(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('node:v8').setFlagsFromString('--expose-gc');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('node:vm').runInNewContext('gc') as () => void)();
}
declare function myid(): number;
