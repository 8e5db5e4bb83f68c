/**
 * The addon's shared-memory entry points (native/shm_segment.cc, file_mapping.cc, mapping.cc):
 * segments created with their space reserved, mapped by name, unlinked; files mapped at any offset in
 * every mode; mappings unmapped explicitly (detached first) or when collected; every argument checked.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { shmCreate, shmMap, shmUnlink, filePrepare, fileMap, unmap } from '../src/shared/native-shm';
import { ROOT } from './helpers';

jest.setTimeout(30000);

const prefix = `/dts-jest-native-${process.pid}`;
let tmp = '';
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dts-shm-native-'));
});
afterAll(() => {
  for (const f of fs.readdirSync('/dev/shm')) if (f.startsWith(prefix.slice(1))) fs.rmSync(path.join('/dev/shm', f));
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** How many of this process's mappings are of the segment `name`: a count that other test files sharing
 * this jest worker cannot change, unlike the addon's process-wide mappingCount (their collected
 * mappings are unmapped whenever the GC runs their finalizers). */
function mappingsOf(name: string): number {
  const file = `/dev/shm${name}`;
  return fs.readFileSync('/proc/self/maps', 'latin1').split('\n').filter((l) => l.includes(file)).length;
}

function shmFree(): number {
  const s = fs.statfsSync('/dev/shm');
  return s.bavail * s.bsize;
}

test('a segment is created with its space reserved, mapped twice as the same memory, and unlinked', async () => {
  const name = `${prefix}-a`;
  await shmCreate(name, 3 * 4096);
  // posix_fallocate reserved the blocks: not a sparse file
  expect(fs.statSync(`/dev/shm${name}`).blocks * 512).toBeGreaterThanOrEqual(3 * 4096);
  const a = new Float64Array(shmMap(name, 3 * 4096, true));
  const b = new Float64Array(shmMap(name, 3 * 4096, true));
  a[100] = 42.5;
  expect(b[100]).toBe(42.5);
  expect(mappingsOf(name)).toBe(2);
  expect(shmUnlink(name)).toBe(true);
  expect(fs.existsSync(`/dev/shm${name}`)).toBe(false);
  expect(shmUnlink(name)).toBe(false);
  b[101] = 7; // still mapped after the unlink
  expect(a[101]).toBe(7);
  await expect(shmCreate(name, 8)).resolves.toBeUndefined(); // the name is free again
  await expect(shmCreate(name, 8)).rejects.toMatchObject({ code: 'EEXIST', message: expect.stringMatching(/exists/) });
  shmUnlink(name);
  expect(unmap(a.buffer as ArrayBuffer)).toBe(true);
  expect(unmap(b.buffer as ArrayBuffer)).toBe(true);
  expect(mappingsOf(name)).toBe(0);
});

test('unmap detaches the ArrayBuffer first, so later use reads nothing instead of faulting', async () => {
  const name = `${prefix}-b`;
  await shmCreate(name, 4096);
  const buf = shmMap(name, 4096, true);
  shmUnlink(name);
  const v = new Uint8Array(buf);
  v[0] = 1;
  expect(unmap(buf)).toBe(true);
  expect(buf.byteLength).toBe(0);
  expect(v.length).toBe(0);
  expect(v[0]).toBeUndefined();
  v[0] = 5; // ignored, never a SIGSEGV
  expect(unmap(buf)).toBe(false);
  expect(unmap(new ArrayBuffer(16))).toBe(false);
});

test('a /dev/shm too small for the segment is a clear error at creation, naming needed and available bytes', async () => {
  const needed = shmFree() + 2 ** 30;
  const err = (await shmCreate(`${prefix}-big`, needed).catch((e: unknown) => e)) as Error & { code: string; needed: number; available: number };
  expect(err).toHaveProperty('message');
  expect(err.code).toBe('ENOSPC');
  expect(err.needed).toBe(needed);
  expect(err.available).toBeGreaterThan(0);
  expect(err.available).toBeLessThan(needed);
  expect(err.message).toContain(`${needed} bytes needed`);
  expect(err.message).toMatch(/\d+ available/);
  expect(fs.existsSync(`/dev/shm${prefix}-big`)).toBe(false);
});

test('mappings are unmapped when their ArrayBuffer is collected', () => {
  const code = `
    const n = require(${JSON.stringify(path.join(ROOT, 'dist/src/shared/native-shm.js'))});
    (async () => {
      await n.shmCreate('${prefix}-gc', 1 << 20);
      let bufs = [];
      for (let i = 0; i < 8; i++) bufs.push(n.shmMap('${prefix}-gc', 1 << 20, true));
      n.shmUnlink('${prefix}-gc');
      const held = n.mappingCount();
      bufs = null;
      for (let i = 0; i < 20 && n.mappingCount() > 0; i++) { gc(); await new Promise((r) => setTimeout(r, 10)); }
      console.log(JSON.stringify({ held, after: n.mappingCount(), maps: require('fs').readFileSync('/proc/self/maps', 'latin1').includes('${prefix.slice(1)}-gc') }));
    })();`;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', code], { encoding: 'utf8', timeout: 20000 });
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual({ held: 8, after: 0, maps: false });
});

test('files map at any offset in every mode; writes persist, r is private copy-on-write', async () => {
  const f = path.join(tmp, 'data.bin');
  // w+ creates (and truncates), growing the file to offset + size
  expect(await filePrepare(f, 'w+', 100, 800)).toBe(900);
  expect(fs.statSync(f).size).toBe(900);
  const w = new Uint8Array(fileMap(f, true, 100, 800));
  w.set([1, 2, 3], 0);
  w[799] = 9;
  unmap(w.buffer as ArrayBuffer);
  const onDisk = fs.readFileSync(f);
  expect([...onDisk.subarray(100, 103)]).toEqual([1, 2, 3]);
  expect(onDisk[899]).toBe(9);
  // r reads what is there; its writes stay private
  expect(await filePrepare(f, 'r', 100, 800)).toBe(900);
  const r = new Uint8Array(fileMap(f, false, 100, 800));
  expect([...r.subarray(0, 3)]).toEqual([1, 2, 3]);
  r[0] = 77;
  expect(fs.readFileSync(f)[100]).toBe(1);
  unmap(r.buffer as ArrayBuffer);
  // r+ keeps contents and grows; a+ keeps contents and grows, creating when missing
  expect(await filePrepare(f, 'r+', 0, 1000)).toBe(1000);
  const rp = new Uint8Array(fileMap(f, true, 0, 1000));
  expect(rp[100]).toBe(1);
  rp[999] = 5;
  unmap(rp.buffer as ArrayBuffer);
  expect(await filePrepare(f, 'a+', 0, 10)).toBe(1000);
  expect(fs.readFileSync(f)[999]).toBe(5);
  const g = path.join(tmp, 'fresh.bin');
  expect(await filePrepare(g, 'a+', 0, 16)).toBe(16);
  // w+ truncates
  expect(await filePrepare(f, 'w+', 0, 8)).toBe(8);
  expect([...fs.readFileSync(f)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
});

test('file mode errors: r on a short file, r+ on a missing file, a directory', async () => {
  const f = path.join(tmp, 'short.bin');
  fs.writeFileSync(f, Buffer.alloc(10));
  await expect(filePrepare(f, 'r', 0, 100)).rejects.toMatchObject({ code: 'ERR_FILE_TOO_SHORT', message: expect.stringContaining('is 10 bytes') });
  expect(fs.statSync(f).size).toBe(10);
  await expect(filePrepare(path.join(tmp, 'missing.bin'), 'r+', 0, 8)).rejects.toMatchObject({ code: 'ENOENT' });
  await expect(filePrepare(tmp, 'r+', 0, 8)).rejects.toThrow(/not a regular file|EISDIR/);
  expect(() => fileMap(f, false, 0, 100)).toThrow(/too short/);
  expect(() => fileMap(tmp, false, 0, 8)).toThrow(/not a regular file/);
});

test('every entry point checks its arguments and throws, never crashes', async () => {
  const cases: Array<[() => unknown, RegExp]> = [
    [() => shmMap(1 as unknown as string, 8, true), /shmMap: name must be a string \(got number 1\)/],
    [() => shmMap('noslash', 8, true), /shmMap: name must be '\/' followed by/],
    [() => shmMap('/a/b', 8, true), /name must be/],
    [() => shmMap('/' + 'x'.repeat(251), 8, true), /name must be/],
    [() => shmMap('/..', 8, true), /name must be/],
    [() => shmMap('/ok', 0, true), /size must be between 1 and/],
    [() => shmMap('/ok', -5, true), /size must be between/],
    [() => shmMap('/ok', 1.5, true), /size must be an integer/],
    [() => shmMap('/ok', '8' as unknown as number, true), /size must be a number \(got string\)/],
    [() => shmMap('/ok', 8, 1 as unknown as boolean), /writable must be a boolean/],
    [() => shmMap(`${prefix}-none`, 8, true), /no such segment/],
    [() => shmUnlink(undefined as unknown as string), /name must be a string \(got undefined\)/],
    [() => fileMap('', true, 0, 8), /path must not be empty/],
    [() => fileMap('a\0b', true, 0, 8), /NUL/],
    [() => fileMap('/tmp/x', true, -1, 8), /offset must be between 0/],
    [() => fileMap('/tmp/x', true, 0, NaN), /size must be an integer/],
    [() => unmap({} as ArrayBuffer), /unmap: the argument must be an ArrayBuffer \(got object\)/],
  ];
  for (const [f, re] of cases) expect(f).toThrow(re);
  expect(() => shmCreate('bad', 8)).toThrow(/name must be/);
  expect(() => shmCreate('/ok', Infinity)).toThrow(/size must be an integer/);
  expect(() => filePrepare('/tmp/x', 'rw' as 'r', 0, 8)).toThrow(/mode must be 'r', 'r\+', 'w\+' or 'a\+' \(got "rw"\)/);
  expect(() => filePrepare('/tmp/x', 3 as unknown as 'r', 0, 8)).toThrow(/mode must be .* \(got number 3\)/);
});
