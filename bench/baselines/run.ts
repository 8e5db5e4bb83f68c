/**
 * Runs every baseline once with modest sizes, prints a table, and writes bench/results/baselines.json.
 *   npm run build && node dist/bench/baselines/run.js [--quick]
 */
import { printTable, Row } from '../lib/table';
import { writeResults, hostInfo } from '../lib/results';
import { pingPong } from './ping-pong';
import { bulkTransfer, memcpyMBps } from './bulk-transfer';
import { spawnNodes } from './spawn-nodes';
import { v8SerializeRoundTrip, sampleObjectGraph } from './v8-serialize';
import { twoProcessCapacity } from './cpu-capacity';
import type { Transport } from './protocol';

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const rows: Row[] = [];
  const all: Record<string, unknown> = {};
  const add = (baseline: string, figure: string, value: number, unit: string, note = '') => {
    rows.push({ baseline, figure, value, unit, note });
  };
  const transports: Transport[] = ['tcp', 'unix'];

  for (const transport of transports) {
    const r = await pingPong({ transport, iterations: quick ? 1000 : 5000, warmup: quick ? 200 : 500 });
    all[`pingPong.${transport}`] = r;
    for (const v of ['data', 'onread'] as const) {
      const s = r[v]!;
      const tag = v === r.variant ? 'baseline (faster)' : '';
      add(`pingPong ${transport} ${v}`, 'median', s.medianUs, 'µs', tag);
      add(`pingPong ${transport} ${v}`, 'mean / p99', s.meanUs, 'µs', `p99 ${s.p99Us.toFixed(1)} µs, n=${s.iterations}`);
    }
  }

  const bytes = 80e6;
  for (const transport of transports) {
    for (const receiver of ['onread', 'data'] as const) {
      const r = await bulkTransfer({ transport, bytes, rounds: quick ? 2 : 4, receiver });
      all[`bulkTransfer.${transport}.${receiver}`] = r;
      const name = `bulk 80MB ${transport} ${receiver}`;
      add(name, 'each way', r.mbPerSec, 'MB/s', `round trip ${r.roundTripMs.toFixed(1)} ms, verified=${r.verified}`);
      add(name, 'to child / to parent', r.mbPerSecToChild, 'MB/s', `to parent ${r.mbPerSecToParent.toFixed(0)} MB/s`);
    }
  }
  const memcpy = await memcpyMBps(bytes, 5);
  all.memcpyMBps = memcpy;
  add('memcpy 80MB (Buffer.copy)', 'copy', memcpy, 'MB/s');

  const sp = await spawnNodes(4, quick ? 3 : 7);
  all.spawnNodes = sp;
  add('spawnNodes(4) node -e 0', 'median', sp.ms, 'ms', `runs ${sp.samplesMs.map((x) => x.toFixed(0)).join(' ')}`);

  const graph = sampleObjectGraph(10_000);
  const v = await v8SerializeRoundTrip(graph, quick ? 20 : 100);
  all.v8SerializeRoundTrip = v;
  add('v8 serialize+deserialize 10k objs', 'round trips', v.opsPerSec, 'ops/s', `${v.usPerOp.toFixed(0)} µs/op, ${v.bytes} bytes`);
  add('v8 serialize+deserialize 10k objs', 'objects', v.opsPerSec * 10_000, 'objs/s');

  const cap = await twoProcessCapacity(quick ? 200 : 500, 3);
  all.twoProcessCapacity = cap;
  add('twoProcessCapacity', 'speed-up', cap.speedup, '×', `one ${cap.oneMs.toFixed(0)} ms, two ${cap.twoMs.toFixed(0)} ms`);

  printTable(rows);
  const file = writeResults('baselines', { host: hostInfo(), ...all });
  process.stdout.write(`\nwrote ${file}\n`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
