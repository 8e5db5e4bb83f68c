/**
 * Puts this package's exports in the global scope of a worker, so shipped code can call `myid()`,
 * `remotecall_fetch`, … as Julia's workers have `Distributed` loaded (SPEC §3a).
 *
 * The globals are defined without loading the package: the cluster's identity functions and the error
 * classes are defined at once (their modules serve every call anyway); every other name loads the rest
 * of the package on first use and then holds its value (see deferred-package.ts).
 *
 * `fetch` is also Node's HTTP `fetch`: the global becomes one function that fetches a reference (anything
 * with a `fetch()` method: Future, RemoteChannel, Channel) as this package does, and hands everything else
 * (a URL, a Request) to Node's, so both keep working in shipped code.
 */
import { myid, nprocs, nworkers, procs, workers } from '../cluster/process-group';
import { cluster_cookie } from '../cluster/cookie';
import { CapturedException, CompositeException, InterruptException, InvalidStateException, ProcessExitedException, RemoteException } from '../errors';
import { deferPackageLoad } from '../deferred-package';
import { PACKAGE_EXPORT_NAMES } from './package-names';

type AnyFn = (...a: unknown[]) => unknown;

/**
 * Exports whose modules every process has loaded: globals with their values from the start, and (on a
 * worker) package functions that run by name before the rest of the package loads.
 */
export const CORE_EXPORTS: Readonly<Record<string, Function>> = {
  myid, nprocs, nworkers, procs, workers, cluster_cookie,
  RemoteException, CapturedException, ProcessExitedException, CompositeException, InterruptException, InvalidStateException,
};
const CORE: Readonly<Record<string, unknown>> = CORE_EXPORTS;

/** The whole package (loading it on first use). */
function thePackage(): Record<string, unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../index') as Record<string, unknown>;
}

function hasFetchMethod(x: unknown): boolean {
  return x !== null && typeof x === 'object' && typeof (x as { fetch?: unknown }).fetch === 'function';
}

const COMBINED = Symbol('distributed-ts combined fetch');

/** Our `fetch` for references, the host's for the rest. */
function combinedFetch(hostFetch: AnyFn): AnyFn {
  let ours: AnyFn | undefined;
  const fetch = function fetch(x: unknown, ...rest: unknown[]) {
    if (!hasFetchMethod(x)) return hostFetch(x, ...rest);
    ours ??= thePackage().fetch as AnyFn;
    return ours(x, ...rest); // a keyed channel's key
  };
  (fetch as unknown as Record<symbol, boolean>)[COMBINED] = true;
  return fetch;
}

let installed = false;

/**
 * Defines every export as a non-enumerable global, leaving names the process already defines alone;
 * names outside {@link CORE} load the package on first use. Also lets the codec load the package when a
 * message needs something only it defines.
 */
export function installWorkerGlobals(): void {
  if (installed) return;
  installed = true;
  deferPackageLoad(() => {
    thePackage();
  });
  const g = globalThis as Record<string, unknown>;
  const lazy: string[] = [];
  for (const name of PACKAGE_EXPORT_NAMES) {
    if (name === 'fetch' && typeof g.fetch === 'function') {
      if (!(g.fetch as unknown as Record<symbol, boolean>)[COMBINED]) {
        Object.defineProperty(g, 'fetch', { value: combinedFetch(g.fetch as AnyFn), writable: true, configurable: true, enumerable: false });
      }
      continue;
    }
    if (name in g) continue;
    if (name in CORE) Object.defineProperty(g, name, { value: CORE[name], writable: true, configurable: true, enumerable: false });
    else lazy.push(name);
  }
  // The first read of any lazy name loads the package and turns every lazy name into its value; an
  // assignment before that just defines the global (as for any other global).
  const resolveAll = (): void => {
    const api = thePackage();
    for (const n of lazy) {
      const d = Object.getOwnPropertyDescriptor(g, n);
      if (d !== undefined && d.get !== undefined) Object.defineProperty(g, n, { value: api[n], writable: true, configurable: true, enumerable: false });
    }
  };
  for (const name of lazy) {
    Object.defineProperty(g, name, {
      configurable: true,
      enumerable: false,
      get() {
        resolveAll();
        return g[name];
      },
      set(v: unknown) {
        Object.defineProperty(g, name, { value: v, writable: true, configurable: true, enumerable: false });
      },
    });
  }
}
