/** Baseline 4: v8.serialize + v8.deserialize round trip (the codec benchmark's reference). */
import { performance } from 'node:perf_hooks';
import * as v8 from 'node:v8';

export interface V8SerializeResult {
  /** serialize + deserialize round trips per second. */
  opsPerSec: number;
  /** Mean µs per round trip. */
  usPerOp: number;
  /** Size of the serialized value, bytes. */
  bytes: number;
  iterations: number;
}

/**
 * Round trips `value` through v8.serialize + v8.deserialize `iterations` times (after a short untimed
 * warm-up) and reports the throughput. Stops early, with what it has, after `maxMs` (default 30 s).
 */
export async function v8SerializeRoundTrip(value: unknown, iterations: number, maxMs = 30_000): Promise<V8SerializeResult> {
  const n = Math.max(1, Math.floor(iterations));
  let bytes = 0;
  const warm = Math.min(Math.ceil(n / 10), 100);
  for (let i = 0; i < warm; i++) {
    const b = v8.serialize(value);
    bytes = b.length;
    v8.deserialize(b);
  }
  const t0 = performance.now();
  let done = 0;
  let sink = 0;
  while (done < n) {
    const buf = v8.serialize(value);
    const back = v8.deserialize(buf) as unknown;
    sink += buf.length + (back === undefined ? 1 : 0);
    done++;
    if ((done & 15) === 0 && performance.now() - t0 > maxMs) break;
  }
  const ms = performance.now() - t0;
  if (sink < 0) throw new Error('unreachable');
  return { opsPerSec: done / (ms / 1000), usPerOp: (ms * 1000) / done, bytes, iterations: done };
}

/**
 * A nested object graph of `count` small objects (default 10 000), the shape the SPEC's serialization
 * figure uses: records with a few scalar fields, a short array, and a nested object, grouped in arrays.
 */
export function sampleObjectGraph(count = 10_000): unknown {
  const groups: Array<Array<Record<string, unknown>>> = [];
  let made = 0;
  while (made < count) {
    const g: Array<Record<string, unknown>> = [];
    for (let j = 0; j < 100 && made < count; j++, made++) {
      g.push({ id: made, name: `item-${made}`, value: made * 0.5, ok: made % 2 === 0, tags: ['a', 'b', made % 7], pos: { x: made, y: -made } });
    }
    groups.push(g);
  }
  return { kind: 'graph', count, groups };
}
