/**
 * A worker starts with only the modules that serve calls; the rest of the package loads the first time
 * something needs it (src/deferred-package.ts). Each case starts a fresh worker, checks that the package
 * is not loaded there yet, makes the one kind of first contact that needs it, and checks it works.
 */
import { PACKAGE_EXPORT_NAMES } from '../src/worker/package-names';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, childWorkers, dts, teardown } from './helpers';

jest.setTimeout(60_000);

const { addprocs, rmprocs, remotecall, remotecall_fetch, myid, RemoteChannel, put, take, pmap, WorkerPool, SharedArray } = dts;

/** Whether worker `w` has loaded the package module `file` (below dist/src/), and its export `name`. */
function loadedModuleOn(w: number, file: string, name = ''): Promise<{ loaded: boolean; value?: unknown }> {
  return remotecall_fetch(
    (f: string, n: string) => {
      const cache = (process as unknown as { mainModule: { constructor: { _cache: Record<string, { exports: Record<string, unknown> }> } } }).mainModule.constructor._cache;
      const key = Object.keys(cache).find((k) => k.endsWith(`/dist/src/${f}`));
      return key === undefined ? { loaded: false } : { loaded: true, value: n === '' ? undefined : cache[key].exports[n] };
    },
    w,
    file,
    name,
  );
}

/** Whether the package's index module is loaded on worker `w` (read from its module cache). */
async function packageLoaded(w: number): Promise<boolean> {
  return (await loadedModuleOn(w, 'index.js')).loaded;
}

/** A fresh worker that has not loaded the package yet. */
async function freshWorker(): Promise<number> {
  const [w] = await addprocs(1);
  expect(await packageLoaded(w)).toBe(false);
  return w;
}

afterAll(async () => {
  await teardown();
  expect(childWorkers()).toEqual([]);
});

test('the list of export names a worker defines before loading the package is the package’s', () => {
  const real = Object.keys(dts).filter((k) => k !== '__esModule');
  expect([...PACKAGE_EXPORT_NAMES].sort()).toEqual(real.sort());
});

test('a fresh worker answers myid by name and reads the identity globals without loading the package', async () => {
  const w = await freshWorker();
  expect(await remotecall_fetch(myid, w)).toBe(w);
  const g = await remotecall_fetch(() => {
    const h = globalThis as unknown as { myid: () => number; nworkers: () => number; RemoteException: { name: string } };
    return [h.myid(), h.nworkers(), h.RemoteException.name];
  }, w);
  expect(g).toEqual([w, 1, 'RemoteException']);
  expect(await packageLoaded(w)).toBe(false);
  await rmprocs(w);
});

test('the first read of any other package global loads the package, and the global then holds its value', async () => {
  const w = await freshWorker();
  const seen = await remotecall_fetch(() => {
    const g = globalThis as unknown as Record<string, unknown>;
    const first = typeof g.remotecall_fetch;
    const d = Object.getOwnPropertyDescriptor(g, 'pmap')!;
    return [first, typeof d.value, d.enumerable];
  }, w);
  expect(seen).toEqual(['function', 'function', false]);
  expect(await packageLoaded(w)).toBe(true);
  await rmprocs(w);
});

test('an assignment to a package global before its first read just defines it', async () => {
  const w = await freshWorker();
  const v = await remotecall_fetch(() => {
    const g = globalThis as unknown as Record<string, unknown>;
    g.pmap = 42;
    return g.pmap;
  }, w);
  expect(v).toBe(42);
  await rmprocs(w);
});

test('a Future argument (a type only the package registers) loads it on the fresh worker', async () => {
  const w = await freshWorker();
  const f = remotecall(() => 7, 1);
  const name = await remotecall_fetch((x: { constructor: { name: string } }) => x.constructor.name, w, f);
  expect(name).toBe('Future');
  expect(await packageLoaded(w)).toBe(true);
  await rmprocs(w);
});

test('a RemoteChannel on a fresh worker (a message kind and functions only the package handles)', async () => {
  const w = await freshWorker();
  const rc = new RemoteChannel(w);
  await put(rc, 'x');
  expect(await take(rc)).toBe('x');
  await rmprocs(w);
});

test('pmap onto a fresh worker (internal functions by name)', async () => {
  const w = await freshWorker();
  expect(await pmap((x: number) => x * 2, new WorkerPool([w]), [1, 2, 3])).toEqual([2, 4, 6]);
  await rmprocs(w);
});

test('a SharedArray mapped on a fresh worker', async () => {
  const w = await freshWorker();
  const S = await SharedArray.create('Float64', 4, { pids: [1, w] });
  await remotecall_fetch((s: { set: (i: number, v: number) => void }) => s.set(2, 5), w, S);
  expect(S.get(2)).toBe(5);
  await rmprocs(w);
});

/** Workers that load their start-up modules through the pack, not from the start-up snapshot. */
const PACK = { DISTRIBUTED_TS_WORKER_SNAPSHOT: '0' };

/** What the start-up pack did on worker `w` (src/worker/module-pack.ts's packStats). */
async function packStatsOf(w: number): Promise<Record<string, unknown> | undefined> {
  return (await loadedModuleOn(w, 'worker/module-pack.js', 'packStats')).value as Record<string, unknown> | undefined;
}

test('a worker loads its start-up modules from the pack the build wrote, each compiled from its cache', async () => {
  const [w] = await addprocs(1, { env: PACK });
  const stats = await packStatsOf(w);
  expect(stats).toMatchObject({ rejected: 0, written: 0, ignored: '' });
  // The start-up modules come from the pack; the rest of the package waits in it for first use.
  expect(stats!.fromPack as number).toBeGreaterThan(20);
  expect(stats!.packed as number).toBeGreaterThan(stats!.fromPack as number);
  // Every package module it has loaded came from the pack, but the entry and the pack's reader (a
  // module whose text holds a dynamic import, even in a comment, would be left out of the pack).
  const loaded = await remotecall_fetch(() => {
    const cache = (process as unknown as { mainModule: { constructor: { _cache: Record<string, unknown> } } }).mainModule.constructor._cache;
    return Object.keys(cache).filter((k) => /[\\/]dist[\\/]src[\\/]/.test(k)).map((k) => k.replace(/^.*[\\/]dist[\\/]src[\\/]/, ''));
  }, w);
  expect(loaded).toEqual(expect.arrayContaining(['worker/main.js', 'worker/module-pack.js']));
  expect(stats!.fromPack).toBe(loaded.length - 2);
  expect(await remotecall_fetch(() => typeof (globalThis as unknown as Record<string, unknown>).pmap, w)).toBe('function');
  const after = await packStatsOf(w);
  expect(after).toMatchObject({ fromPack: stats!.packed, rejected: 0 });
  // Each is a module of its own, under its own path: requiring it by path gives the same instance.
  const same = await remotecall_fetch(() => {
    const req = (process as unknown as { mainModule: { require: (id: string) => Record<string, unknown> } }).mainModule.require;
    // The global myid was defined from the packed process-group module: the same function by path.
    const g = globalThis as unknown as { myid: unknown };
    return req(require_path('cluster/process-group.js')).myid === g.myid && typeof req(require_path('serialization/wire-codec.js')).registry === 'object';
    function require_path(p: string): string {
      const mm = (process as unknown as { mainModule: { filename: string } }).mainModule.filename;
      return mm.replace(/worker[\\/]main\.js$/, p);
    }
  }, w);
  expect(same).toBe(true);
  await rmprocs(w);
});

test('a damaged pack is ignored: the worker loads from the files', async () => {
  const good = fs.readFileSync(path.join(ROOT, 'dist', 'worker-pack.bin'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dts-pack-'));
  try {
    const cases: Array<[string, Buffer, RegExp]> = [
      ['cut short', good.subarray(0, good.length - 1000), /damaged/],
      ['no header', good.subarray(0, 10), /unreadable/],
      ['garbage', Buffer.alloc(4096, 0x5a), /unreadable/],
    ];
    for (const [name, bytes, why] of cases) {
      const file = path.join(dir, `${name.replace(/ /g, '-')}.bin`);
      fs.writeFileSync(file, bytes);
      const [w] = await addprocs(1, { env: { ...PACK, DISTRIBUTED_TS_WORKER_PACK: file } });
      const stats = await packStatsOf(w);
      expect({ name, fromPack: stats!.fromPack, ignored: stats!.ignored }).toEqual({ name, fromPack: 0, ignored: expect.stringMatching(why) });
      expect(await remotecall_fetch((x: number) => x + 1, w, 41)).toBe(42);
      await rmprocs(w);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a pack older than a module it holds is ignored: the worker loads from the files', async () => {
  // A copy of the pack that records another modification time for tags.js (dist/ itself stays as built,
  // for the tests running beside this one).
  const good = fs.readFileSync(path.join(ROOT, 'dist', 'worker-pack.bin'));
  const headerLen = good.readUInt32LE(0);
  const header = JSON.parse(good.toString('utf8', 4, 4 + headerLen)) as { modules: Array<{ file: string; mtimeMs: number }> };
  header.modules.find((m) => m.file.endsWith('serialization/tags.js'))!.mtimeMs -= 5000;
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length, 0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dts-pack-'));
  const file = path.join(dir, 'older.bin');
  fs.writeFileSync(file, Buffer.concat([len, json, good.subarray(4 + headerLen)]));
  try {
    const [w] = await addprocs(1, { env: { ...PACK, DISTRIBUTED_TS_WORKER_PACK: file } });
    const stats = await packStatsOf(w);
    expect(stats).toMatchObject({ packed: 0, fromPack: 0, ignored: expect.stringContaining('tags.js changed') });
    expect(await remotecall_fetch((x: number) => x * 3, w, 5)).toBe(15);
    await rmprocs(w);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
