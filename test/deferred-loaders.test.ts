/**
 * A TypeScript driver's workers (src/cluster/deferred-loaders.ts, src/worker/deferred-loaders.ts): with
 * only tsx's loader flags, local workers start without them, from the snapshot, and register them when
 * first needed — tsx's require hooks for a require, a module reference or a .ts file, its ES-module hooks
 * for a dynamic import — in order with the messages after it; other loader flags, and
 * DISTRIBUTED_TS_WORKER_LOADERS=eager, keep the flags on the workers' command line.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as os from 'node:os';
import { alive, dts, eventually, ROOT, teardown } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const master = require(path.join(ROOT, 'dist', 'src', 'cluster', 'deferred-loaders.js')) as typeof import('../src/cluster/deferred-loaders');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const worker = require(path.join(ROOT, 'dist', 'src', 'worker', 'deferred-loaders.js')) as typeof import('../src/worker/deferred-loaders');

jest.setTimeout(90_000);
afterAll(teardown);

const DRIVER = path.join(__dirname, 'fixtures', 'ts', 'driver.mts');

test('only flags that all load tsx are deferred', () => {
  const loader = pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  expect(master.deferrableLoaderFlags(['--import', 'tsx'])).toEqual([['--import', 'tsx']]);
  expect(master.deferrableLoaderFlags(['--import=tsx/esm', '--require', 'tsx/cjs'])).toEqual([['--import', 'tsx/esm'], ['--require', 'tsx/cjs']]);
  expect(master.deferrableLoaderFlags(['--import', loader])).toEqual([['--import', loader]]); // the CLI's
  expect(master.deferrableLoaderFlags([])).toBeUndefined();
  expect(master.deferrableLoaderFlags(['--require', './setup.js'])).toBeUndefined();
  expect(master.deferrableLoaderFlags(['--import', 'tsx', '--import', './instrument.mjs'])).toBeUndefined();
  expect(master.deferrableLoaderFlags(['--import', 'tsxx'])).toBeUndefined();
  expect(master.deferrableLoaderFlags(['--loader', 'tsx'])).toBeUndefined();
  expect(master.deferrableLoaderFlags(['--no-warnings'])).toBeUndefined();
  expect(master.deferrableLoaderFlags(['--import', 'tsx'], { DISTRIBUTED_TS_WORKER_LOADERS: 'eager' })).toBeUndefined();
  expect(master.deferrableLoaderFlags(['--import', 'tsx'], { DISTRIBUTED_TS_WORKER_LOADERS: 'deferred' })).toEqual([['--import', 'tsx']]);
  expect(() => master.deferrableLoaderFlags(['--import', 'tsx'], { DISTRIBUTED_TS_WORKER_LOADERS: 'later' })).toThrow(
    /DISTRIBUTED_TS_WORKER_LOADERS must be 'deferred' or 'eager', got "later"/,
  );
});

test('what a frame may need of the loaders is recognised in either string encoding', () => {
  const latin1 = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
  const wide = (s: string) => new Uint8Array(Buffer.from(s, 'utf16le'));
  const cases: Array<[string, 'import' | 'require' | 'none']> = [
    ['async () => (await import("y")).z', 'import'],
    ['async () => (await import ("y")).z', 'import'],
    ['() => require("x")', 'require'],
    ['module:file:///a.js#f', 'require'],
    ['file:///a/b.ts', 'require'],
    ['/x/y.mts', 'require'],
    ['c.cts', 'require'],
    ['everywhere.importHere', 'none'], // a name, not a dynamic import
    ['(x) => x * 2', 'none'],
  ];
  // A large frame is not read through: it registers everything, once.
  expect(worker.loadersNeeded(new Uint8Array(256 * 1024 + 1))).toBe('import');
  expect(worker.loadersNeeded(new Uint8Array(256 * 1024))).toBe('none');
  for (const [s, need] of cases) {
    expect([s, worker.loadersNeeded(latin1(s))]).toEqual([s, need]);
    expect([s, worker.loadersNeeded(wide(`${s} // é`))]).toEqual([s, need]);
  }
});

/** Runs the TypeScript driver under tsx; its observations, once it has exited cleanly. */
async function runDriver(env: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, ['--import', 'tsx', DRIVER], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    new Promise((r) => child.on('exit', r)),
    new Promise((r) => (timer = setTimeout(() => r('still running'), 60_000))),
  ]);
  clearTimeout(timer);
  if (code === 'still running') child.kill('SIGKILL');
  const m = /OBSERVED (.*)/.exec(out);
  if (code !== 0 || m === null) throw new Error(`the driver failed (${String(code)}): ${out}`);
  const observed = JSON.parse(m[1]) as Record<string, unknown>;
  // The driver's workers (its children, not this process's) are gone with it.
  const pids = observed.pids as number[];
  expect(pids.length).toBe(6);
  expect(await eventually(() => pids.every((p) => !alive(p)), 5000)).toBe(true);
  return observed;
}

test('workers of a driver under tsx start from the snapshot and load tsx on first need, in message order', async () => {
  const o = await runDriver();
  expect(o.flags).toEqual(['--import', 'tsx']);
  expect(o.execArgv).toEqual(['--snapshot-blob', path.join(ROOT, 'dist', 'worker-snapshot.blob')]);
  expect(o.plain).toEqual([42, 'pending']); // a call that loads nothing leaves them pending
  // require of a .ts file: tsx's require hooks only (tsx/cjs); the call after it ran after it.
  expect(o.require).toEqual([25, 25, 'require']);
  // Registered, they are in execArgv as if given at start: threads started from then on get them.
  const snapshotFlags = ['--snapshot-blob', path.join(ROOT, 'dist', 'worker-snapshot.blob')];
  const tsxDist = path.join(ROOT, 'node_modules', 'tsx', 'dist');
  expect(o.execArgvAfter).toEqual([...snapshotFlags, '--require', path.join(tsxDist, 'cjs', 'index.cjs')]);
  // A dynamic import then registers the rest (tsx/esm): together, what --import tsx loads.
  expect(o.importAfterRequire).toEqual([64, 'loaded']);
  expect(o.execArgvAfterImport).toEqual([...snapshotFlags, '--require', path.join(tsxDist, 'cjs', 'index.cjs'), '--import', pathToFileURL(path.join(tsxDist, 'esm', 'index.mjs')).href]);
  expect(o.import).toEqual([27, 'loaded']); // a first need that is a dynamic import registers both
  expect(o.moduleExport).toEqual(['require', 49, 'require']); // everywhere({ import }) of a .ts file: require's half
  expect(o.laterWorker).toEqual(['pending', 64, 'require']); // a module reference in a call
  expect(o.whileLoading).toEqual([true, 'require']); // a call needing tsx, sent during everywhere's import
  // A module that imports dynamically, loaded through require: the rest is registered as it loads.
  expect(o.importInModule).toEqual([8, 'loaded']);
});

test('DISTRIBUTED_TS_WORKER_LOADERS=eager passes tsx to workers at start, as before', async () => {
  const o = await runDriver({ DISTRIBUTED_TS_WORKER_LOADERS: 'eager' });
  expect(o.flags).toEqual([]);
  expect(o.execArgv).toEqual(['--import', 'tsx']);
  expect(o.plain).toEqual([42, 'none']);
  expect(o.require).toEqual([25, 25, 'none']);
  expect(o.importAfterRequire).toEqual([64, 'none']);
  expect(o.importInModule).toEqual([8, 'none']);
  expect(o.import).toEqual([27, 'none']);
  expect(o.laterWorker).toEqual(['none', 64, 'none']);
  expect(o.whileLoading).toEqual([true, 'none']);
});

test('tsx that cannot be found where a worker runs fails its first need there, not the worker', async () => {
  const [w] = await dts.addprocs(1, { exeflags: ['--import', 'tsx'], dir: os.tmpdir() }); // no tsx to find from there
  expect((await dts.stats(w)).deferredLoaders.state).toBe('pending');
  const square = path.join(__dirname, 'fixtures', 'ts', 'square.ts');
  await expect(dts.remotecall_fetch((p: string) => (require(p) as { square(x: number): number }).square(2), w, square)).rejects.toThrow(dts.RemoteException);
  expect((await dts.stats(w)).deferredLoaders.state).toBe('failed');
  expect(await dts.remotecall_fetch((x: number) => x + 1, w, 1)).toBe(2); // and it keeps serving
  await dts.rmprocs(w);
});
