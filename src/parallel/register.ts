/**
 * The codec registrations of this layer: a Range travels as its three numbers; a WorkerPool (extension
 * tag 4) as the RemoteChannel reference to its owner's pool.
 */
import { registry } from '../serialization/wire-codec';
import { WorkerPool } from '../pools/worker-pool';
import { Range } from './range';
import { registerInternalFunctions } from './internal-functions';

let done = false;

/** Registers Range and WorkerPool with the codec, and the internal functions that travel by name (idempotent). */
export function registerParallelTypes(): void {
  if (done) return;
  done = true;
  registerInternalFunctions();
  registry.registerClass(Range, {
    name: 'distributed-ts.Range',
    encode: (r) => [(r as Range).start, (r as Range).stop, (r as Range).step],
    decode: (d) => new Range(...(d as [number, number, number])),
  });
  registry.registerExtension<WorkerPool>({ tag: 4, ctor: WorkerPool, encode: (p, w) => WorkerPool.toWire(p, w), decode: (r) => WorkerPool.fromWire(r) });
}
