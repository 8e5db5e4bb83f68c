/**
 * The local Channel: bounded buffering, waiting put/take, fetch, isready, wait, close, iteration,
 * unbuffered and unbounded sizes.
 */
import { dts } from './helpers';

const { Channel, InvalidStateException, put, take, fetch, isready, wait, close } = dts;

jest.setTimeout(10_000);

/** Whether `p` is still pending after the current work (and a macrotask) is done. */
async function pending(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return !done;
}

test('put waits while full, take waits while empty; values come out first in, first out', async () => {
  const c = new Channel<number>(2);
  expect(c.sz_max).toBe(2);
  expect(c.isready()).toBe(false);
  expect(await c.put(1)).toBe(1);
  await c.put(2);
  expect(c.n_avail()).toBe(2);
  const third = c.put(3);
  expect(await pending(third)).toBe(true); // full
  expect(await c.take()).toBe(1);
  expect(await third).toBe(3); // room was made
  expect(await c.take()).toBe(2);
  expect(await c.take()).toBe(3);
  const waiting = c.take();
  expect(await pending(waiting)).toBe(true); // empty
  await c.put(4);
  expect(await waiting).toBe(4);
  // several waiting takers are served in order
  const t1 = c.take();
  const t2 = c.take();
  await c.put(5);
  await c.put(6);
  expect([await t1, await t2]).toEqual([5, 6]);
});

test('fetch reads without removing; isready and wait', async () => {
  const c = new Channel<string>(3);
  const w = c.wait();
  const f = c.fetch();
  expect(await pending(w)).toBe(true);
  expect(await pending(f)).toBe(true);
  await c.put('a');
  await w;
  expect(await f).toBe('a');
  expect(c.isready()).toBe(true);
  expect(await c.fetch()).toBe('a');
  expect(c.n_avail()).toBe(1);
  expect(await c.take()).toBe('a');
  expect(c.isready()).toBe(false);
  // the free functions work on channels too
  await put(c, 'b');
  expect(await isready(c)).toBe(true);
  await wait(c);
  expect(await fetch(c)).toBe('b');
  expect(await take(c)).toBe('b');
});

test('close: waiters fail with InvalidStateException, values left can still be taken, later puts fail', async () => {
  const c = new Channel<number>(2);
  await c.put(1);
  await c.put(2);
  const blockedPut = c.put(3);
  c.close();
  expect(c.isopen()).toBe(false);
  const e = await blockedPut.catch((x: unknown) => x);
  expect(e).toBeInstanceOf(InvalidStateException);
  expect((e as InstanceType<typeof InvalidStateException>).state).toBe('closed');
  expect((e as Error).message).toBe('Channel is closed.');
  await expect(c.put(9)).rejects.toBeInstanceOf(InvalidStateException);
  expect(await c.fetch()).toBe(1);
  expect(await c.take()).toBe(1);
  expect(await c.take()).toBe(2);
  await expect(c.take()).rejects.toBeInstanceOf(InvalidStateException);
  await expect(c.fetch()).rejects.toBeInstanceOf(InvalidStateException);
  await expect(c.wait()).rejects.toBeInstanceOf(InvalidStateException);

  const d = new Channel<number>(1);
  const takers = [d.take(), d.wait(), d.fetch()];
  await close(d);
  for (const t of takers) await expect(t).rejects.toBeInstanceOf(InvalidStateException);
  c.close(); // closing twice does nothing
  const custom = new Channel(1);
  const t = custom.take();
  custom.close(new RangeError('stopped'));
  await expect(t).rejects.toThrow(RangeError);
});

test('for await takes every value until the channel is closed and empty', async () => {
  const c = new Channel<number>(4);
  const producer = (async () => {
    for (let i = 0; i < 10; i++) await c.put(i);
    c.close();
  })();
  const got: number[] = [];
  for await (const x of c) got.push(x);
  await producer;
  expect(got).toEqual([...Array(10).keys()]);
  // a closed, drained channel iterates nothing
  const empty = new Channel(1);
  empty.close();
  for await (const x of empty) got.push(x as number);
  expect(got.length).toBe(10);
});

test('Infinity size never fills; size 0 is unbuffered: put waits for a taker', async () => {
  const big = new Channel<number>(Infinity);
  for (let i = 0; i < 10_000; i++) await big.put(i);
  expect(big.n_avail()).toBe(10_000);
  let sum = 0;
  for (let i = 0; i < 10_000; i++) sum += await big.take();
  expect(sum).toBe((9999 * 10_000) / 2);

  const u = new Channel<string>(0);
  expect(new Channel().sz_max).toBe(0); // Julia's default
  const p = u.put('hand-off');
  expect(await pending(p)).toBe(true); // no taker yet
  expect(u.isready()).toBe(true); // a putter waits
  expect(await u.take()).toBe('hand-off');
  expect(await p).toBe('hand-off');
  const t = u.take();
  expect(await pending(t)).toBe(true);
  await u.put('direct'); // a waiting taker receives it at once
  expect(await t).toBe('direct');
  await expect(u.fetch()).rejects.toThrow(/unbuffered/);
  const w = u.wait();
  const p2 = u.put('x');
  await w;
  u.close();
  await expect(p2).rejects.toBeInstanceOf(InvalidStateException);
});

test('bad sizes are refused with a clear error', () => {
  expect(() => new Channel(-1)).toThrow(/non-negative integer or Infinity, got -1/);
  expect(() => new Channel(1.5)).toThrow(RangeError);
  expect(() => new Channel(NaN)).toThrow(RangeError);
});
