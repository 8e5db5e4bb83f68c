/**
 * Puts this package's exports in the global scope of a worker, so shipped code can call `myid()`,
 * `remotecall_fetch`, … as Julia's workers have `Distributed` loaded (SPEC §3a).
 */
import * as api from '../index';

/** Defines every export as a non-enumerable global, leaving names the process already defines alone. */
export function installWorkerGlobals(): void {
  const g = globalThis as Record<string, unknown>;
  for (const [name, value] of Object.entries(api)) {
    if (name in g) continue;
    Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
  }
}
