/**
 * The value codec against `v8.serialize` + `v8.deserialize`, side by side in one run (SPEC §6):
 * a nested graph of 10 000 small objects (with shared references), and a 10^6-element Float64Array.
 * Prints a table with throughput ratios and writes bench/results/codec.json.
 *
 *     npm run build && node dist/bench/codec.js
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import Benchmark from 'benchmark';
import { Decoder, Encoder, TypeRegistry } from '../src/serialization/codec';

const registry = new TypeRegistry();
const encoder = new Encoder(registry);
const decoder = new Decoder(registry);

/**
 * The receiver's side of the transport, simulated: every segment lands in its own fresh, uninitialised
 * ArrayBuffer (one memcpy), as the native frame reader does.
 */
function receive(segments: ArrayBufferView[]): ArrayBuffer[] {
  return segments.map((s) => {
    const b = Buffer.allocUnsafeSlow(s.byteLength);
    b.set(new Uint8Array(s.buffer, s.byteOffset, s.byteLength));
    return b.buffer as ArrayBuffer;
  });
}

/** Encode + decode, the receiver copying each segment once. */
function roundTrip(v: unknown): unknown {
  const { inline, segments } = encoder.encode(v, 'value');
  return decoder.decode(inline, segments.length === 0 ? [] : receive(segments));
}

/** Encode + decode alone: segments handed over as they are (what the codec itself costs). */
function roundTripNoCopy(v: unknown): unknown {
  const { inline, segments } = encoder.encode(v, 'value');
  return decoder.decode(
    inline,
    segments.map((s) => s.buffer as ArrayBuffer),
  );
}

function v8RoundTrip(v: unknown): unknown {
  return v8.deserialize(v8.serialize(v));
}

function makeGraph(n: number): unknown {
  const owners = Array.from({ length: 16 }, (_, i) => ({ owner: 'team' + i, level: i }));
  const items = [];
  for (let i = 0; i < n; i++) {
    items.push({ id: i, name: 'item' + i, tags: ['a', 'b'], pos: { x: i * 0.5, y: -i }, active: i % 2 === 0, owner: owners[i % 16] });
  }
  return { items, owners, first: items[0], count: n };
}

interface Row {
  case: string;
  ours: number;
  v8: number;
  ratio: number;
  oursBytes: number;
  v8Bytes: number;
}

function run(name: string, value: unknown, ours: (v: unknown) => unknown = roundTrip): Promise<Row> {
  const { inline, segments } = encoder.encode(value);
  const oursBytes = inline.byteLength + segments.reduce((s, x) => s + x.byteLength, 0);
  const v8Bytes = v8.serialize(value).byteLength;
  // Warm both up first (JIT, allocator, page cache): whichever runs first otherwise pays for it.
  for (const f of [() => ours(value), () => v8RoundTrip(value), () => ours(value), () => v8RoundTrip(value)]) {
    const t0 = Date.now();
    while (Date.now() - t0 < 500) f();
  }
  return new Promise((resolve) => {
    const hz: Record<string, number> = {};
    new Benchmark.Suite(name)
      .add('distributed-ts codec', () => ours(value))
      .add('v8.serialize+deserialize', () => v8RoundTrip(value))
      .on('cycle', (ev: Benchmark.Event) => {
        const b = ev.target as unknown as Benchmark;
        hz[b.name as string] = b.hz as number;
        console.log(`  ${name}: ${String(ev.target)}`);
      })
      .on('complete', () => {
        const ours = hz['distributed-ts codec'];
        const base = hz['v8.serialize+deserialize'];
        resolve({ case: name, ours, v8: base, ratio: ours / base, oursBytes, v8Bytes });
      })
      .run({ async: false });
  });
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  rows.push(await run('graph of 10k small objects', makeGraph(10_000)));
  const f64 = new Float64Array(1_000_000).map((_, i) => Math.sin(i));
  rows.push(await run('Float64Array(1e6), recv copy', f64));
  rows.push(await run('Float64Array(1e6), codec only', f64, roundTripNoCopy));
  console.log('\ncase                         ours (ops/s)   v8 (ops/s)   ratio   bytes ours / v8');
  for (const r of rows) {
    console.log(
      `${r.case.padEnd(28)} ${r.ours.toFixed(1).padStart(12)} ${r.v8.toFixed(1).padStart(12)} ${r.ratio.toFixed(2).padStart(6)}×   ${r.oursBytes} / ${r.v8Bytes}`,
    );
  }
  const out = path.join(__dirname, '..', '..', 'bench', 'results');
  fs.mkdirSync(out, { recursive: true });
  const file = path.join(out, 'codec.json');
  fs.writeFileSync(
    file,
    JSON.stringify({ date: new Date().toISOString(), node: process.version, target: 'ratio >= 1.0 (SPEC §6)', rows }, null, 2) + '\n',
  );
  console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
}

void main();
