/**
 * Loading modules from code compiled from text on a worker: `import()` in shipped functions and
 * `everywhere`'s code (src/serialization/dynamic-import.ts), and `require` in a shipped function of a
 * CommonJS module, on workers started from the snapshot and through the pack alike, with specifiers
 * resolved from the worker's working directory, and without Node's experimental-feature warning
 * reaching the user.
 */
import * as path from 'node:path';
import { ROOT, childWorkers, dts, eventually, teardown } from './helpers';

jest.setTimeout(60_000);

const { addprocs, remotecall_fetch, everywhere } = dts;
const FIXTURES = path.join(ROOT, 'test', 'fixtures');
/** A worker from the start-up snapshot, and one that loads its modules through the pack (from the fixtures directory). */
let fromSnapshot = 0;
let throughPack = 0;

beforeAll(async () => {
  [fromSnapshot] = await addprocs(1, { env: { NODE_OPTIONS: '', NODE_V8_COVERAGE: '' } });
  [throughPack] = await addprocs(1, { env: { DISTRIBUTED_TS_WORKER_SNAPSHOT: '0' }, dir: FIXTURES });
});
afterAll(async () => {
  await teardown();
  expect(childWorkers()).toEqual([]);
});

declare const globalThis: Record<string, unknown>;
/**
 * A function as its source text says (ts-jest compiles this file to CommonJS, which would turn an
 * import() written here into a require): what a JavaScript caller ships.
 */
const fromSource = <F>(source: string): F => (0, eval)(`(${source})`) as F;

test('a shipped function can import() a built-in module on every kind of worker', async () => {
  expect(await remotecall_fetch(() => process.execArgv.includes('--snapshot-blob'), fromSnapshot)).toBe(true);
  for (const w of [fromSnapshot, throughPack]) {
    const eol = await remotecall_fetch(fromSource<() => Promise<string>>("async () => (await import('node:os')).EOL"), w);
    expect(eol).toBe('\n');
  }
});

test("a relative specifier resolves from the worker's working directory", async () => {
  const answer = fromSource<(spec: string) => Promise<number>>('async (spec) => (await import(spec)).answer');
  expect(await remotecall_fetch(answer, throughPack, './answer.mjs')).toBe(42);
  // A module that is not there fails as import() does, as a RemoteException naming it.
  await expect(remotecall_fetch(answer, throughPack, './no-such-module.mjs')).rejects.toThrow(/no-such-module\.mjs/);
});

test("everywhere's code can import() too", async () => {
  await everywhere("import('node:path').then((p) => { globalThis.importedSep = p.sep; })", { procs: [fromSnapshot, throughPack] });
  for (const w of [fromSnapshot, throughPack]) {
    expect(await eventually(async () => (await remotecall_fetch(() => globalThis.importedSep, w)) === '/', 3000)).toBe(true);
  }
});

test("Node's experimental-feature warning for the loader is held back; the worker's own warnings still show", async () => {
  const err: string[] = [];
  const se = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
  try {
    // A fresh compile on each worker (new source text), then a warning of the user's own.
    for (const w of [fromSnapshot, throughPack]) {
      await remotecall_fetch(fromSource<() => Promise<void>>("async () => { await import('node:util'); process.emitWarning('a warning of the user'); }"), w);
    }
    expect(await eventually(() => err.join('').split('a warning of the user').length === 3, 5000)).toBe(true);
  } finally {
    se.mockRestore();
  }
  expect(err.join('')).not.toMatch(/ExperimentalWarning|USE_MAIN_CONTEXT_DEFAULT_LOADER/);
});

test("require in a shipped function is the worker's own, resolving from its working directory", async () => {
  // This file is CommonJS under ts-jest: `require` here is its module's, which cannot travel.
  for (const w of [fromSnapshot, throughPack]) {
    expect(await remotecall_fetch(() => (require('node:path') as typeof import('node:path')).sep, w)).toBe('/');
  }
  expect(await remotecall_fetch(() => (require('./dummy-module.js') as Record<string, unknown>) !== undefined, throughPack)).toBe(true);
  // A global require (`node -e`, the REPL) is bound the same way.
  expect(await remotecall_fetch(fromSource<() => string>("() => require('node:os').EOL"), fromSnapshot)).toBe('\n');
});
