/**
 * Remote references (issue 4), each beside its baseline in the same run, interleaved over rounds and
 * compared by median:
 *   - `put` + `take` of a small value through a RemoteChannel owned by a worker (two round trips), vs two
 *     `remotecall_fetch` round trips to the same worker (target ≤ 1.2×); and the pair issued together;
 *   - N Futures created, fetched and dropped (in batches of 1000): the owner's heap once the references
 *     are gone vs where it started (target within 10 %), and the calls' time with reference tracking vs
 *     the same calls with tracking switched off on the caller (target ≤ 1.10×).
 * Prints a table and writes bench/results/references.json.
 *
 *     npx tsc -p . && node --expose-gc dist/bench/references.js [--quick]
 */
import { performance } from 'node:perf_hooks';
import { addprocs, remotecall, remotecall_fetch, RemoteChannel, rmprocs, stats } from '../src/index';
import { setTrackingForBenchmark } from '../src/remote/ref-tracking';
import { median } from './lib/stats';
import { printTable, type Row } from './lib/table';
import { hostInfo, writeResults } from './lib/results';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 5;
const progress = (what: string): void => void process.stderr.write(`  ${what}\n`);
const gcHere = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/** Median µs of each op over `n` samples, the ops taking turns sample by sample (so drift hits all alike). */
async function interleaved(n: number, ops: Array<(i: number) => Promise<unknown>>): Promise<number[]> {
  for (let i = 0; i < 200; i++) for (const op of ops) await op(i);
  const s = ops.map(() => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < ops.length; k++) {
      const t0 = performance.now();
      await ops[k](i);
      s[k][i] = (performance.now() - t0) * 1000;
    }
  }
  return s.map((x) => median(x));
}

/** ms to create, fetch and drop 1000 Futures on `w`. */
async function futuresBatch(w: number, from: number): Promise<number> {
  const t0 = performance.now();
  const fs = Array.from({ length: 1000 }, (_, i) => remotecall(addOne, w, from + i));
  await Promise.all(fs.map((f) => f.fetch()));
  return performance.now() - t0;
}
const addOne = (x: number): number => x + 1;
/** Runs on the baseline owner: drops what the untracked calls left (their caller never releases them). */
const forgetUntracked = (): void =>
  (process as unknown as { mainModule: NodeJS.Module }).mainModule.require('../remote/ref-store.js').dropClient(1);

/**
 * `n` Futures on `tracked` with reference tracking and `n` on `untracked` without it, alternating batch
 * by batch so both see the same machine; returns their total ms.
 */
async function futuresRun(tracked: number, untracked: number, n: number): Promise<[number, number]> {
  let on = 0;
  let off = 0;
  for (let done = 0; done < n; done += 1000) {
    on += await futuresBatch(tracked, done);
    setTrackingForBenchmark(false);
    try {
      off += await futuresBatch(untracked, done);
    } finally {
      setTrackingForBenchmark(true);
    }
    await remotecall_fetch(forgetUntracked, untracked); // untimed: so the baseline owner does not fill up
  }
  return [on, off];
}

/** The worker's heap after a full collection (bytes). */
const ownerHeap = (w: number): Promise<number> =>
  remotecall_fetch(() => {
    (globalThis as unknown as { gc(): void }).gc();
    return process.memoryUsage().heapUsed;
  }, w);

async function main(): Promise<void> {
  const rows: Row[] = [];
  const out: Record<string, unknown> = { host: hostInfo() };
  const [w] = await addprocs(1, { exeflags: ['--expose-gc'] });

  // 1. RemoteChannel put + take vs remotecall_fetch.
  const n = quick ? 2000 : 5000;
  const rc = new RemoteChannel<number>(w); // a Channel(1) on the worker
  const pairs: number[] = [];
  const together: number[] = [];
  const calls: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    progress(`RemoteChannel put+take vs remotecall_fetch, round ${r + 1}/${ROUNDS}`);
    const [c, p, t] = await interleaved(n, [
      async (i) => {
        await remotecall_fetch(Math.abs, w, -i);
        await remotecall_fetch(Math.abs, w, -i);
      },
      async (i) => {
        await rc.put(i);
        await rc.take();
      },
      (i) => Promise.all([rc.put(i), rc.take()]),
    ]);
    calls.push(c / 2);
    pairs.push(p);
    together.push(t);
  }
  const call = median(calls), pair = median(pairs), both = median(together);
  out.channel = { remotecallFetchUs: calls, putThenTakeUs: pairs, putAndTakeTogetherUs: together, ratioSequential: pair / (2 * call), ratioTogether: both / call };
  rows.push({ figure: 'RemoteChannel put then take (2 round trips)', ours: `${pair.toFixed(1)} µs`, baseline: `${(2 * call).toFixed(1)} µs 2× remotecall_fetch`, ratio: `${(pair / (2 * call)).toFixed(2)}×`, target: '≤ 1.2×' });
  rows.push({ figure: 'RemoteChannel put and take issued together', ours: `${both.toFixed(1)} µs`, baseline: `${call.toFixed(1)} µs 1× remotecall_fetch`, ratio: `${(both / call).toFixed(2)}×`, target: '(two requests in flight; for reference)' });

  // 2. Futures created, fetched and dropped: owner memory, and what tracking costs.
  const count = quick ? 20_000 : 100_000;
  const heapStart = await ownerHeap(w);
  const storedStart = (await stats(w)).storedValues;
  const tracked: number[] = [];
  const untracked: number[] = [];
  const [spare] = await addprocs(1); // the baseline's owner, kept apart from the measured one
  for (let r = 0; r < ROUNDS; r++) {
    progress(`${count} Futures, tracked and untracked, round ${r + 1}/${ROUNDS}`);
    const [on, off] = await futuresRun(w, spare, count);
    tracked.push(on);
    untracked.push(off);
  }
  await rmprocs(spare);
  gcHere();
  await new Promise((r) => setTimeout(r, 50));
  const storedEnd = (await stats(w)).storedValues;
  const heapEnd = await ownerHeap(w);
  await rmprocs(w);
  const t = median(tracked), u = median(untracked);
  out.futures = { count, trackedMs: tracked, untrackedMs: untracked, ratio: t / u, heapStart, heapEnd, heapRatio: heapEnd / heapStart, storedStart, storedEnd };
  rows.push({ figure: `${count} Futures created+fetched, tracking on`, ours: `${((t / count) * 1000).toFixed(1)} µs each`, baseline: `${((u / count) * 1000).toFixed(1)} µs tracking off`, ratio: `${(t / u).toFixed(2)}×`, target: '≤ 1.10×' });
  rows.push({ figure: `owner heap after ${ROUNDS}×${count} Futures dropped`, ours: `${(heapEnd / 1e6).toFixed(1)} MB (${storedEnd} stored)`, baseline: `${(heapStart / 1e6).toFixed(1)} MB at start (${storedStart})`, ratio: `${(heapEnd / heapStart).toFixed(2)}×`, target: '≤ 1.10×' });

  printTable(rows);
  process.stdout.write(`\nwrote ${writeResults('references', out)}\n`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
