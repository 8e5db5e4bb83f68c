/**
 * The worker start-up snapshot (src/cluster/worker-snapshot.ts): local workers start from the blob the
 * build wrote, with their start-up modules loaded as modules of Node's own loader, and everything else
 * as before; a blob that no longer matches dist/, or a launch it could change, starts plain workers.
 * (Every other test file runs its workers from the snapshot too: this one checks that it is so.)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, childWorkers, dts, teardown } from './helpers';

jest.setTimeout(60_000);

const { addprocs, rmprocs, remotecall_fetch, myid, pmap, WorkerPool, interrupt, RemoteException } = dts;
// The module LocalManager itself uses (the compiled one, as the library under test is dist/).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const snapshot = require(path.join(ROOT, 'dist', 'src', 'cluster', 'worker-snapshot.js')) as typeof import('../src/cluster/worker-snapshot');

afterAll(async () => {
  await teardown();
  expect(childWorkers()).toEqual([]);
});

/**
 * What these workers are given so that the snapshot applies whatever this test process's environment
 * holds (NODE_OPTIONS for the worker turns it off: see the opt-out test).
 */
const PLAIN_NODE = { NODE_OPTIONS: '', NODE_V8_COVERAGE: '' };

/** Whether worker `w` was started with `--snapshot-blob`. */
function fromSnapshot(w: number): Promise<boolean> {
  return remotecall_fetch(() => process.execArgv.includes('--snapshot-blob'), w);
}

test('the build wrote a snapshot and its record, naming this Node and the modules in it', () => {
  const stamp = JSON.parse(fs.readFileSync(snapshot.SNAPSHOT_STAMP, 'utf8')) as import('../src/cluster/worker-snapshot').SnapshotStamp;
  expect(stamp).toMatchObject({ node: process.version, platform: process.platform, arch: process.arch, blobBytes: fs.statSync(snapshot.SNAPSHOT_BLOB).size });
  const files = stamp.modules.map((m) => m.file);
  for (const f of ['src/worker/module-pack.js', 'src/worker/worker-entry.js', 'src/worker/start-worker.js', 'src/native.js', 'src/serialization/wire-codec.js']) expect(files).toContain(f);
  // Not the worker's own entry: its statements would run in the builder.
  expect(files).not.toContain('src/worker/main.js');
});

test('a local worker starts from the snapshot, its modules are modules of Node\'s loader, and it serves calls', async () => {
  const [w] = await addprocs(1, { env: PLAIN_NODE });
  expect(snapshot.snapshotUnusedBecause).toBe('');
  expect(await fromSnapshot(w)).toBe(true);
  const seen = await remotecall_fetch(() => {
    const main = (process as unknown as { mainModule?: { filename: string; require: (id: string) => Record<string, unknown>; constructor: { _cache: Record<string, { filename: string; loaded: boolean; exports: Record<string, unknown> }> } } }).mainModule;
    if (main === undefined) return { main: '' };
    const cache = main.constructor._cache;
    const key = Object.keys(cache).find((k) => /src[\\/]cluster[\\/]process-group\.js$/.test(k));
    const rec = key === undefined ? undefined : cache[key];
    // Required by path, a module in the snapshot is the very instance the worker runs on.
    const byPath = key === undefined ? undefined : main.require(key);
    return {
      main: main.filename,
      argv1: process.argv[1],
      loaded: rec?.loaded === true && rec.filename === key,
      same: byPath !== undefined && byPath.myid === (globalThis as unknown as { myid: unknown }).myid,
      Module: rec !== undefined && rec instanceof (main.constructor as unknown as new () => object),
    };
  }, w);
  expect(seen).toEqual({ main: path.join(ROOT, 'dist', 'src', 'worker', 'main.js'), argv1: path.join(ROOT, 'dist', 'src', 'worker', 'main.js'), loaded: true, same: true, Module: true });
  expect(await remotecall_fetch(myid, w)).toBe(w);
  // Stack traces through the snapshot's modules name their files, as from Node's loader.
  const failed = await remotecall_fetch(() => {
    throw new Error('boom');
  }, w).catch((e: unknown) => e);
  expect(failed).toBeInstanceOf(RemoteException);
  expect((failed as InstanceType<typeof RemoteException>).captured.processed_bt).toContain(path.join(ROOT, 'dist', 'src', 'messages', 'process-messages.js'));
  expect((failed as InstanceType<typeof RemoteException>).captured.processed_bt).not.toMatch(/eval at|<anonymous>/);
  expect(await remotecall_fetch((a: Float64Array) => a.reduce((s, x) => s + x, 0), w, new Float64Array([1, 2, 3.5]))).toBe(6.5);
  // The native addon was loaded when the worker started (a builder cannot load one): frames flow, and
  // its shared-memory entry points work too.
  const S = await dts.SharedArray.create('Float64', 8, { pids: [1, w] });
  await remotecall_fetch((s: { set: (i: number, v: number) => void }) => s.set(3, 9), w, S);
  expect(S.get(3)).toBe(9);
  dts.finalize(S);
  await rmprocs(w);
});

test('a snapshot worker reads its environment when it starts, not when the snapshot was built', async () => {
  const [w] = await addprocs(1, { env: { ...PLAIN_NODE, DISTRIBUTED_SHM_TRANSFER: '0', DTS_SNAPSHOT_PROBE: 'here' } });
  expect(await fromSnapshot(w)).toBe(true);
  expect(await remotecall_fetch(() => process.env.DTS_SNAPSHOT_PROBE, w)).toBe('here');
  // Shared-memory transfer reads DISTRIBUTED_SHM_TRANSFER when first asked: off on this worker.
  const on = await remotecall_fetch(() => {
    const main = (process as unknown as { mainModule: { constructor: { _cache: Record<string, { exports: Record<string, () => boolean> }> } } }).mainModule;
    const cache = main.constructor._cache;
    const key = Object.keys(cache).find((k) => /transport[\\/]shared-transfer\.js$/.test(k));
    return key === undefined ? 'not loaded' : cache[key].exports.sharedTransferEnabled();
  }, w);
  expect(on).toBe(false);
  await rmprocs(w);
});

test('on a snapshot worker the rest of the package loads on first use, from the pack, and interrupt works', async () => {
  const [w] = await addprocs(1, { env: PLAIN_NODE });
  expect(await fromSnapshot(w)).toBe(true);
  const packStats = (): Promise<Record<string, unknown>> =>
    remotecall_fetch(() => {
      const main = (process as unknown as { mainModule: { constructor: { _cache: Record<string, { exports: Record<string, unknown> }> } } }).mainModule;
      const cache = main.constructor._cache;
      const key = Object.keys(cache).find((k) => /worker[\\/]module-pack\.js$/.test(k));
      return key === undefined ? {} : { ...(cache[key].exports.packStats as Record<string, unknown>) };
    }, w);
  // Nothing came from the pack yet: the start-up modules were in the snapshot.
  expect(await packStats()).toMatchObject({ fromPack: 0, rejected: 0 });
  expect(await pmap((x: number) => x * 2, new WorkerPool([w]), [1, 2, 3])).toEqual([2, 4, 6]);
  // A package global the start-up modules do not define loads the rest of the package.
  expect(await remotecall_fetch(() => typeof (globalThis as unknown as Record<string, unknown>).pmap, w)).toBe('function');
  const after = await packStats();
  expect(after).toMatchObject({ rejected: 0, ignored: '' });
  expect(after.fromPack as number).toBeGreaterThan(5);
  // SIGINT breaks a tight loop on a snapshot worker as on any other.
  const spinning = remotecall_fetch(() => {
    for (;;) {
      /* spin */
    }
  }, w);
  let settled = false;
  const outcome = spinning.then(
    () => 'returned',
    (e: unknown) => e,
  ).finally(() => (settled = true));
  for (let i = 0; i < 100 && !settled; i++) {
    interrupt(w);
    await new Promise((r) => setTimeout(r, 100));
  }
  const e = await outcome;
  expect(e).toBeInstanceOf(RemoteException);
  expect((e as InstanceType<typeof RemoteException>).captured.ex).toBeInstanceOf(dts.InterruptException);
  expect(await remotecall_fetch((x: number) => x + 1, w, 1)).toBe(2);
  await rmprocs(w);
});

test('with DISTRIBUTED_TS_WORKER_SNAPSHOT=0, flags or an executable of the caller\'s, or NODE_OPTIONS, workers start as plain scripts', async () => {
  const [a] = await addprocs(1, { env: { ...PLAIN_NODE, DISTRIBUTED_TS_WORKER_SNAPSHOT: '0' } });
  expect(snapshot.snapshotUnusedBecause).toBe('DISTRIBUTED_TS_WORKER_SNAPSHOT=0');
  const [b] = await addprocs(1, { env: PLAIN_NODE, exeflags: ['--no-warnings'] });
  expect(snapshot.snapshotUnusedBecause).toMatch(/flags of the caller/);
  // The same Node by another name: still the caller's choice of executable.
  const [c] = await addprocs(1, { env: PLAIN_NODE, exename: `${path.dirname(process.execPath)}/./${path.basename(process.execPath)}` });
  expect(snapshot.snapshotUnusedBecause).toMatch(/executable or flags/);
  for (const w of [a, b, c]) {
    expect(await fromSnapshot(w)).toBe(false);
    expect(await remotecall_fetch((x: number) => x * 3, w, 5)).toBe(15);
  }
  expect(await remotecall_fetch(() => process.execArgv, b)).toEqual(['--no-warnings']);
  await rmprocs(a, b, c);
  // NODE_OPTIONS with a V8 flag: V8 would refuse the snapshot and the worker would exit at once.
  const [d] = await addprocs(1, { env: { NODE_OPTIONS: '--max-old-space-size=512' } });
  expect(snapshot.snapshotUnusedBecause).toBe('NODE_OPTIONS is set for the worker');
  expect(await fromSnapshot(d)).toBe(false);
  expect(await remotecall_fetch(() => process.env.NODE_OPTIONS, d)).toBe('--max-old-space-size=512');
  await rmprocs(d);
});

test('a snapshot older than a module in it, or built by another Node, is not used: workers start as plain scripts', async () => {
  // An altered copy of the record (dist/ itself stays as built, for the tests running beside this one).
  const stamp = JSON.parse(fs.readFileSync(snapshot.SNAPSHOT_STAMP, 'utf8')) as import('../src/cluster/worker-snapshot').SnapshotStamp;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dts-snapshot-test-'));
  const altered = (change: (s: typeof stamp) => void): string => {
    const copy = JSON.parse(JSON.stringify(stamp)) as typeof stamp;
    change(copy);
    const file = path.join(dir, `stamp-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(file, JSON.stringify(copy));
    return file;
  };
  const cases: Array<[string, string, RegExp]> = [
    ['a module changed', altered((c) => (c.modules.find((m) => m.file.endsWith('encoder.js'))!.mtimeMs -= 5000)), /serialization\/encoder\.js changed since the snapshot was built/],
    ['a module gone', altered((c) => c.modules.push({ file: 'src/no-such-module.js', size: 1, mtimeMs: 0 })), /no-such-module\.js changed/],
    ['another Node', altered((c) => (c.node = 'v0.0.1')), /built by another Node \(v0\.0\.1/],
    ['another blob', altered((c) => (c.blobBytes += 1)), /blob is missing or not the one built/],
    ['no record', path.join(dir, 'none.json'), /no snapshot was built/],
  ];
  try {
    for (const [name, file, why] of cases) {
      snapshot.useSnapshotStamp(file);
      const [w] = await addprocs(1, { env: PLAIN_NODE });
      expect({ name, why: snapshot.snapshotUnusedBecause }).toEqual({ name, why: expect.stringMatching(why) });
      expect(await fromSnapshot(w)).toBe(false);
      expect(await remotecall_fetch((x: number) => x - 1, w, 5)).toBe(4);
      await rmprocs(w);
    }
  } finally {
    snapshot.useSnapshotStamp(undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const [w] = await addprocs(1, { env: PLAIN_NODE });
  expect(await fromSnapshot(w)).toBe(true);
  await rmprocs(w);
});
