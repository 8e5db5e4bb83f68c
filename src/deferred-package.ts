/**
 * A worker starts with only the modules that serve calls (its start-up should cost about one bare
 * `node` start, SPEC §6); the rest of the package loads the first time something needs it: a global
 * such as `pmap`, a function, type or message kind that only those modules define. On the master the
 * whole package is loaded from the start and nothing is deferred.
 */

let loadRest: (() => void) | undefined;

/** Defers loading the rest of the package to the first {@link loadDeferredPackage}. */
export function deferPackageLoad(load: () => void): void {
  loadRest = load;
}

/**
 * Loads the rest of the package if its load was deferred; false when there was nothing left to load
 * (the caller's miss is then a real one).
 */
export function loadDeferredPackage(): boolean {
  const load = loadRest;
  if (load === undefined) return false;
  loadRest = undefined;
  load();
  return true;
}
