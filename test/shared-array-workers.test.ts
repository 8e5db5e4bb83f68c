/**
 * SharedArrays created on a worker: over lazy worker-to-worker links (default pids are the local
 * workers, explicit pids may leave the creator out, the master may participate), over eager links, and
 * the clear error under topology 'master_worker', where workers cannot reach each other. Nothing is
 * left in /dev/shm.
 */
import * as fs from 'node:fs';
import { dts, ospids, teardown } from './helpers';
import type { SharedArray as SharedArrayT } from '../src/index';

const { addprocs, remotecall_fetch, SharedArray, sdata, finalize, stats } = dts;
type Shared = SharedArrayT<'Int32'>;

// Worker-side globals used by the shipped functions below (every package export is one there).
declare const myid: () => number;
declare const workers: () => number[];
declare const procs: (x: unknown) => number[];
declare const localindices: (S: unknown) => [number, number];
declare const indexpids: (S: unknown) => number;

jest.setTimeout(60_000);
/** OS pids of this test's processes: segments are named after their creator's (other suites may run at once). */
let ours: number[] = [];
async function start(...args: Parameters<typeof addprocs>): Promise<number[]> {
  const w = await addprocs(...args);
  ours = [process.pid, ...(await ospids(w))];
  return w;
}
afterEach(async () => {
  await teardown();
  expect(fs.readdirSync('/dev/shm').filter((n) => ours.some((p) => n.startsWith(`dts-${p}-`)))).toEqual([]);
});

/** Run on a worker: creates an Int32 array of 6 with `pids`, each participant writing its id over its localindices. */
async function createHere(pids: number[] | undefined): Promise<{ procs: number[]; data: number[]; seen: number[][] }> {
  const S = await SharedArray.create('Int32', [2, 3], {
    pids,
    init: (S: Shared) => {
      const [a, b] = localindices(S);
      for (let k = a; k < b; k++) S.set(k, myid());
    },
  });
  // every other participant sees the same memory (and its own place in it)
  const others = procs(S).filter((p) => p !== myid());
  const seen = await Promise.all(others.map((p) => remotecall_fetch((S: Shared) => [indexpids(S), ...sdata(S)], p, S)));
  const out = { procs: procs(S), data: [...sdata(S)], seen };
  finalize(S);
  return out;
}

test('a worker creates SharedArrays over lazy worker links: default pids, explicit pids without itself, the master participating', async () => {
  const [a, b, c] = await start(3);
  // default: every local worker (Julia's procs(myid()) without the master), the creator included
  const def = await remotecall_fetch(createHere, a, undefined);
  expect(def.procs).toEqual([a, b, c]);
  expect(def.data).toEqual([a, a, b, b, c, c]);
  expect(def.seen).toEqual([
    [1, a, a, b, b, c, c],
    [2, a, a, b, b, c, c],
  ]);
  expect((await stats(a)).connectedTo).toEqual([1, b, c]);
  // explicit pids of other workers only: the creator maps it too, without a share
  const other = await remotecall_fetch(createHere, a, [b, c]);
  expect(other.procs).toEqual([b, c]);
  expect(other.data).toEqual([b, b, b, c, c, c]);
  // the master as a participant: the array made on a worker arrives here as the same memory
  const S = (await remotecall_fetch(async (pids: number[]) => {
    const S = await SharedArray.create('Int32', 4, { pids });
    S.set(3, 7);
    return S;
  }, b, [1, b])) as SharedArrayT<'Int32'>;
  expect(S.pids).toEqual([1, b]);
  expect([...sdata(S)]).toEqual([0, 0, 0, 7]);
  S.set(0, 5);
  expect(await remotecall_fetch((S: Shared) => S.get(0), b, S)).toBe(5);
  // sent onwards to a worker that does not map it, from the worker that made it: a clear error there
  await expect(
    remotecall_fetch(async (to: number) => {
      const T = await SharedArray.create('Int32', 2, { pids: [myid()] });
      return remotecall_fetch((T: Shared) => T.length, to, T);
    }, a, c),
  ).rejects.toThrow(/cannot be sent to process \d+, which does not map its memory/);
});

test('a worker creates a SharedArray over eager worker links (lazy: false)', async () => {
  const [a, b] = await start(2, { lazy: false });
  const r = await remotecall_fetch(createHere, b, undefined);
  expect(r.procs).toEqual([a, b]);
  expect(r.data).toEqual([a, a, a, b, b, b]);
});

test("topology 'master_worker': a worker creating an array on other workers fails clearly; on itself and the master it works", async () => {
  const [a, b] = await start(2, { topology: 'master_worker' });
  const msg = `SharedArray.create: process ${a} cannot map the array on process ${b}: the cluster runs with topology 'master_worker'`;
  await expect(remotecall_fetch(createHere, a, undefined)).rejects.toThrow(msg);
  await expect(remotecall_fetch(createHere, a, [b])).rejects.toThrow(msg);
  await expect(
    remotecall_fetch(() => SharedArray.fromFile('/tmp/never-made-by-dts.bin', 'Int32', 2, { pids: workers() }), a),
  ).rejects.toThrow(`SharedArray.fromFile: process ${a} cannot map the array on process ${b}`);
  expect(fs.existsSync('/tmp/never-made-by-dts.bin')).toBe(false);
  const mine = await remotecall_fetch(createHere, a, [a]);
  expect(mine).toEqual({ procs: [a], data: [a, a, a, a, a, a], seen: [] });
  const withMaster = (await remotecall_fetch(async (pids: number[]) => SharedArray.create('Int32', 2, { pids }), a, [1, a])) as SharedArrayT<'Int32'>;
  expect(withMaster.pids).toEqual([1, a]);
  finalize(withMaster);
});
