/**
 * SharedArray against real workers and real shared memory: creation with and without init, writes seen
 * everywhere, Julia's partition, N-d column-major indexing and its errors, file-backed arrays in every
 * mode, travel (and refusal to non-participants), finalize, and nothing left in /dev/shm — not even
 * after the processes are killed with SIGKILL.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as util from 'node:util';
import { dts, teardown, eventually, ospids, alive, ROOT } from './helpers';
import type { SharedArray as SharedArrayT } from '../src/index';

const { addprocs, remotecall_fetch, SharedArray, sdata, localindices, indexpids, procs, finalize, myid } = dts;

jest.setTimeout(60_000);
let w: number[] = [];
let wos: number[] = [];
let tmp = '';
beforeAll(async () => {
  w = await addprocs(3);
  wos = await ospids(w);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dts-shared-array-'));
});
afterAll(async () => {
  await teardown();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Segments in /dev/shm created by this process (there should never be any once create returns). */
function ourSegments(pid = process.pid): string[] {
  return fs.readdirSync('/dev/shm').filter((n) => n.startsWith(`dts-${pid}-`));
}

/** Whether OS process `ospid` has a mapping whose path contains `name`. */
function maps(ospid: number, name: string): boolean {
  return fs.readFileSync(`/proc/${ospid}/maps`, 'latin1').includes(name);
}

type Shared = SharedArrayT;

/** The bytes of a Buffer in an ArrayBuffer of their own (a read Buffer may sit in a shared pool). */
function copyOf(b: Buffer): ArrayBuffer {
  return new Uint8Array(b).buffer;
}

test('create without init: zero-filled, mapped on every participant and the creator, its name already gone from /dev/shm', async () => {
  const S = await SharedArray.create('Float64', [4, 5]);
  expect(S.dims).toEqual([4, 5]);
  expect(S.length).toBe(20);
  expect(S.type).toBe('Float64');
  expect(procs(S)).toEqual(w);
  expect(sdata(S)).toBeInstanceOf(Float64Array);
  expect([...sdata(S)]).toEqual(new Array(20).fill(0));
  // unlinked as soon as create returned: nothing named in /dev/shm, yet every participant maps it
  expect(fs.existsSync(`/dev/shm${S.segname}`)).toBe(false);
  expect(ourSegments()).toEqual([]);
  const name = S.segname.slice(1);
  expect(maps(process.pid, name)).toBe(true);
  for (const p of wos) expect(maps(p, name)).toBe(true);
  finalize(S);
});

test("create with init runs it on every participant in parallel (the manual's example)", async () => {
  const S = await SharedArray.create('Int32', [3, 4], {
    init: (S: Shared) => {
      const [a, b] = localindices(S);
      for (let k = a; k < b; k++) S.set(k, myid());
    },
  });
  // 12 elements over workers [2, 3, 4]: 4 each, column-major
  const cols = [0, 1, 2, 3].map((j) => [0, 1, 2].map((i) => S.get(i, j)));
  expect(cols).toEqual([
    [w[0], w[0], w[0]],
    [w[0], w[1], w[1]],
    [w[1], w[1], w[2]],
    [w[2], w[2], w[2]],
  ]);
  S.set(2, 1, 7);
  expect(await remotecall_fetch((S: Shared) => S.get(2, 1), w[2], S)).toBe(7);
  expect(Array.from(S)).toEqual([...sdata(S)]);
  expect(util.inspect(S)).toMatch(new RegExp(`^SharedArray\\{Int32\\}\\(3×4\\) on \\[${w.join(', ')}\\] Int32Array\\(12\\) \\[`));
  // an async init is awaited on every participant
  const T = await SharedArray.create('Float64', 6, {
    pids: [w[0], w[1]],
    init: async (S: Shared) => {
      await new Promise((r) => setTimeout(r, 50));
      const [a, b] = localindices(S);
      for (let k = a; k < b; k++) S.set(k, k + 0.5);
    },
  });
  expect([...sdata(T)]).toEqual([0.5, 1.5, 2.5, 3.5, 4.5, 5.5]);
  expect(procs(T)).toEqual([w[0], w[1]]);
  finalize(S);
  finalize(T);
});

test("SharedArray.from copies a typed array into a new shared array of its element type (Julia's SharedArray(A))", async () => {
  const A = Float64Array.of(1, 2, 3, 4, 5, 6);
  const S = await SharedArray.from(A, { dims: [2, 3] });
  expect(S.type).toBe('Float64');
  expect(S.dims).toEqual([2, 3]);
  expect(procs(S)).toEqual(w);
  expect(S.get(1, 2)).toBe(6);
  // every participant sees the copy, column-major; the source stays private
  A[5] = 60;
  expect(await remotecall_fetch((X: Shared) => [X.get(0, 0), X.get(1, 2), X.get(0, 1)], w[1], S)).toEqual([1, 6, 3]);
  expect(ourSegments()).toEqual([]);
  // the element type follows the source's class; one dimension by default; pids as for create
  const B = await SharedArray.from(BigInt64Array.of(-(2n ** 63n), 7n), { pids: [w[0]] });
  expect([B.type, B.dims, procs(B)]).toEqual(['Int64', [2], [w[0]]]);
  expect(await remotecall_fetch((X: Shared) => X.get(0), w[0], B)).toBe(-(2n ** 63n));
  const U = await SharedArray.from(new Uint16Array([65535, 1, 2]));
  expect([U.type, [...sdata(U)]]).toEqual(['UInt16', [65535, 1, 2]]);
  // a subarray copies just its view
  const V = await SharedArray.from(new Int32Array([9, 8, 7, 6]).subarray(1, 3));
  expect([...sdata(V)]).toEqual([8, 7]);
  for (const X of [S, B, U, V]) finalize(X);
  // what cannot be one is named
  await expect(SharedArray.from(new Uint8ClampedArray(2) as never)).rejects.toThrow(/SharedArray.from: the source must be a typed array of an element type .*got a Uint8ClampedArray/);
  await expect(SharedArray.from([1, 2] as never)).rejects.toThrow(/got an Array/);
  await expect(SharedArray.from(S as never)).rejects.toThrow(/got a SharedArray \(pass sdata\(S\) to copy one\)/);
  await expect(SharedArray.from(new DataView(new ArrayBuffer(8)) as never)).rejects.toThrow(/got a DataView/);
  await expect(SharedArray.from(A, { dims: [4, 2] })).rejects.toThrow('SharedArray.from: dims 4×2 hold 8 elements, but the source has 6');
  await expect(SharedArray.from(A, { init: () => 1 } as never)).rejects.toThrow(/unknown option 'init'/);
  expect(ourSegments()).toEqual([]);
});

test('writes from every process are visible to every other', async () => {
  const S = await SharedArray.create('Float64', 8);
  S.set(0, 100);
  await Promise.all(w.map((p) => remotecall_fetch((S: Shared, k: number) => S.set(k, myid() * 10), p, S, p)));
  const expected = [100, 0, 20, 30, 40, 0, 0, 0];
  expect([...sdata(S)]).toEqual(expected);
  for (const p of w) expect(await remotecall_fetch((S: Shared) => Array.from(sdata(S) as Float64Array), p, S)).toEqual(expected);
  // and a write through sdata on a worker, seen on another worker
  await remotecall_fetch((S: Shared) => void (sdata(S)[7] = -1), w[0], S);
  expect(await remotecall_fetch((S: Shared) => S.get(7), w[2], S)).toBe(-1);
  finalize(S);
});

test("localindices is Julia's partition: every index exactly once, contiguous runs in procs(S) order", async () => {
  for (const len of [1, 2, 3, 5, 12, 1001]) {
    const S = await SharedArray.create('UInt8', len);
    const shares = await Promise.all(w.map((p) => remotecall_fetch((S: Shared) => localindices(S), p, S)));
    const seen = new Array(len).fill(0);
    for (const [a, b] of shares) for (let k = a; k < b; k++) seen[k]++;
    expect(seen).toEqual(new Array(len).fill(1));
    if (len >= 3) {
      const part = Math.floor(len / 3);
      expect(shares).toEqual([
        [0, part],
        [part, 2 * part],
        [2 * part, len],
      ]);
    }
    expect(localindices(S)).toEqual([0, 0]); // the master does not participate
    finalize(S);
  }
});

test('indexpids and procs: 0-based position in procs(S) on participants, -1 elsewhere', async () => {
  const S = await SharedArray.create('Int16', 10, { pids: [w[2], w[0]] });
  expect(procs(S)).toEqual([w[2], w[0]]);
  expect(indexpids(S)).toBe(-1);
  expect(await remotecall_fetch((S: Shared) => [indexpids(S), procs(S)], w[2], S)).toEqual([0, [w[2], w[0]]]);
  expect(await remotecall_fetch((S: Shared) => [indexpids(S), procs(S)], w[0], S)).toEqual([1, [w[2], w[0]]]);
  // the creator may participate itself
  const M = await SharedArray.create('Int16', 10, { pids: [1, w[1]] });
  expect(indexpids(M)).toBe(0);
  expect(localindices(M)).toEqual([0, 5]);
  expect(() => procs('x' as unknown as number)).toThrow(/procs: expected a process id or a SharedArray \(got string\)/);
  finalize(S);
  finalize(M);
});

test('N-d get/set are column-major, with linear indices, bounds errors and value checks', async () => {
  const S = await SharedArray.create('Float64', [2, 3, 4], { pids: [w[0]] });
  const a = sdata(S);
  for (let k = 0; k < 4; k++) for (let j = 0; j < 3; j++) for (let i = 0; i < 2; i++) S.set(i, j, k, 100 * i + 10 * j + k);
  for (let k = 0; k < 4; k++) for (let j = 0; j < 3; j++) for (let i = 0; i < 2; i++) expect(a[i + 2 * (j + 3 * k)]).toBe(100 * i + 10 * j + k);
  expect(S.get(1, 2, 3)).toBe(123);
  expect(S.get(1 + 2 * (2 + 3 * 3))).toBe(123); // linear
  S.set(5, -5);
  expect(S.get(1, 2, 0)).toBe(-5);
  expect(await remotecall_fetch((S: Shared) => S.get(1, 1, 1), w[0], S)).toBe(111);
  for (const bad of [[2, 0, 0], [0, 3, 0], [0, 0, 4], [-1, 0, 0], [0.5, 0, 0], [24]]) {
    expect(() => S.get(...bad)).toThrow(/BoundsError: attempt to access 2×3×4 SharedArray\{Float64\} at index|indices must be integers/);
    expect(() => S.set(...bad, 1)).toThrow(/BoundsError|indices must be integers/);
  }
  expect(() => S.get(2, 0, 0)).toThrow('BoundsError: attempt to access 2×3×4 SharedArray{Float64} at index [2, 0, 0]');
  expect(() => S.get(1, 1)).toThrow(/a 3-dimensional SharedArray takes 3 indices \(or 1 linear index\), got 2/);
  expect(() => S.set(1, 1, 1, 1, 1)).toThrow(/takes 3 indices .*got 4/);
  expect(() => S.set(0, 0, 0, 'x' as unknown as number)).toThrow(/a Float64 SharedArray holds numbers \(got the string "x"\)/);
  // 1-d, 2-d and 4-d (the generic path) agree with column-major layout too
  const V = await SharedArray.create('Int8', 5, { pids: [w[0]] });
  V.set(4, -3);
  expect(V.get(4)).toBe(-3);
  expect(() => V.get(5)).toThrow(/BoundsError.*\[5\]/);
  expect(() => V.get(0, 0)).toThrow(/1-dimensional SharedArray takes 1 index/);
  expect(() => V.set(0, 1.5)).toThrow(/1.5 is not an integer/);
  expect(() => V.set(0, 300)).toThrow(/300 does not fit in Int8/);
  const M = await SharedArray.create('UInt16', [3, 2], { pids: [w[0]] });
  M.set(2, 1, 65535);
  expect(sdata(M)[5]).toBe(65535);
  expect(() => M.set(3, 0, 1)).toThrow(/BoundsError.*\[3, 0\]/);
  const Q = await SharedArray.create('Float32', [2, 2, 2, 2], { pids: [w[0]] });
  Q.set(1, 0, 1, 1, 2.5);
  expect(sdata(Q)[1 + 2 * (0 + 2 * (1 + 2 * 1))]).toBe(2.5);
  expect(Q.get(1, 0, 1, 1)).toBe(2.5);
  expect(() => Q.get(0, 0, 0, 2)).toThrow(/BoundsError/);
  // BigInt element types
  const B = await SharedArray.create('Int64', [2, 2], { pids: [w[0]] });
  expect(sdata(B)).toBeInstanceOf(BigInt64Array);
  B.set(1, 1, -(2n ** 62n));
  expect(await remotecall_fetch((S: Shared) => S.get(1, 1), w[0], B)).toBe(-(2n ** 62n));
  expect(() => B.set(0, 0, 1 as unknown as bigint)).toThrow(/holds BigInts/);
  expect(() => B.set(0, 0, 2n ** 63n)).toThrow(/does not fit in Int64/);
  const U = await SharedArray.create('UInt64', 2, { pids: [w[0]] });
  expect(U.fill(2n ** 64n - 1n).get(1)).toBe(2n ** 64n - 1n);
  expect(() => U.fill(-1n)).toThrow(/does not fit/);
  // fill, and every element type maps to its typed array
  expect([...sdata(V.fill(9))]).toEqual([9, 9, 9, 9, 9]);
  const ctors = { Float64: Float64Array, Float32: Float32Array, Int8: Int8Array, Int16: Int16Array, Int32: Int32Array, UInt8: Uint8Array, UInt16: Uint16Array, UInt32: Uint32Array, Int64: BigInt64Array, UInt64: BigUint64Array };
  for (const [t, C] of Object.entries(ctors)) {
    const X = await SharedArray.create(t as 'Float64', 3, { pids: [w[1]] });
    expect(sdata(X)).toBeInstanceOf(C);
    expect(await remotecall_fetch((S: Shared) => sdata(S).constructor.name, w[1], X)).toBe(C.name);
    finalize(X);
  }
  for (const X of [S, V, M, Q, B, U]) finalize(X);
});

test('bounds and index checks hold in JIT-compiled loops too, for every dimensionality', async () => {
  // The accessors' fast paths lean on the JIT (folded int32 checks, the typed array's own bound):
  // warm each call site up with valid indices, then give the same site wrong ones.
  const V = await SharedArray.create('Float64', 7, { pids: [w[0]] });
  const M = await SharedArray.create('Float64', [2, 5], { pids: [w[0]] });
  const C = await SharedArray.create('Int32', [2, 3, 4], { pids: [w[0]] });
  const get = (S: Shared, idx: unknown[]): unknown => (S.get as (...i: unknown[]) => unknown)(...idx);
  function sweep(S: Shared, at: (k: number) => number[], writes: boolean): number {
    let s = 0;
    for (let r = 0; r < 3000; r++) {
      for (let k = 0; k < S.length; k++) {
        const idx = at(k);
        if (writes) (S.set as (...a: number[]) => void)(...idx, k);
        s += get(S, idx) as number;
      }
    }
    return s;
  }
  const cases: Array<[Shared, (k: number) => number[], unknown[][]]> = [
    [V, (k) => [k], [[7], [-1], [0.5], ['1'], [2 ** 32], [NaN], [Infinity]]],
    [M, (k) => [k % 2, (k / 2) | 0], [[2, 0], [0, 5], [-1, 0], [0, -1], [0, 0.5], [1.5, 0], ['1', 0], [0, 2 ** 32], [2 ** 31, 0]]],
    [C, (k) => [k % 2, ((k / 2) | 0) % 3, (k / 6) | 0], [[2, 0, 0], [0, 3, 0], [0, 0, 4], [0, 0, -1], [0, 0.5, 0], [0, 0, 0.25], ['0', 0, 0], [0, 0, 2 ** 32]]],
  ];
  for (const [S, at, bads] of cases) {
    expect(sweep(S, at, true)).toBe(3000 * ((S.length * (S.length - 1)) / 2));
    for (const bad of bads) {
      expect(() => get(S, bad)).toThrow(/BoundsError|indices must be integers/);
      expect(() => (S.set as (...a: unknown[]) => void)(...bad, 1)).toThrow(/BoundsError|indices must be integers/);
    }
    // still right after the bad indices (and any deoptimization they caused)
    expect(sweep(S, at, false)).toBe(3000 * ((S.length * (S.length - 1)) / 2));
    expect([...sdata(S)]).toEqual(Array.from({ length: S.length }, (_, k) => k));
  }
  for (const X of [V, M, C]) finalize(X);
});


test('every combination of awkward indices finds the right element or fails, in 2-d and 3-d', async () => {
  // The 3-d accessor folds the checks of j and k into the column's start: indices whose int32 products
  // wrap (3 · 1431655765 ≡ -1 mod 2^32, 15 · 286331153 ≡ -1) must fail rather than alias a real element.
  const M = await SharedArray.create('Float64', [3, 5], { pids: [w[0]] });
  const C = await SharedArray.create('Float64', [3, 5, 7], { pids: [w[0]] });
  for (const S of [M, C]) {
    const a = sdata(S);
    for (let k = 0; k < a.length; k++) a[k] = k;
    const around = (n: number): number[] => [
      ...[-(2 ** 31), -(2 ** 31) + 1, -n - 1, -n, -2, -1, 0, 1, n - 1, n, n + 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 1e10],
      ...[1431655765, 286331153, -1431655765, -286331153, 858993459, 0.5, -0.5, NaN],
    ];
    const lists = S.dims.map(around);
    const combos: number[][] = [[]];
    for (const list of lists) combos.splice(0, combos.length, ...combos.flatMap((c) => list.map((v) => [...c, v])));
    let checked = 0;
    for (const idx of combos) {
      const ok = idx.every((v, d) => Number.isInteger(v) && v >= 0 && v < S.dims[d]);
      const want = ok ? idx.reduceRight((acc, v, d) => acc * S.dims[d] + v, 0) : -1;
      const get = (): unknown => (S.get as (...i: number[]) => unknown)(...idx);
      const set = (): void => (S.set as (...a: number[]) => void)(...idx, -7);
      if (ok) {
        expect(get()).toBe(want);
        set();
        expect(a[want]).toBe(-7);
        a[want] = want;
      } else {
        expect(get).toThrow(/BoundsError|indices must be integers/);
        expect(set).toThrow(/BoundsError|indices must be integers/);
      }
      checked++;
    }
    expect(checked).toBe(combos.length);
    expect([...a]).toEqual(Array.from({ length: a.length }, (_, k) => k)); // no stray write landed anywhere
  }
  for (const X of [M, C]) finalize(X);
});
test('an empty SharedArray works and travels', async () => {
  const E = await SharedArray.create('Float64', [3, 0]);
  expect(E.length).toBe(0);
  expect(sdata(E).length).toBe(0);
  expect(await remotecall_fetch((S: Shared) => [S.length, localindices(S)], w[0], E)).toEqual([0, [0, 0]]);
  expect(() => E.get(0, 0)).toThrow(/BoundsError/);
  finalize(E);
});

test('a SharedArray sent to a process that does not map it fails clearly at the caller', async () => {
  const S = await SharedArray.create('Float64', 4, { pids: [w[0], w[1]] });
  await expect(remotecall_fetch((S: Shared) => S.length, w[2], S)).rejects.toThrow(
    /cannot send args\[0\]: a SharedArray cannot be sent to process \d+, which does not map its memory: only its participants \(procs\(S\) = \[\d+, \d+\]\) and its creator \(process 1\)/,
  );
  await expect(remotecall_fetch((x: { a: Shared[] }) => x, w[2], { a: [S] })).rejects.toThrow(/cannot send args\[0\]\.a\[0\]/);
  // the same array reaches participants, and comes back to its creator as the same memory
  const back = (await remotecall_fetch((S: Shared) => S, w[1], S)) as Shared;
  back.set(3, 42);
  expect(S.get(3)).toBe(42);
  // a worker-created array cannot reach the master, which never mapped it
  await expect(
    remotecall_fetch(async () => {
      const T = await SharedArray.create('Float64', 2, { pids: [myid()] });
      return T;
    }, w[2]),
  ).rejects.toThrow(/cannot be sent to process 1, which does not map its memory/);
  finalize(S);
});

test('finalize unmaps now on every participant; later use fails clearly everywhere', async () => {
  const S = await SharedArray.create('Float64', 1000, { init: (S: Shared) => void ((globalThis as Record<string, unknown>).kept = S) });
  const name = S.segname.slice(1);
  expect(wos.every((p) => maps(p, name))).toBe(true);
  finalize(S);
  expect(maps(process.pid, name)).toBe(false);
  // releases reach the workers before anything sent later
  expect(await remotecall_fetch(() => 'synced', w[0])).toBe('synced');
  await Promise.all(w.map((p) => remotecall_fetch(() => 0, p)));
  for (const p of wos) expect(maps(p, name)).toBe(false);
  expect(() => S.get(0)).toThrow(/this SharedArray was finalized: its memory \(\/dts-\d+-[0-9a-f]+\) is no longer mapped on process 1/);
  expect(() => S.set(0, 1)).toThrow(/finalized/);
  expect(() => S.fill(1)).toThrow(/finalized/);
  expect(sdata(S).length).toBe(0);
  expect(util.inspect(S)).toMatch(/\(finalized\)$/);
  expect(() => [...S]).toThrow(/finalized/);
  await expect(remotecall_fetch((S: Shared) => S, w[0], S)).rejects.toThrow(/cannot send args\[0\]: a finalized SharedArray/);
  // the worker's own copy (kept in a global by init) fails clearly too
  await expect(remotecall_fetch(() => ((globalThis as Record<string, unknown>).kept as Shared).get(0), w[1])).rejects.toThrow(/this SharedArray was finalized/);
  finalize(S); // idempotent
  expect(() => finalize({} as Shared)).toThrow(/finalize: expected a Future, a RemoteChannel, a SharedArray .*\(got Object\)/);
  expect(() => finalize(3 as unknown as Shared)).toThrow(/got number/);
});

test('init that fails on some participants finalizes the array and reports every failure', async () => {
  const err = await SharedArray.create('Float64', 6, {
    init: (S: Shared) => {
      if (indexpids(S) !== 1) throw new Error(`no init on ${myid()}`);
    },
  }).catch((e: Error) => e);
  expect((err as Error).name).toBe('CompositeException');
  expect((err as Error).message).toMatch(/init failed on 2 of 3 processes; the array was finalized/);
  expect((err as unknown as { exceptions: unknown[] }).exceptions).toHaveLength(2);
  expect(ourSegments()).toEqual([]);
});

test('a /dev/shm too small for the array is a clear error at creation, never a crash later', async () => {
  const s = fs.statfsSync('/dev/shm');
  const free = s.bavail * s.bsize;
  const n = Math.ceil((free + 2 ** 30) / 8);
  const err = (await SharedArray.create('Float64', n).catch((e: unknown) => e)) as Error & { code: string; needed: number; available: number };
  expect(err.message).toMatch(/SharedArray.create: \/dev\/shm has too little space: \d+ bytes needed, \d+ available/);
  expect(err.code).toBe('ENOSPC');
  expect(err.needed).toBe(n * 8);
  expect(err.available).toBeLessThan(err.needed);
  expect(ourSegments()).toEqual([]);
  // and the cluster still works
  const ok = await SharedArray.create('Float64', 4);
  finalize(ok);
});

test('arguments are checked with clear errors', async () => {
  await expect(SharedArray.create('Float16' as 'Float64', 3)).rejects.toThrow(/the element type must be one of 'Float64', .* \(got 'Float16'\)/);
  await expect(SharedArray.create('Float64', [])).rejects.toThrow(/dims must be a non-negative integer or a non-empty array/);
  await expect(SharedArray.create('Float64', [2, -1])).rejects.toThrow(/dims\[1\] must be a non-negative integer \(got -1\)/);
  await expect(SharedArray.create('Float64', [2.5])).rejects.toThrow(/dims\[0\]/);
  await expect(SharedArray.create('Float64', 3, { pids: [99] })).rejects.toThrow(/no process with id 99/);
  await expect(SharedArray.create('Float64', 3, { pids: [w[0], w[0]] })).rejects.toThrow(/appears twice/);
  await expect(SharedArray.create('Float64', 3, { pid: [2] } as never)).rejects.toThrow(/unknown option 'pid'/);
  await expect(SharedArray.create('Float64', 3, { init: 5 } as never)).rejects.toThrow(/init must be a function/);
  await expect(SharedArray.fromFile('', 'Float64', 3)).rejects.toThrow(/path must be a non-empty string/);
  await expect(SharedArray.fromFile(path.join(tmp, 'm.bin'), 'Float64', 3, { mode: 'rw' as 'r' })).rejects.toThrow(/mode must be 'r', 'r\+', 'w\+' or 'a\+' \(got 'rw'\)/);
  await expect(SharedArray.fromFile(path.join(tmp, 'm.bin'), 'Float64', 3, { offset: -8 })).rejects.toThrow(/offset must be a non-negative integer/);
  const Ctor = SharedArray as unknown as new (...a: unknown[]) => unknown;
  expect(() => new Ctor()).toThrow(/construct it with `await SharedArray.create/);
  expect(() => sdata([] as unknown as Shared)).toThrow(/sdata: expected a SharedArray/);
  expect(ourSegments()).toEqual([]);
});

test('fromFile in every mode: writes by every participant persist, reading back after re-opening', async () => {
  const f = path.join(tmp, 'grid.bin');
  // w+ creates the file; every participant fills its share
  const A = await SharedArray.fromFile(f, 'Float64', [4, 3], {
    mode: 'w+',
    init: (S: Shared) => {
      const [a, b] = localindices(S);
      for (let k = a; k < b; k++) S.set(k, k * 10 + myid());
    },
  });
  const expected = [...sdata(A)];
  expect(expected.every((x, k) => Math.floor(x / 10) === k)).toBe(true);
  expect(A.segname).toBe(f);
  finalize(A);
  expect(fs.statSync(f).size).toBe(96);
  expect([...new Float64Array(copyOf(fs.readFileSync(f)))]).toEqual(expected);
  // r reads it back (on a worker too); it is read-only
  const R = await SharedArray.fromFile(f, 'Float64', [4, 3], { mode: 'r' });
  expect([...sdata(R)]).toEqual(expected);
  expect(await remotecall_fetch((S: Shared) => S.get(3, 2), w[1], R)).toBe(expected[11]);
  expect(() => R.set(0, 0, 1)).toThrow(/read-only \(mapped from .*grid.bin with mode 'r'\)/);
  expect(() => R.fill(0)).toThrow(/read-only/);
  finalize(R);
  // r+ changes it in place (default mode for an existing file is r+)
  const P = await SharedArray.fromFile(f, 'Float64', [4, 3]);
  await remotecall_fetch((S: Shared) => S.set(0, 0, -1), w[0], P);
  finalize(P);
  expect(new Float64Array(copyOf(fs.readFileSync(f)))[0]).toBe(-1);
  // a+ with an offset grows the file and keeps what was there
  const Q = await SharedArray.fromFile(f, 'Int32', 4, { mode: 'a+', offset: 96 });
  Q.set(3, 77);
  await remotecall_fetch((S: Shared) => S.set(0, 5), w[2], Q);
  finalize(Q);
  const bytes = fs.readFileSync(f);
  expect(bytes.length).toBe(112);
  expect(new Float64Array(copyOf(bytes.subarray(0, 96)))[0]).toBe(-1);
  expect([...new Int32Array(copyOf(bytes.subarray(96, 112)))]).toEqual([5, 0, 0, 77]);
  // r on a file too short, r+ on a missing one
  await expect(SharedArray.fromFile(f, 'Float64', 100, { mode: 'r' })).rejects.toThrow(/mode 'r' maps bytes 0 to 800/);
  await expect(SharedArray.fromFile(path.join(tmp, 'none.bin'), 'Float64', 1, { mode: 'r+' })).rejects.toThrow(/ENOENT/);
  // a new file with no mode is created (w+)
  const N = await SharedArray.fromFile(path.join(tmp, 'new.bin'), 'UInt8', 16, { pids: [w[0]] });
  expect(fs.statSync(path.join(tmp, 'new.bin')).size).toBe(16);
  finalize(N);
  // w+ truncates
  const T = await SharedArray.fromFile(f, 'UInt8', 8, { mode: 'w+' });
  expect([...sdata(T)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  finalize(T);
  expect(fs.statSync(f).size).toBe(8);
});

test('no segment is left after a worker and then the master (a child process) are killed with SIGKILL', async () => {
  const script = `
    const d = require(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'index.js'))});
    (async () => {
      await d.addprocs(2);
      const S = await d.SharedArray.create('Float64', 1 << 20, { init: (S) => { const [a, b] = localindices(S); for (let k = a; k < b; k++) S.set(k, k); } });
      const os = await Promise.all(d.workers().map((p) => d.remotecall_fetch(() => process.pid, p)));
      console.log('READY ' + JSON.stringify({ name: S.segname, workers: os }));
    })().catch((e) => { console.error(e); process.exit(1); });
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (out += b));
  const exited = new Promise((r) => child.on('exit', r));
  try {
    expect(await eventually(() => out.includes('READY '), 30_000)).toBe(true);
    const { name, workers } = JSON.parse(/READY (.*)/.exec(out)![1]) as { name: string; workers: number[] };
    expect(fs.existsSync(`/dev/shm${name}`)).toBe(false);
    expect(maps(workers[0], name.slice(1))).toBe(true);
    process.kill(workers[0], 'SIGKILL');
    expect(await eventually(() => !alive(workers[0]), 5000)).toBe(true);
    process.kill(child.pid!, 'SIGKILL');
    await exited;
    expect(await eventually(() => !alive(workers[1]), 10_000)).toBe(true);
    expect(ourSegments(child.pid!)).toEqual([]);
    expect(fs.readdirSync('/dev/shm').filter((n) => n.includes(name.slice(1)))).toEqual([]);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

test("a SharedArray collected on its creator is released on every participant", async () => {
  const script = `
    const d = require(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'index.js'))});
    const fs = require('fs');
    (async () => {
      const [p] = await d.addprocs(1);
      const wpid = await d.remotecall_fetch(() => process.pid, p);
      let S = await d.SharedArray.create('Float64', 1 << 16);
      const name = S.segname.slice(1);
      const mappedBefore = fs.readFileSync('/proc/' + wpid + '/maps', 'latin1').includes(name);
      S = null;
      let mappedAfter = true;
      for (let i = 0; i < 50 && mappedAfter; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 20));
        await d.remotecall_fetch(() => 0, p);
        mappedAfter = fs.readFileSync('/proc/' + wpid + '/maps', 'latin1').includes(name);
      }
      console.log('RESULT ' + JSON.stringify({ mappedBefore, mappedAfter, here: fs.readFileSync('/proc/self/maps', 'latin1').includes(name) }));
      await d.rmprocs(p);
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const child = spawn(process.execPath, ['--expose-gc', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (out += b));
  const code = await new Promise((r) => child.on('exit', r));
  expect(out).toMatch(/RESULT /);
  expect(JSON.parse(/RESULT (.*)/.exec(out)![1])).toEqual({ mappedBefore: true, mappedAfter: false, here: false });
  expect(code).toBe(0);
});

test('a segment left named by a creator that died before unlinking it is swept by the next creator; a recent one is left alone', async () => {
  const dead = spawnSync('true').pid!;
  expect(alive(dead)).toBe(false);
  const { shmCreate } = require(path.join(ROOT, 'dist', 'src', 'shared', 'native-shm.js')) as typeof import('../src/shared/native-shm');
  const stale = `/dts-${dead}-0123456789abcdef`;
  // and one just made by a pid that looks dead from here: it may be a creation in progress in another
  // pid namespace sharing /dev/shm, so it is left alone
  const recent = `/dts-${dead}-fedcba9876543210`;
  await shmCreate(stale, 4096);
  await shmCreate(recent, 4096);
  const longAgo = new Date(Date.now() - 10 * 60_000);
  fs.utimesSync(`/dev/shm${stale}`, longAgo, longAgo);
  expect(fs.existsSync(`/dev/shm${stale}`)).toBe(true);
  try {
    const r = spawnSync(
      process.execPath,
      ['-e', `require(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'index.js'))}).SharedArray.create('Float64', 8).then((S) => console.log(S.length))`],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(r.stdout.trim()).toBe('8');
    expect(fs.existsSync(`/dev/shm${stale}`)).toBe(false);
    expect(fs.existsSync(`/dev/shm${recent}`)).toBe(true);
  } finally {
    fs.rmSync(`/dev/shm${stale}`, { force: true });
    fs.rmSync(`/dev/shm${recent}`, { force: true });
  }
});
