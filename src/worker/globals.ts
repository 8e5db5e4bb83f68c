/**
 * Puts this package's exports in the global scope of a worker, so shipped code can call `myid()`,
 * `remotecall_fetch`, … as Julia's workers have `Distributed` loaded (SPEC §3a).
 *
 * `fetch` is also Node's HTTP `fetch`: the global becomes one function that fetches a reference (anything
 * with a `fetch()` method: Future, RemoteChannel, Channel) as this package does, and hands everything else
 * (a URL, a Request) to Node's, so both keep working in shipped code.
 */
import * as api from '../index';

type AnyFn = (...a: unknown[]) => unknown;

function hasFetchMethod(x: unknown): boolean {
  return x !== null && typeof x === 'object' && typeof (x as { fetch?: unknown }).fetch === 'function';
}

const COMBINED = Symbol('distributed-ts combined fetch');

/** Our `fetch` for references, the host's for the rest. */
function combinedFetch(hostFetch: AnyFn): AnyFn {
  const ours = api.fetch as AnyFn;
  const fetch = function fetch(x: unknown, ...rest: unknown[]) {
    return hasFetchMethod(x) ? ours(x) : hostFetch(x, ...rest);
  };
  (fetch as unknown as Record<symbol, boolean>)[COMBINED] = true;
  return fetch;
}

/** Defines every export as a non-enumerable global, leaving names the process already defines alone. */
export function installWorkerGlobals(): void {
  const g = globalThis as Record<string, unknown>;
  for (const [name, value] of Object.entries(api)) {
    if (name === 'fetch' && typeof g.fetch === 'function' && g.fetch !== value) {
      if (!(g.fetch as unknown as Record<symbol, boolean>)[COMBINED]) {
        Object.defineProperty(g, 'fetch', { value: combinedFetch(g.fetch as AnyFn), writable: true, configurable: true, enumerable: false });
      }
      continue;
    }
    if (name in g) continue;
    Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
  }
}
