/**
 * The core figures of SPEC §6, each beside its baseline in the same run (the machines are shared and
 * noisy, so every pair is measured interleaved, several rounds, and compared by median):
 *   - `remotecall_fetch` round trip with tiny arguments vs bare Node ping-pong, over TCP and Unix sockets
 *     (also with our idle polling off, and against a bare ping-pong whose loops poll too);
 *   - `remotecall_fetch(x => x, w, Float64Array(1e7))` (80 MB each way) vs bare sockets with `onread`
 *     into a preallocated buffer (and memcpy for reference): on the socket path (Unix and TCP), and
 *     through shared memory (local workers on a Unix socket, the default);
 *   - `addprocs(4)` until all four answer `myid()` vs four bare `node -e 0` started at once (also for a
 *     TypeScript driver's workers, tsx loaded on first need vs at start; also with
 *     workers started without the start-up snapshot, and, when NODE_EXTRA_CA_CERTS is set, with it unset
 *     on both sides).
 * (The codec figure is bench/codec.ts.) Prints a table and writes bench/results/core.json.
 *
 *     npm run build && node dist/bench/core.js [--quick] [--only=roundtrip,bulk,shared,addprocs]
 */
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { addprocs, myid, remotecall_fetch, rmprocs } from '../src/index';
import { setSharedTransfer } from '../src/transport/shared-transfer';
import { connectionTo } from '../src/messages/messaging';
import { DEFAULT_IDLE_SPIN_MICROS, appliedIdleSpin, setIdleSpinMicros } from '../src/transport/idle-spin';
import { updateClusterSpin } from '../src/cluster/addprocs';
import { pingPong } from './baselines/ping-pong';
import { bulkTransfer, memcpyMBps } from './baselines/bulk-transfer';
import { spawnNodes } from './baselines/spawn-nodes';
import type { Transport } from './baselines/protocol';
import { median } from './lib/stats';
import { printTable, type Row } from './lib/table';
import { hostInfo, writeResults } from './lib/results';

const quick = process.argv.includes('--quick');
// Rounds alternate ours and the baseline; the medians of more rounds move less with the shared box.
const ROUNDS = quick ? 2 : 7;
const onlyArg = process.argv.find((a) => a.startsWith('--only='));
const only = onlyArg === undefined ? undefined : new Set(onlyArg.slice('--only='.length).split(','));
const runs = (section: 'roundtrip' | 'bulk' | 'shared' | 'addprocs'): boolean => only === undefined || only.has(section);
const progress = (what: string): void => void process.stderr.write(`  ${what}\n`);

/** Untimed round trips before each timed run, ours and the baseline's alike (V8 optimises the hot path's functions after a few thousand). */
const WARMUP = 3000;

/** Median µs of `n` sequential tiny `remotecall_fetch` round trips to worker `w`. */
async function remotecallRoundTrip(w: number, n: number): Promise<number> {
  const samples = new Float64Array(n);
  for (let i = 0; i < WARMUP; i++) await remotecall_fetch(Math.abs, w, -i);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await remotecall_fetch(Math.abs, w, -i);
    samples[i] = (performance.now() - t0) * 1000;
  }
  return median(samples);
}

/** One-way MB/s of `remotecall_fetch(x => x, w, big)`: bytes / (median round trip / 2). */
async function remotecallBulk(w: number, big: Float64Array, rounds: number): Promise<number> {
  const echo = (x: Float64Array): Float64Array => x;
  const back = await remotecall_fetch(echo, w, big);
  if (back.length !== big.length || back[big.length - 1] !== big[big.length - 1]) throw new Error('bulk echo came back wrong');
  const ms: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    await remotecall_fetch(echo, w, big);
    ms.push(performance.now() - t0);
  }
  return big.byteLength / 1e6 / (median(ms) / 2 / 1000);
}

/** ms from `addprocs(4)` until all four answered `myid()`, then tears them down (untimed). */
async function addprocsUntilAnswer(n: number, env?: Record<string, string>, exeflags?: string[], then?: (ids: number[]) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  const ids = await addprocs(n, { ...(env === undefined ? {} : { env }), ...(exeflags === undefined ? {} : { exeflags }) });
  await Promise.all(ids.map((w) => remotecall_fetch(myid, w)));
  const ms = performance.now() - t0;
  if (then !== undefined) await then(ids);
  await rmprocs(...ids);
  return ms;
}

/** A TypeScript module the workers of a tsx driver require (test/fixtures/ts/square.ts). */
const SQUARE_TS = path.join(__dirname, '..', '..', 'test', 'fixtures', 'ts', 'square.ts');

/** ms until every worker of `ids` has required a TypeScript file (their first: tsx's require hooks load). */
async function firstTsRequire(ids: number[], into: number[]): Promise<void> {
  const t0 = performance.now();
  await Promise.all(ids.map((w) => remotecall_fetch((p: string) => (require(p) as { square(x: number): number }).square(3), w, SQUARE_TS)));
  into.push(performance.now() - t0);
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const out: Record<string, unknown> = { host: hostInfo() };
  const iterations = quick ? 2000 : 5000;

  // 1. Round trips, per transport: ours as shipped (idle polling on: one worker fits this box's cores),
  // ours with idle polling off, the bare ping-pong, and the bare ping-pong with both loops polling too.
  for (const transport of (runs('roundtrip') ? ['unix', 'tcp'] : []) as Transport[]) {
    const [w] = await addprocs(1, { transport });
    const series = { base: [] as number[], basePolling: [] as number[], ours: [] as number[], oursNoPolling: [] as number[] };
    const polling = (us: number): void => {
      setIdleSpinMicros(us);
      updateClusterSpin();
    };
    for (let r = 0; r < ROUNDS; r++) {
      progress(`round trips, ${transport}, round ${r + 1}/${ROUNDS}`);
      series.base.push((await pingPong({ transport, iterations, warmup: WARMUP })).medianUs);
      series.ours.push(await remotecallRoundTrip(w, iterations));
      polling(0);
      series.oursNoPolling.push(await remotecallRoundTrip(w, iterations));
      polling(DEFAULT_IDLE_SPIN_MICROS);
      series.basePolling.push((await pingPong({ transport, iterations, warmup: WARMUP, poll: true })).medianUs);
    }
    const spinning = appliedIdleSpin();
    await rmprocs(w);
    const b = median(series.base), bp = median(series.basePolling), o = median(series.ours), off = median(series.oursNoPolling);
    out[`roundTrip.${transport}`] = { baselineUs: series.base, oursUs: series.ours, ratio: o / b, idlePollingUs: spinning, oursNoPollingUs: series.oursNoPolling, ratioNoPolling: off / b, baselinePollingUs: series.basePolling, ratioBothPolling: o / bp };
    const row = (figure: string, ours: number, base: number, baseline: string, target: string): Row => ({ figure, ours: `${ours.toFixed(1)} µs`, baseline: `${base.toFixed(1)} µs ${baseline}`, ratio: `${(ours / base).toFixed(2)}×`, target });
    rows.push(row(`remotecall_fetch round trip, ${transport}${spinning > 0 ? ` (idle polling ${spinning} µs)` : ''}`, o, b, 'bare ping-pong', '≤ 1.25×'));
    rows.push(row(`  the same, idle polling off`, off, b, 'bare ping-pong', '(reference)'));
    rows.push(row(`  the same, both polling`, o, bp, 'bare, both polling', '(reference)'));
  }

  // 2. 80 MB each way: the socket path over a Unix socket and TCP, then shared memory (the default
  // for local workers on a Unix socket). Shared memory off on both sides for the socket rows.
  const big = new Float64Array(1e7).map((_, i) => i * 0.5);
  const bulkCases: Array<{ transport: Transport; shared: boolean; tls?: boolean; figure: string; target: string }> = [
    { transport: 'unix', shared: false, figure: '80 MB Float64Array each way, unix', target: '≥ 0.8×' },
    { transport: 'tcp', shared: false, figure: '80 MB Float64Array each way, tcp', target: '≥ 0.8×' },
    { transport: 'tcp', shared: false, tls: true, figure: '  the same over tcp with tls: true', target: '(reference)' },
    { transport: 'unix', shared: true, figure: '80 MB each way, shared memory, vs bare socket onread', target: '≥ 1.5×' },
  ];
  for (const c of bulkCases.filter((k) => runs('bulk') || (k.shared && runs('shared')))) {
    setSharedTransfer(c.shared);
    const [w] = await addprocs(1, { transport: c.transport, tls: c.tls, env: { DISTRIBUTED_SHM_TRANSFER: c.shared ? '1' : '0' } });
    const base: number[] = [];
    const ours: number[] = [];
    // Steady state: the first transfers go on the socket while each side's pool grows to the arrays
    // in flight (until the receiver's collector releases them); then every transfer reuses a segment.
    // On the socket path the same holds for the receive buffers and the spill buffers of the capture.
    await remotecallBulk(w, big, c.shared ? 12 : 6);
    for (let r = 0; r < ROUNDS; r++) {
      progress(`${c.figure}, round ${r + 1}/${ROUNDS}`);
      base.push((await bulkTransfer({ transport: c.transport, bytes: big.byteLength, rounds: 3, receiver: 'onread', verify: r === 0 })).mbPerSec);
      ours.push(await remotecallBulk(w, big, 3));
      if (c.shared) progress(`  ${ours[ours.length - 1].toFixed(0)} MB/s; master's pool: ${JSON.stringify(connectionTo(w).sharedPool)}`);
    }
    const pool = connectionTo(w).sharedPool;
    await rmprocs(w);
    const b = median(base), o = median(ours);
    out[c.shared ? 'bulk.unix.shared' : `bulk.${c.transport}${c.tls ? '.tls' : ''}`] = { baselineMBps: base, oursMBps: ours, ratio: o / b, ...(c.shared ? { pool } : {}) };
    rows.push({ figure: c.figure, ours: `${o.toFixed(0)} MB/s`, baseline: `${b.toFixed(0)} MB/s bare onread`, ratio: `${(o / b).toFixed(2)}×`, target: c.target });
  }
  setSharedTransfer(true);
  const memcpy = await memcpyMBps(big.byteLength, 5);
  out.memcpyMBps = memcpy;
  rows.push({ figure: 'memcpy 80 MB (reference)', ours: '', baseline: `${memcpy.toFixed(0)} MB/s`, ratio: '', target: '' });

  // 3. addprocs(4) until all answer, vs four bare node processes; beside it (for reference) the same
  // with workers started without the start-up snapshot, and, when NODE_EXTRA_CA_CERTS is set (every
  // Node process then builds its certificate store as it starts: tens of ms on a small VM), both sides
  // again with it unset, which shows what the library itself adds. Interleaved round by round.
  const certs = (process.env.NODE_EXTRA_CA_CERTS ?? '') !== '';
  const noCerts = { ...process.env, NODE_EXTRA_CA_CERTS: '' };
  const series = { base: [] as number[], ours: [] as number[], plain: [] as number[], baseNoCerts: [] as number[], oursNoCerts: [] as number[], tsx: [] as number[], tsxEager: [] as number[], tsxFirstTs: [] as number[], tsxEagerFirstTs: [] as number[] };
  // A TypeScript driver's workers get tsx's loader flag: registered on first need (the default), or at start.
  const TSX = ['--import', 'tsx'];
  for (let r = 0; r < (runs('addprocs') ? (quick ? 3 : 9) : 0); r++) {
    progress(`addprocs(4), round ${r + 1}`);
    series.base.push((await spawnNodes(4, 1)).ms);
    series.ours.push(await addprocsUntilAnswer(4));
    series.plain.push(await addprocsUntilAnswer(4, { DISTRIBUTED_TS_WORKER_SNAPSHOT: '0' }));
    if (certs) {
      series.baseNoCerts.push((await spawnNodes(4, 1, noCerts)).ms);
      series.oursNoCerts.push(await addprocsUntilAnswer(4, { NODE_EXTRA_CA_CERTS: '' }));
    }
    series.tsx.push(await addprocsUntilAnswer(4, undefined, TSX, (ids) => firstTsRequire(ids, series.tsxFirstTs)));
    series.tsxEager.push(await addprocsUntilAnswer(4, { DISTRIBUTED_TS_WORKER_LOADERS: 'eager' }, TSX, (ids) => firstTsRequire(ids, series.tsxEagerFirstTs)));
  }
  if (runs('addprocs')) {
    const b = median(series.base), o = median(series.ours), p = median(series.plain);
    out.addprocs4 = { baselineMs: series.base, oursMs: series.ours, ratio: o / b, withoutSnapshotMs: series.plain, ratioWithoutSnapshot: p / b, nodeExtraCaCerts: certs };
    rows.push({ figure: 'addprocs(4) until all answer myid()', ours: `${o.toFixed(0)} ms`, baseline: `${b.toFixed(0)} ms 4× node -e 0`, ratio: `${(o / b).toFixed(2)}×`, target: '≤ 1.3×' });
    rows.push({ figure: '  the same, workers without the snapshot', ours: `${p.toFixed(0)} ms`, baseline: `${b.toFixed(0)} ms 4× node -e 0`, ratio: `${(p / b).toFixed(2)}×`, target: '(reference)' });
    if (certs) {
      const bn = median(series.baseNoCerts), on = median(series.oursNoCerts);
      Object.assign(out.addprocs4 as object, { baselineNoCertsMs: series.baseNoCerts, oursNoCertsMs: series.oursNoCerts, ratioNoCerts: on / bn });
      rows.push({ figure: '  both with NODE_EXTRA_CA_CERTS unset', ours: `${on.toFixed(0)} ms`, baseline: `${bn.toFixed(0)} ms 4× node -e 0`, ratio: `${(on / bn).toFixed(2)}×`, target: '(reference)' });
    }
    const t = median(series.tsx), te = median(series.tsxEager);
    Object.assign(out.addprocs4 as object, { tsxDeferredMs: series.tsx, tsxEagerMs: series.tsxEager, tsxRatioToBaseline: t / b, tsxRatioToEager: t / te });
    rows.push({ figure: '  a tsx driver\'s workers, tsx loaded on first need', ours: `${t.toFixed(0)} ms`, baseline: `${te.toFixed(0)} ms loaded at start`, ratio: `${(t / te).toFixed(2)}× (${(t / b).toFixed(2)}× node -e 0)`, target: '(reference)' });
    const f = median(series.tsxFirstTs), fe = median(series.tsxEagerFirstTs);
    Object.assign(out.addprocs4 as object, { tsxFirstTsRequireMs: series.tsxFirstTs, tsxEagerFirstTsRequireMs: series.tsxEagerFirstTs });
    rows.push({ figure: '    then each requires a .ts file (first time)', ours: `${f.toFixed(0)} ms`, baseline: `${fe.toFixed(0)} ms tsx loaded at start`, ratio: `${(f / fe).toFixed(2)}×`, target: '(reference)' });
  }

  printTable(rows);
  process.stdout.write(`\nwrote ${writeResults(only === undefined ? 'core' : `core.${[...only].join('-')}`, out)}\n`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
