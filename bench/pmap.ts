/**
 * pmap and distributed (issue 5), each beside its baseline in the same run:
 *   - pmap(x => x + 1, range(0, N)) on 2 workers, items/s, vs Python multiprocessing.Pool(2).map with
 *     chunksize=1 (target ≥ 1.25×) and, with batch_size 'auto', vs Python's default chunksize (≥ 1.0×);
 *   - distributed(range(0, M), coin flip, +) vs the same loop serial here (target ≥ 0.9 × nworkers),
 *     beside the machine's measured 2-process capacity;
 *   - pmap with a CachingPool of a function reading a 100 MB global, over 100 items: bytes sent vs
 *     nworkers × 100 MB (target ≤ 1.05×). Where globals do not travel with shipped functions (before
 *     issue 3), the nearest stand-in is measured instead: a function whose own source is large.
 * Prints a table and writes bench/results/pmap.json.
 *
 *     npm run build && node dist/bench/pmap.js [--quick]
 */
import { spawn, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import * as path from 'node:path';
import { addprocs, CachingPool, distributed, everywhere, pmap, range, rmprocs, stats, workers } from '../src/index';
import { PGRP } from '../src/cluster/process-group';
import { twoProcessCapacity } from './baselines/cpu-capacity';
import { median } from './lib/stats';
import { printTable, type Row } from './lib/table';
import { hostInfo, writeResults } from './lib/results';

const quick = process.argv.includes('--quick');
declare const pmapBenchBig: Float64Array;
const N = 100_000;
const M = quick ? 5e7 : 2e8;
const ROUNDS = quick ? 2 : 3;

function python(chunk: 'one' | 'default'): number {
  const code = `
import multiprocessing as mp, time
def f(x): return x + 1
if __name__ == '__main__':
    with mp.Pool(2) as p:
        p.map(f, range(1000), chunksize=1)
        t = time.perf_counter()
        r = p.map(f, range(${N})${chunk === 'one' ? ', chunksize=1' : ''})
        print(${N} / (time.perf_counter() - t))
`;
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

async function itemsPerSecond(opts: Record<string, unknown>): Promise<number> {
  const t0 = performance.now();
  const r = await pmap((x: number) => x + 1, range(0, N), opts);
  const dt = (performance.now() - t0) / 1000;
  if (r.length !== N || r[N - 1] !== N) throw new Error('pmap gave wrong results');
  return N / dt;
}

/**
 * The same coin-flip loop in bare node processes (no distributed-ts): `k` processes at once, `n` flips
 * each; ms from the first loop's start to the last loop's end (the loops' own clocks, not start-up).
 */
function bareCoinFlips(k: number, n: number): Promise<number> {
  const code = `const t0 = process.hrtime.bigint(); let h = 0; for (let i = 0; i < ${n}; i++) h += Math.random() < 0.5 ? 1 : 0; console.log(t0 + ' ' + process.hrtime.bigint() + ' ' + h);`;
  const runs = Array.from({ length: k }, () => {
    return new Promise<[bigint, bigint]>((resolve, reject) => {
      const c = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.on('error', reject);
      c.on('exit', (code) => {
        const [a, b] = out.trim().split(' ');
        if (code !== 0 || b === undefined) reject(new Error(`bare coin-flip process failed (exit ${code})`));
        else resolve([BigInt(a), BigInt(b)]);
      });
    });
  });
  return Promise.all(runs).then((ts) => {
    const start = ts.map((t) => t[0]).reduce((a, b) => (a < b ? a : b));
    const end = ts.map((t) => t[1]).reduce((a, b) => (a > b ? a : b));
    return Number(end - start) / 1e6;
  });
}

/**
 * Runs `f` with the workers' JavaScript threads under SCHED_BATCH (`batch`, their default while they fit
 * the cores: src/worker/batch-scheduling.ts) or under Linux's default policy, then puts batch back. The
 * same call precedes both, so the two settings are measured after the same traffic.
 */
async function withPolicy<R>(batch: boolean, f: () => Promise<R>): Promise<R> {
  const native = JSON.stringify(path.join(__dirname, '..', 'src', 'native.js'));
  await everywhere(`require(${native}).setBatchScheduling(${batch})`, { procs: workers() });
  try {
    return await f();
  } finally {
    await everywhere(`require(${native}).setBatchScheduling(true)`, { procs: workers() });
  }
}

function coinFlipsSerial(n: number): number {
  let heads = 0;
  for (let i = 0; i < n; i++) heads += Math.random() < 0.5 ? 1 : 0;
  return heads;
}

async function main(): Promise<void> {
  await addprocs(2);
  const rows: Row[] = [];
  const out: Record<string, unknown> = { host: hostInfo(), N, M };
  try {
    await itemsPerSecond({}); // warm up shipping and JIT
    await itemsPerSecond({ batch_size: 'auto' });
    const b1: number[] = [], auto: number[] = [], py1: number[] = [], pyd: number[] = [];
    const batchOn = (await Promise.all(workers().map((p) => stats(p)))).every((s) => s.batchScheduling);
    for (let k = 0; k < ROUNDS; k++) {
      b1.push(await itemsPerSecond({}));
      py1.push(python('one'));
      auto.push(await itemsPerSecond({ batch_size: 'auto' }));
      pyd.push(python('default'));
    }
    // What batch scheduling gains: both settings alternately, each right after the same call.
    const b1Batch: number[] = [], b1Default: number[] = [], autoBatch: number[] = [], autoDefault: number[] = [];
    for (let k = 0; batchOn && k < 2 * ROUNDS; k++) {
      b1Batch.push(await withPolicy(true, () => itemsPerSecond({})));
      b1Default.push(await withPolicy(false, () => itemsPerSecond({})));
      for (let j = 0; j < 10; j++) {
        autoBatch.push(await withPolicy(true, () => itemsPerSecond({ batch_size: 'auto' })));
        autoDefault.push(await withPolicy(false, () => itemsPerSecond({ batch_size: 'auto' })));
      }
    }
    const r1 = median(b1) / median(py1);
    const ra = median(auto) / median(pyd);
    rows.push({ figure: 'pmap batch 1, items/s', ours: Math.round(median(b1)), baseline: Math.round(median(py1)), ratio: r1.toFixed(2), target: '≥ 1.25' });
    rows.push({ figure: "pmap batch 'auto', items/s", ours: Math.round(median(auto)), baseline: Math.round(median(pyd)), ratio: ra.toFixed(2), target: '≥ 1.0' });
    if (batchOn) {
      // The same pmap runs with the workers under Linux's default policy, alternating with batch.
      rows.push({ figure: '  batch 1, workers under the default policy', ours: Math.round(median(b1Default)), baseline: `${Math.round(median(b1Batch))} batch`, ratio: (median(b1Batch) / median(b1Default)).toFixed(2), target: 'batch gain' });
      rows.push({ figure: "  'auto', workers under the default policy", ours: Math.round(median(autoDefault)), baseline: `${Math.round(median(autoBatch))} batch`, ratio: (median(autoBatch) / median(autoDefault)).toFixed(2), target: 'batch gain' });
    }
    out.pmap = { batch1: b1, python_chunksize1: py1, auto, python_default: pyd, ratio_batch1: r1, ratio_auto: ra, batchScheduling: batchOn, batch1Batch: b1Batch, batch1DefaultPolicy: b1Default, autoBatch, autoDefaultPolicy: autoDefault };

    const body = (): number => (Math.random() < 0.5 ? 1 : 0);
    await distributed(range(0, 1e6), body, (a: number, b: number) => a + b);
    coinFlipsSerial(1e6);
    const par: number[] = [], ser: number[] = [], bare1: number[] = [], bare2: number[] = [];
    for (let k = 0; k < ROUNDS + 2; k++) {
      let t0 = performance.now();
      await distributed(range(0, M), body, (a: number, b: number) => a + b);
      par.push(performance.now() - t0);
      t0 = performance.now();
      coinFlipsSerial(M);
      ser.push(performance.now() - t0);
      bare1.push(await bareCoinFlips(1, M));
      bare2.push(await bareCoinFlips(2, M / 2));
    }
    const speedup = median(ser) / median(par);
    const bareSpeedup = median(bare1) / median(bare2);
    const cap = await twoProcessCapacity(quick ? 300 : 500, quick ? 1 : 3);
    rows.push({ figure: `distributed coin flips (${M.toExponential(0)}), speed-up`, ours: speedup.toFixed(2), baseline: 'serial', ratio: (speedup / 2).toFixed(2), target: '≥ 0.9 per worker' });
    rows.push({ figure: 'machine 2-process capacity', ours: cap.speedup.toFixed(2), baseline: '2.00 = idle', ratio: (speedup / cap.speedup).toFixed(2), target: 'speed-up / capacity' });
    rows.push({ figure: 'the same loop in 2 bare node processes, speed-up', ours: bareSpeedup.toFixed(2), baseline: 'bare serial', ratio: (speedup / bareSpeedup).toFixed(2), target: 'speed-up / bare speed-up' });
    out.distributed = { parallel_ms: par, serial_ms: ser, speedup, capacity: cap.speedup, bare_serial_ms: bare1, bare_parallel_ms: bare2, bare_speedup: bareSpeedup };

    const S = quick ? 16e6 : 100e6;
    const sent = (): number => workers().reduce((t, p) => t + (PGRP.get(p)?.connection?.bytesSent ?? 0), 0);
    const ideal = workers().length * S;
    // The real figure: a function reading a global of S bytes, which travels with the function's first
    // call to each worker once globals travel with shipped functions (issue 3).
    (globalThis as Record<string, unknown>).pmapBenchBig = new Float64Array(S / 8).fill(1);
    let how = `${(S / 1e6).toFixed(0)} MB global`;
    let pool = new CachingPool(workers());
    let b0 = sent();
    let bytes: number;
    try {
      const r = await pmap((i: number) => pmapBenchBig[i] + i, pool, range(0, 100));
      if (r[99] !== 100) throw new Error('CachingPool pmap gave wrong results');
      bytes = sent() - b0;
    } catch (e) {
      if (!(e instanceof Error && /pmapBenchBig/.test(e.message))) throw e;
      // Globals do not travel in this build: the nearest stand-in is a function whose own source is S bytes.
      how = `${(S / 10e6).toFixed(1)} MB function source (globals do not travel here), ×10`;
      const s10 = S / 10;
      const big = new Function('x', `return x + ${JSON.stringify('y'.repeat(s10))}.length;`) as (x: number) => number;
      pool = new CachingPool(workers());
      b0 = sent();
      const r = await pmap(big, pool, range(0, 100));
      if (r[99] !== 99 + s10) throw new Error('CachingPool pmap gave wrong results');
      bytes = (sent() - b0) * 10;
    }
    delete (globalThis as Record<string, unknown>).pmapBenchBig;
    rows.push({ figure: `CachingPool pmap, ${how}: bytes`, ours: bytes, baseline: `nworkers × ${(S / 1e6).toFixed(0)} MB`, ratio: (bytes / ideal).toFixed(3), target: '≤ 1.05' });
    out.caching = { S, how, bytes, ideal, ratio: bytes / ideal };
  } finally {
    await rmprocs(...workers().filter((p) => p !== 1));
  }
  printTable(rows);
  writeResults('pmap', out);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
