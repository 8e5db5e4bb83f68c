/**
 * Remote calls and Futures against real workers: every form, caching, write-once, errors, argument
 * capture, undecodable messages, output forwarding, local invocation.
 */
import * as net from 'node:net';
import { dts, teardown, eventually } from './helpers';

const { addprocs, remotecall, remotecall_fetch, remotecall_wait, remote_do, Future, fetch, wait, isready, put, stats, registerType, workers } = dts;
const { RemoteException, CapturedException } = dts;

jest.setTimeout(60_000);
let w: number[] = [];
beforeAll(async () => {
  w = await addprocs(2);
});
afterAll(teardown);

declare const globalThis: Record<string, unknown>;

test('remotecall returns a Future at once; fetch gets the value; the value is cached and freed on the owner', async () => {
  const f = remotecall((a: number, b: number) => a + b, w[0], 1, 2);
  expect(f).toBeInstanceOf(Future);
  expect(f.where).toBe(w[0]);
  expect(f.whence).toBe(1);
  expect(typeof f.id).toBe('number');
  expect(await f.fetch()).toBe(3);
  expect((await stats(w[0])).storedValues).toBe(0); // the owner's copy is freed by the fetch
  expect(await f.fetch()).toBe(3); // so this one came from the cache
  expect(await fetch(f)).toBe(3);
  expect(await fetch(42)).toBe(42);
});

test('remotecall_fetch with a built-in, an arrow, a declared function and an async function', async () => {
  expect(await remotecall_fetch(Math.max, w[0], 3, 9, 4)).toBe(9);
  expect(await remotecall_fetch((s: string) => s.toUpperCase(), w[1], 'abc')).toBe('ABC');
  function cube(x: number) {
    return x * x * x;
  }
  expect(await remotecall_fetch(cube, w[0], 3)).toBe(27);
  expect(await remotecall_fetch(async (ms: number) => new Promise((r) => setTimeout(() => r(ms * 2), ms)), w[1], 20)).toBe(40);
  expect(await remotecall_fetch(JSON.stringify, w[0], { a: [1, 2] })).toBe('{"a":[1,2]}');
});

test("process's own functions travel by name and run as the target's (not as shipped source)", async () => {
  const [osPid] = await remotecall_fetch(() => [process.pid], w[0]);
  const usage = await remotecall_fetch(process.cpuUsage, w[0]);
  expect(Object.keys(usage).sort()).toEqual(['system', 'user']);
  expect((await remotecall_fetch(process.memoryUsage, w[1])).rss).toBeGreaterThan(0);
  expect(await remotecall_fetch(process.cwd, w[0])).toBe(process.cwd());
  expect(typeof (await remotecall_fetch(process.uptime, w[0]))).toBe('number');
  expect(await remotecall_fetch((f: () => NodeJS.MemoryUsage) => typeof f().heapUsed, w[1], process.memoryUsage)).toBe('number');
  // the target's own: hrtime.bigint is a method of the worker's process.hrtime
  expect(await remotecall_fetch((f: typeof process.hrtime) => typeof f.bigint(), w[0], process.hrtime)).toBe('bigint');
  expect(await remotecall_fetch(process.kill, w[0], osPid, 0)).toBe(true); // signal 0: a check, sent by the worker
});

test('remotecall_wait resolves with a ready Future; wait and isready', async () => {
  const f = await remotecall_wait((x: number) => x * 10, w[0], 4);
  expect(await f.isready()).toBe(true);
  expect(await f.fetch()).toBe(40);
  const slow = remotecall(() => new Promise((r) => setTimeout(() => r('done'), 300)), w[1]);
  expect(await isready(slow)).toBe(false);
  expect(await wait(slow)).toBe(slow);
  expect(await slow.isready()).toBe(true);
  expect(await slow.fetch()).toBe('done');
});

test('remote_do runs without answering; calls to one worker are sent in order', async () => {
  remote_do(() => {
    globalThis.seen = [];
  }, w[0]);
  for (let i = 0; i < 100; i++) remote_do((k: number) => (globalThis.seen as number[]).push(k), w[0], i);
  expect(await remotecall_fetch(() => globalThis.seen, w[0])).toEqual([...Array(100).keys()]);
});

test('Future(pid): put then fetch; Futures are write-once', async () => {
  const f = new Future<number>(w[1]);
  expect(f.where).toBe(w[1]);
  expect(await f.isready()).toBe(false);
  await put(f, 7);
  expect(await f.fetch()).toBe(7);
  await expect(f.put(8)).rejects.toThrow(/only once/);
  const local = new Future<string>();
  expect(local.where).toBe(1);
  expect(await local.isready()).toBe(false);
  await local.put('here');
  expect(await local.isready()).toBe(true);
  expect(await local.fetch()).toBe('here');
  await expect(local.put('again')).rejects.toThrow(/only once/);
  // write-once holds on the owner too, even for a second reference to the same value
  const g = new Future<number>(w[0]);
  await g.put(1);
  const twin = new (Future as unknown as new (p: number, wh: number, id: number) => InstanceType<typeof Future>)(w[0], g.whence, g.id);
  await expect(twin.put(2)).rejects.toThrow(/only once/);
});

test('remote errors arrive as RemoteException with Julia fields and text', async () => {
  const err = await remotecall_fetch(() => {
    const e = new RangeError('bad thing') as RangeError & { code: number };
    e.code = 7;
    throw e;
  }, w[1]).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RemoteException);
  const re = err as InstanceType<typeof RemoteException>;
  expect(re.pid).toBe(w[1]);
  expect(re.captured).toBeInstanceOf(CapturedException);
  expect(re.captured.ex).toBeInstanceOf(RangeError);
  expect((re.captured.ex as Error).message).toBe('bad thing');
  expect((re.captured.ex as { code: number }).code).toBe(7);
  expect(re.message.startsWith(`On worker ${w[1]}:\nRangeError: bad thing\n`)).toBe(true);
  expect(re.message).toMatch(/\n\s+at /); // the remote stack
  expect(re.captured.processed_bt).toMatch(/RangeError: bad thing/);
  // the same through a Future, wait, and remotecall_wait
  const f = remotecall(() => {
    throw new TypeError('nope');
  }, w[0]);
  await expect(f.fetch()).rejects.toThrow(/On worker \d+:\nTypeError: nope/);
  await expect(f.wait()).rejects.toBeInstanceOf(RemoteException);
  await expect(remotecall_wait(() => Promise.reject(new Error('async nope')), w[0])).rejects.toThrow(/Error: async nope/);
  // a thrown non-Error value
  const thrown = await remotecall_fetch(() => {
    throw 42;
  }, w[0]).catch((e: unknown) => e);
  expect((thrown as InstanceType<typeof RemoteException>).captured.ex).toBe(42);
});

test('arguments are captured at call time: later mutation does not reach the worker', async () => {
  const small = new Float64Array(16).fill(1);
  const f1 = remotecall(async (x: Float64Array) => x.reduce((a, b) => a + b, 0), w[0], small);
  small.fill(100);
  expect(await f1.fetch()).toBe(16);
  // A large array sent to a busy worker cannot be written at once: the unsent rest must be captured.
  // Twice: the second time the unsent rest is copied into the pooled spill buffer of the first.
  for (const v of [1, 3]) {
    remote_do(() => {
      const end = Date.now() + 400;
      while (Date.now() < end);
    }, w[0]);
    const big = new Float64Array(4e6).fill(v); // 32 MB: far more than the socket takes at once
    const obj = { label: 'before', data: big };
    const f2 = remotecall((o: { label: string; data: Float64Array }) => `${o.label}:${o.data[0]}:${o.data[o.data.length - 1]}`, w[0], obj);
    obj.label = 'after';
    big.fill(2);
    expect(await f2.fetch()).toBe(`before:${v}:${v}`);
  }
});

test('a value that cannot travel fails at the caller, naming its path', async () => {
  const sock = new net.Socket();
  await expect(remotecall_fetch((x: unknown, _y: unknown) => x, w[0], 1, { conn: sock })).rejects.toThrow(/args\[1\]\.conn/);
  await expect(remotecall_fetch((x: unknown) => x, w[0], Promise.resolve(1))).rejects.toThrow(/args\[0\]/);
  expect(await remotecall_fetch(() => 'still fine', w[0])).toBe('still fine');
});

test('a message the worker cannot decode fails that call only', async () => {
  class OnlyOnMaster {
    constructor(public v = 1) {}
  }
  registerType(OnlyOnMaster);
  const err = await remotecall_fetch((x: unknown) => x, w[1], new OnlyOnMaster()).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RemoteException);
  expect((err as Error).message).toMatch(/OnlyOnMaster/);
  expect(await remotecall_fetch((a: number) => a + 1, w[1], 1)).toBe(2);
});

test('a function name defined nowhere fails as a ReferenceError naming it', async () => {
  const err = await remotecall_fetch(() => (globalThis as Record<string, () => number>).x ?? undefinedEverywhere(), w[0]).catch((e: unknown) => e);
  expect((err as InstanceType<typeof RemoteException>).captured.ex).toBeInstanceOf(ReferenceError);
  expect((err as Error).message).toMatch(/undefinedEverywhere is not defined/);
});
declare function undefinedEverywhere(): number;

test("workers' stdout and stderr lines appear prefixed with From worker N", async () => {
  const out: string[] = [];
  const err: string[] = [];
  const so = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
  const se = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
  try {
    await remotecall_wait(() => {
      console.log('hello-out line1\nline2');
      console.error('hello-err');
    }, w[1]);
    expect(await eventually(() => out.join('').includes('line2') && err.join('').includes('hello-err'), 3000)).toBe(true);
  } finally {
    so.mockRestore();
    se.mockRestore();
  }
  expect(out.join('')).toContain(`      From worker ${w[1]}:\thello-out line1\n      From worker ${w[1]}:\tline2\n`);
  expect(err.join('')).toContain(`      From worker ${w[1]}:\thello-err\n`);
});

/**
 * Runs `call` on worker w[1] with this process's stderr captured until `text` shows there; returns
 * what `call` answered and the captured stderr.
 */
async function reportedOnStderr(call: () => string, text: string): Promise<[string, string]> {
  const err: string[] = [];
  const se = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
  try {
    const answer = await remotecall_fetch(call, w[1]);
    expect(await eventually(() => err.join('').includes(text), 3000)).toBe(true);
    return [answer, err.join('')];
  } finally {
    se.mockRestore();
  }
}

test('a promise rejection nobody handles on a worker is reported there and the worker keeps serving', async () => {
  const [answer, err] = await reportedOnStderr(() => {
    void Promise.reject(new RangeError('nobody waits for me'));
    return 'returned';
  }, 'nobody waits for me');
  expect(answer).toBe('returned');
  expect(err).toMatch(new RegExp(`From worker ${w[1]}:\tdistributed-ts worker ${w[1]}: unhandled promise rejection \\(the worker keeps running\\): RangeError: nobody waits for me`));
  expect(await remotecall_fetch(() => 6 * 7, w[1])).toBe(42);
});

test('an error thrown from a timer that shipped code set is reported on the worker, which keeps serving', async () => {
  const [answer, err] = await reportedOnStderr(() => {
    setTimeout(() => {
      throw new TypeError('thrown from a timer');
    }, 1);
    return 'scheduled';
  }, 'thrown from a timer');
  expect(answer).toBe('scheduled');
  expect(err).toMatch(new RegExp(`From worker ${w[1]}:\tdistributed-ts worker ${w[1]}: uncaught exception \\(the worker keeps running\\): TypeError: thrown from a timer`));
  expect(workers()).toContain(w[1]);
  expect(await remotecall_fetch(() => 6 * 7, w[1])).toBe(42);
});

test('a call to this process runs here, on the very same objects', async () => {
  const o = { n: 1 };
  expect(await remotecall_fetch((x: object) => x, 1, o)).toBe(o);
  const f = remotecall((x: { n: number }) => ++x.n, 1, o);
  expect(await f.fetch()).toBe(2);
  expect(o.n).toBe(2);
  await expect(remotecall_fetch(() => {
    throw new Error('local');
  }, 1)).rejects.toThrow(/On worker 1:\nError: local/);
});

test('bad arguments are clear errors', async () => {
  expect(() => remotecall(42 as unknown as () => void, w[0])).toThrow(/first argument must be a function/);
  expect(() => remotecall(() => 1, 0)).toThrow(/positive integer/);
  await expect(remotecall_fetch(() => 1, 99)).rejects.toThrow(/no process with id 99/);
});
