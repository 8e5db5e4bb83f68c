/**
 * How functions and the globals they use travel (SPEC §3, §3a), against real workers: each shipping rule,
 * data globals sent once and again only after a change (shown by the library's counters), unknown names,
 * TypeScript's CommonJS import aliases, `clear`, and local invocation identity.
 */
import { dts, teardown } from './helpers';

const { addprocs, remotecall, remotecall_fetch, stats, clear, Future, myid, nworkers, RemoteException } = dts;


jest.setTimeout(60_000);
let w: number[] = [];
beforeAll(async () => {
  w = await addprocs(2);
});
afterAll(teardown);

declare const globalThis: Record<string, unknown>;
// Globals the shipped code below refers to by bare name (defined on globalThis at run time).
declare const gk: number;
declare const bigData: Float64Array;
declare const gConfig: { scale: number };
declare const rand2: (n: number) => number[];
declare const tripleIt: (x: number) => string;
declare const nowhereDefined: number;

async function shipping(pid: number) {
  return (await stats()).shipping[pid];
}

test('rule 1: a global function travels by name and the target runs its own definition', async () => {
  // by name means globalThis[fn.name] === fn (an arrow assigned to globalThis.x has no name)
  globalThis.tripleIt = function tripleIt(x: number) {
    return `caller ${3 * x}`;
  };
  await remotecall_fetch(() => {
    globalThis.tripleIt = function tripleIt(x: number) {
      return `worker ${3 * x}`;
    };
  }, w[0]);
  expect(await remotecall_fetch(globalThis.tripleIt as (x: number) => string, w[0], 2)).toBe('worker 6');
  // used from shipped source it is looked up by name too, not sent
  expect(await remotecall_fetch((x: number) => tripleIt(x), w[0], 3)).toBe('worker 9');
  delete globalThis.tripleIt;
});

test('rules 2 and 3: package exports and built-ins travel by path', async () => {
  expect(await remotecall_fetch(myid, w[1])).toBe(w[1]);
  expect(await remotecall_fetch(Math.hypot, w[0], 3, 4)).toBe(5);
  expect(await remotecall_fetch(JSON.parse, w[0], '[1,2]')).toEqual([1, 2]);
  // the package's exports are in scope inside shipped code on every process (§3a)
  expect(await remotecall_fetch(() => myid(), w[0])).toBe(w[0]);
});

test('code a worker ships to the master sees the package exports in scope there too', async () => {
  const r = await remotecall_fetch(() => remotecall_fetch(() => myid() * 100 + nworkers(), 1), w[1]);
  expect(r).toBe(102);
});

test("fetch in shipped code is the package's for references and Node's for anything else", async () => {
  const r = await remotecall_fetch(async () => {
    const f = remotecall((x: number) => x * 2, myid(), 21);
    return fetch(f as unknown as string);
  }, w[0]);
  expect(r).toBe(42);
  const err = await remotecall_fetch(async () => fetch('not a url'), w[0]).catch((e: unknown) => e);
  expect(((err as InstanceType<typeof RemoteException>).captured.ex as Error).name).toBe('TypeError'); // Node's fetch rejected it
});

test("rule 4: TypeScript's CommonJS import alias (distributed_ts_1.myid) resolves to the package on the target", async () => {
  const distributed_ts_1 = dts; // what `import { myid } from 'distributed-ts'` compiles to
  const f = () => (0, distributed_ts_1.myid)() * 10 + distributed_ts_1.nprocs();
  expect(await remotecall_fetch(f, w[1])).toBe(w[1] * 10 + 3);
});

test("compiler helpers inside shipped source (esbuild's __name, as tsx emits it) are bound on the target", async () => {
  const f = new Function('return __name(function g() { return 1 }, "renamed").name') as () => string;
  expect(await remotecall_fetch(f, w[0])).toBe('renamed');
});

test('a primitive data global arrives, and travels again only when it changes', async () => {
  globalThis.gk = 5;
  const before = (await shipping(w[0])).globalValues;
  const f = (x: number) => gk * x;
  expect(await remotecall_fetch(f, w[0], 2)).toBe(10);
  expect(await remotecall_fetch(f, w[0], 3)).toBe(15);
  expect((await shipping(w[0])).globalValues).toBe(before + 1);
  globalThis.gk = 6;
  expect(await remotecall_fetch(f, w[0], 2)).toBe(12);
  expect((await shipping(w[0])).globalValues).toBe(before + 2);
  // it became a global on the target
  expect(await remotecall_fetch(() => globalThis.gk, w[0])).toBe(6);
});

test('a large typed-array global crosses the wire once per worker; rebinding it sends it again', async () => {
  globalThis.bigData = new Float64Array(1 << 20).fill(1.5); // 8 MB
  const oneCopy = (1 << 20) * 8;
  const s0 = await shipping(w[1]);
  for (let i = 0; i < 10; i++) expect(await remotecall_fetch((k: number) => bigData[k] + bigData.length, w[1], i)).toBe(1.5 + (1 << 20));
  const s1 = await shipping(w[1]);
  expect(s1.globalValues - s0.globalValues).toBe(1);
  expect(s1.bytesSent - s0.bytesSent).toBeGreaterThanOrEqual(oneCopy);
  expect(s1.bytesSent - s0.bytesSent).toBeLessThan(oneCopy * 1.05);
  globalThis.bigData = new Float64Array(16).fill(2);
  expect(await remotecall_fetch(() => bigData[0] + bigData.length, w[1])).toBe(18);
  expect((await shipping(w[1])).globalValues).toBe(s1.globalValues + 1);
  // an object global: identity is what counts
  globalThis.gConfig = { scale: 3 };
  const g = (x: number) => x * gConfig.scale;
  expect(await remotecall_fetch(g, w[1], 2)).toBe(6);
  globalThis.gConfig = { scale: 4 };
  expect(await remotecall_fetch(g, w[1], 2)).toBe(8);
  delete globalThis.bigData;
  delete globalThis.gConfig;
});

test('a global function the target lacks fails with the ReferenceError of SPEC §3 (the rand2 story)', async () => {
  globalThis.rand2 = (n: number) => Array.from({ length: n }, () => 2 * Math.random());
  expect(rand2(2)).toHaveLength(2);
  const err = await remotecall_fetch(() => rand2(2), w[0]).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RemoteException);
  const ex = (err as InstanceType<typeof RemoteException>).captured.ex as Error;
  expect(ex).toBeInstanceOf(ReferenceError);
  expect(ex.message).toMatch(/^rand2 is not defined on this process: pass it as an argument, or define it on every process with everywhere\(\)/);
  expect((err as Error).message).toContain(`On worker ${w[0]}`);
  // The fix is said once, in the message and in the stack the caller's error text is made of.
  const fix = /pass it as an argument/g;
  expect((err as Error).message.match(fix)).toHaveLength(1);
  expect(String(ex.stack).match(fix)).toHaveLength(1);
  delete globalThis.rand2;
});

test('an identifier defined nowhere names itself and the fix', async () => {
  const err = await remotecall_fetch(() => nowhereDefined + 1, w[1]).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RemoteException);
  const ex = (err as InstanceType<typeof RemoteException>).captured.ex as Error;
  expect(ex).toBeInstanceOf(ReferenceError);
  expect(ex.message).toContain('nowhereDefined is not defined');
  expect(ex.message).toContain('pass it as an argument, or define it on every process with everywhere()');
  // an async function's rejection gets the same text
  const err2 = await remotecall_fetch(async () => nowhereDefined, w[1]).catch((e: unknown) => e);
  expect(((err2 as InstanceType<typeof RemoteException>).captured.ex as Error).message).toContain('define it on every process with everywhere()');
});

test('clear resets shipped globals on workers, and the next use sends them again', async () => {
  globalThis.gk = 41;
  expect(await remotecall_fetch(() => gk + 1, w[0])).toBe(42);
  expect(await remotecall_fetch(() => gk + 1, w[1])).toBe(42);
  const before = (await shipping(w[0])).globalValues;
  await clear(['gk'], [w[0]]);
  expect(await remotecall_fetch(() => typeof globalThis.gk, w[0])).toBe('undefined');
  expect(await remotecall_fetch(() => typeof globalThis.gk, w[1])).toBe('number'); // not in pids
  expect(await remotecall_fetch(() => gk + 2, w[0])).toBe(43);
  expect((await shipping(w[0])).globalValues).toBe(before + 1);
  await clear('gk'); // default: every worker
  expect(await remotecall_fetch(() => typeof globalThis.gk, w[1])).toBe('undefined');
  delete globalThis.gk;
  await expect(clear(['no such'] as string[])).rejects.toThrow(/clear: .*identifier/);
  // Julia's clear!(pool): an object with a clear() method clears itself
  let cleared = 0;
  await clear({ clear: () => cleared++ });
  expect(cleared).toBe(1);
});

test('a function source is sent once per connection; later calls send only a reference', async () => {
  const f = (a: number) => a + 1;
  const s0 = await shipping(w[0]);
  for (let i = 0; i < 5; i++) await remotecall_fetch(f, w[0], i);
  const s1 = await shipping(w[0]);
  expect(s1.functionSources - s0.functionSources).toBe(1);
  // a fresh closure with the same source is the same function to the target
  for (let i = 0; i < 3; i++) await remotecall_fetch((a: number) => a + 1, w[0], i);
  expect((await shipping(w[0])).functionSources).toBe(s1.functionSources);
});

test('local invocation: a call to the calling process sees the very objects (manual, "Local invocations")', async () => {
  const v = [0];
  const local = [1, 2, 3].map((i) => {
    v[0] = i;
    return remotecall((x: number[]) => x, myid(), v);
  });
  const result = await Promise.all(local.map((f) => f.fetch()));
  expect(result).toEqual([[3], [3], [3]]);
  expect(new Set(result).size).toBe(1);
  expect(result[0]).toBe(v);
  expect(await remotecall_fetch((x: number[]) => x, 1, v)).toBe(v);
  const fut = new Future<number[]>();
  await fut.put(v);
  expect(await fut.fetch()).toBe(v);
  // to a worker, each call carries its own copy
  const remote = [1, 2, 3].map((i) => {
    v[0] = i;
    return remotecall((x: number[]) => x, w[0], v);
  });
  const copies = await Promise.all(remote.map((f) => f.fetch()));
  expect(copies).toEqual([[1], [2], [3]]);
  expect(new Set(copies).size).toBe(3);
});

test('a source already sent on a connection is referred to by a small id: later calls carry neither it nor its hash', async () => {
  const f = (a: number, b: number) => a * 1000 + b; // its hash alone is 28 characters
  expect(await remotecall_fetch(f, w[0], 1, 2)).toBe(1002);
  // Bytes of n calls, as a difference of two batches (so what stats() itself sends cancels out).
  const batch = async (n: number): Promise<number> => {
    const s0 = await shipping(w[0]);
    for (let i = 0; i < n; i++) expect(await remotecall_fetch(f, w[0], i, 7)).toBe(i * 1000 + 7);
    const s1 = await shipping(w[0]);
    expect(s1.functionSources).toBe(s0.functionSources);
    return s1.bytesSent - s0.bytesSent;
  };
  const perCall = ((await batch(40)) - (await batch(20))) / 20;
  // Frame header, envelope and the call (a tag, the id, two small numbers); the hash would add 29.
  expect(perCall).toBeLessThan(100);
});
