/**
 * pmap against real workers: every combination of Julia's options (Julia's own test, walk_args), order,
 * generators and zip, batch_size 'auto', threads, progress, the no-worker fallback; asyncmap.
 */
import * as path from 'node:path';
import { dts, teardown, ROOT } from './helpers';

const { addprocs, pmap, asyncmap, range, zip, WorkerPool } = dts;

declare const globalThis: Record<string, unknown>;
declare function myid(): number;

jest.setTimeout(120_000);
let w: number[] = [];
beforeAll(async () => {
  w = await addprocs(2);
});
afterAll(teardown);

/** Frames sent to worker `pid` so far (the connection's own counter). */
function framesTo(pid: number): number {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PGRP } = require(path.join(ROOT, 'dist/src/cluster/process-group.js'));
  return PGRP.get(pid).connection.framesSent;
}

type Opts = Record<string, unknown>;
const ARGS: Array<[string, unknown[]]> = [
  ['distributed', ['default', false]],
  ['batch_size', ['default', 2]],
  ['on_error', ['default', (e: Error) => (e.message === 'foobar' ? true : (() => { throw e; })())]],
  ['retry_delays', ['default', new Array(1000).fill(0.001)]],
  ['retry_check', ['default', (s: unknown, e: Error) => [s, e.message.endsWith('foobar')]]],
];

function combos(): Opts[] {
  const out: Opts[] = [];
  const walk = (i: number, acc: Opts): void => {
    if (i === ARGS.length) return void out.push({ ...acc });
    for (const v of ARGS[i][1]) walk(i + 1, v === 'default' ? acc : { ...acc, [ARGS[i][0]]: v });
  };
  walk(0, {});
  return out;
}

test.each(combos().map((o) => [Object.keys(o).join(',') || '(defaults)', o]))('all 32 option combinations: %s', async (_name, kw) => {
  const opts = kw as Opts;
  const data = range(1, 101);
  const testw = opts.distributed === false ? [1] : w;
  if (opts.retry_delays !== undefined) {
    const mapf = (x: number) => {
      if (myid() % 2 === 0) throw new Error('notfoobar');
      return [x * 2, myid()];
    };
    const res = (await pmap(mapf, data, opts)) as Array<[number, number]>;
    expect(res.map((r) => r[0])).toEqual([...range(2, 201, 2)]);
    const pids = new Set(res.map((r) => r[1]));
    for (const p of testw) expect(pids.has(p)).toBe(p % 2 === 1);
  } else if (opts.on_error === undefined) {
    const res = (await pmap((x: number) => [x * 2, myid()], data, opts)) as Array<[number, number]>;
    expect(res.map((r) => r[0])).toEqual([...range(2, 201, 2)]);
    const pids = new Set(res.map((r) => r[1]));
    for (const p of testw) expect(pids.has(p)).toBe(true);
  } else {
    const mapf = (x: number) => {
      if (x % 2 === 0) throw new Error('foobar');
      return [x * 2, myid()];
    };
    const res = (await pmap(mapf, data, opts)) as unknown[];
    data.toArray().forEach((x, i) => {
      if (x % 2 === 0) expect(res[i]).toBe(true);
      else {
        expect((res[i] as number[])[0]).toBe(x * 2);
        expect(testw).toContain((res[i] as number[])[1]);
      }
    });
  }
});

test('an error stops pmap and surfaces as the RemoteException; on_error sees the original error', async () => {
  await expect(pmap((x: number) => { if (x === 50) throw new RangeError('foobar'); return x; }, range(1, 101))).rejects.toMatchObject({
    name: 'RemoteException',
    captured: { ex: expect.objectContaining({ message: 'foobar' }) },
  });
  const seen: unknown[] = [];
  const r = await pmap((x: number) => { if (x % 2) throw new RangeError(`odd ${x}`); return x; }, [1, 2, 3], { on_error: (e: unknown) => (seen.push(e), 0) });
  expect(r).toEqual([0, 2, 0]);
  expect(seen.every((e) => e instanceof RangeError)).toBe(true);
});

test('order is kept with uneven item costs; generators and zip work; several collections zip', async () => {
  const slow = async (x: number) => { await new Promise((r) => setTimeout(r, (x * 7) % 13)); return x; };
  expect(await pmap(slow, range(0, 60))).toEqual([...range(0, 60)]);
  function* gen() { for (let i = 0; i < 30; i++) yield i * i; }
  expect(await pmap((x: number) => x + 1, gen())).toEqual([...gen()].map((x) => x + 1));
  expect(await pmap((a: number, b: string) => `${a}${b}`, [1, 2, 3], 'abcd')).toEqual(['1a', '2b', '3c']);
  expect(await pmap((p: [number, number]) => p[0] * p[1], zip([1, 2, 3], [4, 5, 6]))).toEqual([4, 10, 18]);
  expect(await pmap((a: number, b: number) => a - b, [5, 6], new Set([1, 2]), { batch_size: 2 })).toEqual([4, 4]);
  expect(await pmap((x: number) => x, [])).toEqual([]);
  expect(await pmap((x: string) => x.toUpperCase(), 'Hello')).toEqual(['H', 'E', 'L', 'L', 'O']);
});

test("batch_size 'auto' is correct and sends far fewer calls than items", async () => {
  const before = framesTo(w[0]) + framesTo(w[1]);
  const r = await pmap((x: number) => x * 3, range(0, 20000), { batch_size: 'auto' });
  const calls = framesTo(w[0]) + framesTo(w[1]) - before;
  expect(r.length).toBe(20000);
  expect(r[12345]).toBe(37035);
  expect(r).toEqual(range(0, 20000).toArray().map((x) => x * 3));
  expect(calls).toBeLessThan(500);
  // Mixed result types and errors inside auto batches.
  const mixed = await pmap((x: number) => (x % 3 === 0 ? 'z' : x), range(0, 100), { batch_size: 'auto' });
  expect(mixed).toEqual(range(0, 100).toArray().map((x) => (x % 3 === 0 ? 'z' : x)));
});

test('a pool of only this process runs on process 1; pmap with a WorkerPool uses only its workers', async () => {
  expect(new Set(await pmap(() => dts.myid(), new WorkerPool([1]), range(0, 10)))).toEqual(new Set([1]));
  const only = new WorkerPool([w[1]]);
  expect(new Set(await pmap(async () => { await new Promise((r) => setTimeout(r, 5)); return myid(); }, only, range(0, 20)))).toEqual(new Set([w[1]]));
});

test('distributed: false runs on local threads with myid() 1 and the same function shipping', async () => {
  const r = (await pmap((x: number) => [x * x, myid(), typeof process.pid], range(0, 50), { distributed: false, ntasks: 2 })) as Array<[number, number, string]>;
  expect(r.map((x) => x[0])).toEqual(range(0, 50).toArray().map((x) => x * x));
  expect(new Set(r.map((x) => x[1]))).toEqual(new Set([1]));
  // The threads really are other threads: a global of the main thread is not there.
  globalThis.mainOnly = 5;
  await expect(pmap(() => (globalThis as Record<string, unknown>).mainOnly, [1], { distributed: false, ntasks: 1 })).resolves.toEqual([undefined]);
  const big = await pmap((x: number) => new Float64Array(4096).fill(x), [1, 2], { distributed: false, ntasks: 2 });
  expect((big[1] as Float64Array)[4095]).toBe(2);
});

test('progress: true writes plain status lines when stderr is not a terminal', async () => {
  const lines: string[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  (process.stderr as unknown as { write: (s: string) => boolean }).write = (s: string) => (lines.push(String(s)), true);
  try {
    await pmap((x: number) => x, range(0, 25), { progress: true });
  } finally {
    (process.stderr as unknown as { write: typeof orig }).write = orig;
  }
  const text = lines.join('');
  expect(text).toMatch(/pmap: 25\/25 \(100%\) [\d.]+ k? ?items\/s in [\d.]+ s\n/);
  expect(text).not.toContain('\r');
});

test('asyncmap keeps order and never runs more than ntasks at once; batch_size hands f arrays', async () => {
  let running = 0;
  let peak = 0;
  const r = await asyncmap(async (x: number) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((res) => setTimeout(res, (x * 3) % 7));
    running--;
    return x * 2;
  }, range(0, 40), { ntasks: 3 });
  expect(r).toEqual(range(0, 40).toArray().map((x) => x * 2));
  expect(peak).toBe(3);
  const batches: number[][] = [];
  const b = await asyncmap(async (xs: number[]) => (batches.push(xs), xs.map((x) => -x)), [1, 2, 3, 4, 5], { batch_size: 2, ntasks: 1 });
  expect(b).toEqual([-1, -2, -3, -4, -5]);
  expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  expect(await asyncmap((a: number, b: number) => a * b, [1, 2], [3, 4])).toEqual([3, 8]);
  await expect(asyncmap(async (x: number) => { if (x === 2) throw new Error('two'); return x; }, [1, 2, 3])).rejects.toThrow('two');
});

test('on a terminal, progress redraws one bar in place with done/total, rate and ETA', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Progress } = require(path.join(ROOT, 'dist/src/parallel/progress.js'));
  const out = { isTTY: true, columns: 100, s: '', write(x: string) { this.s += x; return true; } };
  const p = new Progress('pmap', out, 0);
  p.begin(100);
  p.tick(50);
  p.tick(50);
  p.end(true);
  const frames = out.s.split('\r\x1b[2K').filter(Boolean);
  expect(frames[1]).toMatch(/^\[#{20} {20}\] pmap: 50\/100 \(50%\) [\d.]+ k? ?items\/s ETA [\d.?]+ ?s?$/);
  expect(frames[frames.length - 1]).toMatch(/^\[#{40}\] pmap: 100\/100 \(100%\) .* in [\d.]+ s\n$/);
});
