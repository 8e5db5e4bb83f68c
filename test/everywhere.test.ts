/**
 * everywhere (code, function + args, import, a subset of procs, failures gathered), classes known on both
 * sides, registerType, module exports travelling by (URL, name), spawnat/spawn/fetchfrom with ':any'.
 */
import * as path from 'node:path';
import { dts, teardown, alive } from './helpers';

const { addprocs, rmprocs, remotecall_fetch, everywhere, spawnat, spawn, fetchfrom, stats, myid, procs } = dts;
const { CompositeException, RemoteException } = dts;

jest.setTimeout(60_000);
let w: number[] = [];
beforeAll(async () => {
  w = await addprocs(2);
});
afterAll(teardown);

declare const globalThis: Record<string, unknown>;
declare const ew_x: number;
declare const ew_f: (a: number) => number;
declare const ew_eol: string;
declare const ew_pkg: string;
declare const ew_cpus: () => boolean;
declare class EwPoint {
  x: number;
  constructor(x: number);
  norm(): number;
}
declare const count_heads: (n: number) => number;
declare const rand2: (...dims: number[]) => number[];

const FIXTURE = path.join(__dirname, 'fixtures', 'dummy-module.js');
type Dummy = {
  MyType: new (a: number) => { a: number; double(): number };
  f: (x: number) => number;
  Celsius: new (d: number) => { degrees: number; cache: WeakMap<object, unknown> };
};

test('a code string runs in every global scope: const, function and class become globals everywhere', async () => {
  await everywhere('const ew_x = 7; function ew_f(a) { return a + ew_x } class EwPoint { constructor(x) { this.x = x } norm() { return Math.abs(this.x) } }');
  expect(globalThis.ew_x).toBe(7); // the caller too
  expect(ew_f(1)).toBe(8);
  for (const p of w) expect(await fetchfrom(p, () => ew_f(1) + ew_x)).toBe(15);
  // the caller's values are known to be on the targets: using them ships nothing
  const before = (await stats()).shipping[w[0]].globalValues;
  expect(await fetchfrom(w[0], () => ew_x * 2)).toBe(14);
  expect((await stats()).shipping[w[0]].globalValues).toBe(before);
  // redefinition works (Julia's REPL lets you redefine)
  await everywhere('const ew_x = 8');
  expect(await fetchfrom(w[1], () => ew_f(1))).toBe(9);
});

test('a code string can require modules on every process, resolved from the working directory', async () => {
  // A script's top level has no require of its own (jest's sandbox neither): everywhere gives it one.
  await everywhere('var ew_eol = require("node:os").EOL; const ew_pkg = require("./package.json").name');
  expect(globalThis.ew_eol).toBe('\n');
  for (const p of w) expect(await fetchfrom(p, () => [ew_eol, ew_pkg])).toEqual(['\n', 'distributed-ts']);
  // Functions defined there keep it.
  await everywhere('function ew_cpus() { return require("node:os").cpus().length > 0 }');
  for (const p of w) expect(await fetchfrom(p, () => ew_cpus())).toBe(true);
});

test('code that declares nothing runs afresh each time, with the global object as this, strict or not', async () => {
  // Such code runs as a function compiled once (cheaper than a script run); it must behave as a script.
  await everywhere('globalThis.ew_runs = 0', { procs: w });
  for (let k = 0; k < 3; k++) await everywhere('globalThis.ew_runs += 1; globalThis.ew_this = this === globalThis', { procs: w });
  await everywhere("'use strict'; globalThis.ew_strict_this = this === globalThis", { procs: w });
  for (const p of w) {
    expect(await remotecall_fetch(() => [globalThis.ew_runs, globalThis.ew_this, globalThis.ew_strict_this], p)).toEqual([3, true, true]);
  }
  // What is not a valid script still fails as before (a top-level return would be valid in a function).
  await expect(everywhere('return 1', { procs: w })).rejects.toThrow(/return|parse/i);
});

test('instances of a class defined with everywhere travel both ways', async () => {
  const back = await fetchfrom(w[0], () => new EwPoint(-3));
  expect(back).toBeInstanceOf(globalThis.EwPoint as new () => object);
  expect(back.norm()).toBe(3);
  expect(await remotecall_fetch((p: EwPoint) => p instanceof EwPoint && p.norm(), w[1], new (globalThis.EwPoint as typeof EwPoint)(-4))).toBe(4);
});

test('the function form takes args (Julia $x) and runs on the caller too', async () => {
  await everywhere(
    (a: number, b: number) => {
      globalThis.ew_sum = a + b + myid();
    },
    { args: [2, 3] },
  );
  expect(globalThis.ew_sum).toBe(6);
  for (const p of w) expect(await fetchfrom(p, () => globalThis.ew_sum)).toBe(5 + p);
});

test('procs limits where it runs', async () => {
  await everywhere('var ew_only = myid()', { procs: [w[1]] });
  expect(await fetchfrom(w[1], () => globalThis.ew_only)).toBe(w[1]);
  expect(await fetchfrom(w[0], () => typeof globalThis.ew_only)).toBe('undefined');
  expect(typeof globalThis.ew_only).toBe('undefined');
  await expect(everywhere('1', { procs: [0] })).rejects.toThrow(/procs must be an array of process ids/);
});

test('a failure on one process gives a CompositeException of RemoteExceptions', async () => {
  const err = await everywhere(`if (myid() === ${w[1]}) throw new RangeError('boom on ' + myid())`).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(CompositeException);
  const ex = (err as InstanceType<typeof CompositeException>).exceptions;
  expect(ex).toHaveLength(1);
  expect(ex[0]).toBeInstanceOf(RemoteException);
  const re = ex[0] as InstanceType<typeof RemoteException>;
  expect(re.pid).toBe(w[1]);
  expect(re.captured.ex).toBeInstanceOf(RangeError);
  expect((re.captured.ex as Error).message).toBe(`boom on ${w[1]}`);
  // every process fails: one exception each, in procs order
  const all = await everywhere('throw new Error("everyone " + myid())').catch((e: unknown) => e);
  expect((all as InstanceType<typeof CompositeException>).exceptions.map((e) => (e as InstanceType<typeof RemoteException>).pid)).toEqual(procs());
  await expect(everywhere('let = ;')).rejects.toThrow(/does not parse/);
});

test('import loads a module everywhere: exports travel by (URL, name), its classes travel both ways', async () => {
  await everywhere({ import: FIXTURE });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(FIXTURE) as Dummy;
  const s0 = (await stats()).shipping[w[0]].functionSources;
  expect(await remotecall_fetch(mod.f, w[0], 3)).toBe(10);
  expect((await stats()).shipping[w[0]].functionSources).toBe(s0); // by reference, not as source
  // a MyType sent to a worker that loaded the module, and one built there coming back
  expect(await remotecall_fetch((t: InstanceType<Dummy['MyType']>) => t.double(), w[0], new mod.MyType(7))).toBe(14);
  const echoed = await remotecall_fetch((t: InstanceType<Dummy['MyType']>) => t, w[1], new mod.MyType(5));
  expect(echoed).toBeInstanceOf(mod.MyType);
  expect(echoed.double()).toBe(10);
  // a local binding of the class is captured (it travels by module reference): Julia needs DummyModule.MyType
  const MyType = mod.MyType;
  const made = await fetchfrom(w[0], () => new MyType(7));
  expect(made).toBeInstanceOf(mod.MyType);
  expect(made.a).toBe(7);
  // `mod.MyType` (how compilers emit an imported name) binds to the module loaded everywhere
  expect(await fetchfrom(w[1], () => new mod.MyType(3).double())).toBe(6);
  // registerType's own serializer, both ways
  const c = await remotecall_fetch((x: InstanceType<Dummy['Celsius']>) => x, w[1], new mod.Celsius(21));
  expect(c).toBeInstanceOf(mod.Celsius);
  expect(c.degrees).toBe(21);
  expect(c.cache).toBeInstanceOf(WeakMap);
});

test('a worker added later imports the module on first use of one of its exports', async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(FIXTURE) as Dummy;
  const [late] = await addprocs(1);
  const ospid = await remotecall_fetch(() => process.pid, late);
  try {
    expect(await remotecall_fetch(mod.f, late, 4)).toBe(17);
  } finally {
    await rmprocs(late, { waitfor: 10 });
  }
  expect(alive(ospid)).toBe(false);
});

test("spawnat(':any') and fetchfrom(':any') take workers in turn; spawn too", async () => {
  const where = await Promise.all([0, 1, 2, 3].map(() => spawnat(':any', () => myid()).fetch()));
  expect(new Set(where)).toEqual(new Set(w));
  for (let i = 1; i < where.length; i++) expect(where[i]).not.toBe(where[i - 1]);
  const fetched: number[] = [];
  for (let i = 0; i < 4; i++) fetched.push(await fetchfrom(':any', () => myid()));
  for (let i = 1; i < fetched.length; i++) expect(fetched[i]).not.toBe(fetched[i - 1]);
  expect(await fetchfrom(w[1], (a: number) => a * myid(), 2)).toBe(2 * w[1]);
  expect(await spawnat(w[0], (a: string, b: string) => a + b, 'x', 'y').fetch()).toBe('xy');
  const s1 = await spawn(() => myid()).fetch();
  const s2 = await spawn(() => myid()).fetch();
  expect(s1).not.toBe(s2);
  expect(() => spawnat('any' as ':any', () => 1)).toThrow(/where must be a process id or ':any'/);
});

test('a Future owned by the target moves no data: the manual\'s @spawnat :any 1 .+ fetch(r)', async () => {
  const big = 2e6; // 16 MB of Float64: if it crossed the wire, the byte counters would show it
  const r = spawnat(w[0], (n: number) => new Float64Array(n).fill(1), big);
  await r.wait();
  const before = (await stats()).shipping[w[0]].bytesSent;
  const workerBefore = (await stats(w[0])).shipping[1].bytesSent;
  const s = spawnat(w[0], async (x: typeof r) => {
    const a = await x.fetch(); // local to this worker: no copy
    return a.reduce((t, v) => t + 1 + v, 0);
  }, r);
  expect(await s.fetch()).toBe(2 * big);
  const sent = (await stats()).shipping[w[0]].bytesSent - before;
  const workerSent = (await stats(w[0])).shipping[1].bytesSent - workerBefore;
  expect(sent).toBeLessThan(64 * 1024);
  expect(workerSent).toBeLessThan(64 * 1024);
});

test('count_heads: two spawnat(:any) calls summed (the manual)', async () => {
  await everywhere('function count_heads(n) { let c = 0; for (let i = 0; i < n; i++) c += Math.random() < 0.5 ? 1 : 0; return c }');
  const a = spawnat(':any', count_heads, 100_000);
  const b = spawnat(':any', count_heads, 100_000);
  expect(a.where).not.toBe(b.where);
  const total = (await a.fetch()) + (await b.fetch());
  expect(total).toBeGreaterThan(90_000);
  expect(total).toBeLessThan(110_000);
});

test('the rand2 story: fails remotely until defined with everywhere', async () => {
  globalThis.rand2 = function rand2(...dims: number[]) {
    return dims.map(() => 2 * Math.random());
  };
  const err = await spawnat(':any', () => rand2(2, 2)).fetch().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RemoteException);
  expect(((err as InstanceType<typeof RemoteException>).captured.ex as Error).message).toMatch(/^rand2 is not defined/);
  await everywhere('function rand2(...dims) { return dims.map(() => 2 * Math.random()) }');
  const r = await spawnat(':any', () => rand2(2, 2)).fetch();
  expect(r).toHaveLength(2);
});
