/**
 * Code availability figures (issue 3), each beside its baseline in the same run:
 *   - a shipped arrow function called 10 000 times vs a global function called by name (≤ 1.1×); also
 *     an arrow reading a data global, and a fresh closure per call (same source);
 *   - a 100 MB Float64Array global used by 100 calls to one worker: bytes on the wire vs one copy (≤ 1.05×);
 *   - `everywhere('globalThis.x = 1')` on 4 workers vs on 1 worker (≤ 1.5×), beside two floors measured
 *     with it: 4 bare remote calls at once vs 1, and 4 bare Node echo processes vs 1 (no library).
 * Prints a table and writes bench/results/code-availability.json.
 *
 *     npm run build && node dist/bench/code-availability.js [--quick]
 */
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import { addprocs, everywhere, remotecall_fetch, rmprocs, stats } from '../src/index';
import { median } from './lib/stats';
import { printTable, type Row } from './lib/table';
import { hostInfo, writeResults } from './lib/results';
import { fanOut } from './baselines/fan-out';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 5;
const progress = (what: string): void => void process.stderr.write(`  ${what}\n`);

declare const benchData: number;
declare const benchBig: Float64Array;
const g = globalThis as Record<string, unknown>;

/** Median µs per call of `n` sequential calls of `call`. */
async function perCall(n: number, call: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 200; i++) await call(i);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await call(i);
  return ((performance.now() - t0) * 1000) / n;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const out: Record<string, unknown> = { host: hostInfo() };

  // 1. Shipped arrow vs global function by name, one worker.
  const [w] = await addprocs(1);
  await everywhere('function benchAdd(a) { return a + 1 }');
  const byName = g.benchAdd as (a: number) => number;
  const arrow = (a: number): number => a + 1;
  g.benchData = 1;
  const withGlobal = (a: number): number => a + benchData;
  const n = quick ? 4000 : 10_000;
  const series: Record<string, number[]> = { byName: [], arrow: [], withGlobal: [], fresh: [], captured: [] };
  const local = 1;
  const capturing = (a: number): number => a + local;
  for (let r = 0; r < ROUNDS; r++) {
    progress(`arrow vs global by name, round ${r + 1}/${ROUNDS}`);
    series.byName.push(await perCall(n, (i) => remotecall_fetch(byName, w, i)));
    series.arrow.push(await perCall(n, (i) => remotecall_fetch(arrow, w, i)));
    series.withGlobal.push(await perCall(n, (i) => remotecall_fetch(withGlobal, w, i)));
    series.fresh.push(await perCall(n, (i) => remotecall_fetch((a: number) => a + 2, w, i)));
    series.captured.push(await perCall(Math.ceil(n / 10), (i) => remotecall_fetch(capturing, w, i)));
  }
  const base = median(series.byName);
  out.shipped = { calls: n, us: series, ratios: { arrow: median(series.arrow) / base, withGlobal: median(series.withGlobal) / base, fresh: median(series.fresh) / base, captured: median(series.captured) / base } };
  const row = (figure: string, key: string, target: string): Row => ({
    figure,
    ours: `${median(series[key]).toFixed(1)} µs`,
    baseline: `${base.toFixed(1)} µs global by name`,
    ratio: `${(median(series[key]) / base).toFixed(2)}×`,
    target,
  });
  rows.push(row(`shipped arrow, ${n} calls`, 'arrow', '≤ 1.1×'));
  rows.push(row('arrow reading a data global (unchanged)', 'withGlobal', ''));
  rows.push(row('a fresh closure per call (same source)', 'fresh', ''));
  rows.push(row('arrow capturing a local (read via the inspector)', 'captured', ''));

  // 2. A large global used by many calls crosses the wire once.
  const mb = quick ? 20 : 100;
  const calls = quick ? 20 : 100;
  g.benchBig = new Float64Array((mb * 1e6) / 8).fill(0.25);
  const oneCopy = (mb * 1e6) as number;
  progress(`${mb} MB global used by ${calls} calls`);
  const before = (await stats()).shipping[w];
  for (let i = 0; i < calls; i++) await remotecall_fetch((k: number) => benchBig[k], w, i);
  const after = (await stats()).shipping[w];
  const bytes = after.bytesSent - before.bytesSent;
  out.bigGlobal = { megabytes: mb, calls, bytesOnWire: bytes, oneCopy, ratio: bytes / oneCopy, globalSends: after.globalValues - before.globalValues };
  rows.push({ figure: `${mb} MB Float64Array global, ${calls} calls`, ours: `${(bytes / 1e6).toFixed(2)} MB sent`, baseline: `${mb} MB one copy`, ratio: `${(bytes / oneCopy).toFixed(3)}×`, target: '≤ 1.05×' });
  delete g.benchBig;
  await rmprocs(w);

  // 3. everywhere on 4 workers vs on 1, and the floors under it: the same message to 4 workers at once
  // vs to 1, as bare remote calls, and as bare Node — 4 echo processes over the same transport vs 1,
  // with no library at all (what the machine charges for fanning out). The six are interleaved call by
  // call (the box drifts between blocks of calls by more than the difference measured), and each is the
  // median of its calls.
  const ws = await addprocs(4);
  const bare = await fanOut({ peers: 4, transport: 'unix' });
  const reps = quick ? 300 : 1500;
  const set = (): void => {
    (globalThis as Record<string, unknown>).x = 1;
  };
  const variants: Array<() => Promise<unknown>> = [
    () => everywhere('globalThis.x = 1', { procs: [ws[0]] }),
    () => everywhere('globalThis.x = 1', { procs: ws }),
    () => remotecall_fetch(set, ws[0]),
    () => Promise.all(ws.map((p) => remotecall_fetch(set, p))),
    () => bare.call(1),
    () => bare.call(4),
  ];
  const samples = variants.map(() => new Float64Array(reps));
  for (let i = 0; i < 200; i++) for (const v of variants) await v();
  for (let i = 0; i < reps; i++) {
    if (i % 500 === 0) progress(`everywhere on 4 vs 1 workers, calls ${i + 1}-${Math.min(reps, i + 500)} of ${reps}`);
    for (let k = 0; k < variants.length; k++) {
      const t0 = performance.now();
      await variants[k]();
      samples[k][i] = (performance.now() - t0) * 1000;
    }
  }
  await bare.stop();
  await rmprocs(...ws);
  const [o1, o4, r1, r4, b1, b4] = samples.map((x) => median(Array.from(x)));
  out.everywhere = { reps, cores: os.availableParallelism(), oneWorkerUs: o1, fourWorkersUs: o4, ratio: o4 / o1, remotecallOneUs: r1, remotecallFourUs: r4, remotecallRatio: r4 / r1, bareOneUs: b1, bareFourUs: b4, bareRatio: b4 / b1 };
  rows.push({ figure: "everywhere('globalThis.x = 1'), 4 workers", ours: `${o4.toFixed(0)} µs`, baseline: `${o1.toFixed(0)} µs on 1 worker`, ratio: `${(o4 / o1).toFixed(2)}×`, target: '≤ 1.5×' });
  rows.push({ figure: '(floor) 4 parallel remotecall_fetch', ours: `${r4.toFixed(0)} µs`, baseline: `${r1.toFixed(0)} µs to 1 worker`, ratio: `${(r4 / r1).toFixed(2)}×`, target: `${os.availableParallelism()} cores` });
  rows.push({ figure: '(floor) bare Node: 4 echo processes at once', ours: `${b4.toFixed(0)} µs`, baseline: `${b1.toFixed(0)} µs to 1`, ratio: `${(b4 / b1).toFixed(2)}×`, target: 'no library' });

  printTable(rows);
  process.stdout.write(`\nwrote ${writeResults('code-availability', out)}\n`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
