/**
 * Module loaders a local worker registers on first need rather than at start (the master's side is
 * src/cluster/deferred-loaders.ts). A TypeScript driver runs under tsx; its workers used to get tsx's
 * flags and spend about 400 ms of CPU loading it before their first answer, though most never load a
 * TypeScript file (shipped functions arrive as the JavaScript tsx made of them on the driver). Such a
 * worker now starts without the flags, from the snapshot, and registers them as Node would have, in
 * order (`--import x` imports x, `--require x` requires it, both resolved from the working directory),
 * before the first frame that may load a module is handled: one that names `require`, `import`, a
 * module reference or a TypeScript file, in any string of it (or before `everywhere({ import })`). Until
 * they are registered, every frame that arrives waits behind that one, so messages still run in the
 * order they came.
 */
/** @internal The variable that carries the deferred flags from the master to a local worker (JSON). */
export const DEFERRED_LOADERS_VARIABLE = 'DISTRIBUTED_TS_DEFERRED_LOADERS';

/** Where this worker's deferred loaders are. */
export type DeferredLoadersState = 'none' | 'pending' | 'loading' | 'loaded' | 'failed';

let flags: Array<[string, string]> = [];
let state: DeferredLoadersState = 'none';
let loading: Promise<void> | undefined;

/**
 * @internal Takes the deferred flags from the environment (once, at worker start: read at run time, not
 * when the snapshot is built) and removes the variable, so processes this worker starts do not inherit it.
 */
export function takeDeferredLoaders(): void {
  const raw = process.env[DEFERRED_LOADERS_VARIABLE];
  delete process.env[DEFERRED_LOADERS_VARIABLE];
  if (raw === undefined || raw === '' || state !== 'none') return;
  const parsed = JSON.parse(raw) as unknown;
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((p) => Array.isArray(p) && p.length === 2 && p.every((s) => typeof s === 'string'))) {
    throw new TypeError(`${DEFERRED_LOADERS_VARIABLE} must be a JSON list of [flag, value] pairs, got ${raw.slice(0, 200)}`);
  }
  flags = parsed as Array<[string, string]>;
  state = 'pending';
}

/** @internal Where this worker's deferred loaders are ('pending': waiting for a need; 'loading': being registered). */
export function deferredLoadersState(): DeferredLoadersState {
  return state;
}

/** @internal This worker's deferred flags and where they are (for `stats()`). */
export function deferredLoaders(): { flags: string[]; state: DeferredLoadersState } {
  return { flags: flags.flat(), state };
}

/**
 * @internal Registers the deferred loaders, in order, as their flags would have at start; resolves when
 * done (at once when there are none). A loader that fails is reported on stderr, once: the modules it
 * would have loaded then fail with their own errors.
 */
export function loadDeferredLoaders(): Promise<void> {
  if (loading !== undefined) return loading;
  if (state !== 'pending') return Promise.resolve();
  state = 'loading';
  // A module of its own, loaded only now: the module pack leaves out modules that load dynamically.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { registerLoaders } = require('./register-loaders') as typeof import('./register-loaders');
  loading = registerLoaders(flags).then(
    () => {
      state = 'loaded';
      // As if given at start: threads and processes started from here on inherit them.
      for (const [flag, value] of flags) process.execArgv.push(flag, value);
    },
    (e: unknown) => {
      state = 'failed';
      process.stderr.write(`distributed-ts worker: the driver's loader failed to load here: ${(e as Error).message}\n`);
    },
  );
  return loading;
}

// What a frame that may load a module holds in one of its strings: `require`, `import`, a module
// reference, a TypeScript file. Strings travel as Latin-1 bytes, or as UTF-16 when they hold other
// characters: both forms are looked for, in the frame's bytes read as Latin-1 (one pass each).
const NARROW = /require|import|module:|\.[mc]?ts/;
const WIDE = /r\0e\0q\0u\0i\0r\0e|i\0m\0p\0o\0r\0t|m\0o\0d\0u\0l\0e\0:|\.\0(?:[mc]\0)?t\0s/;

/** @internal Whether a frame's inline bytes may make this worker load a module (a false positive only loads the loaders early). */
export function mayLoadModules(inline: Uint8Array): boolean {
  const text = Buffer.from(inline.buffer, inline.byteOffset, inline.byteLength).toString('latin1');
  return NARROW.test(text) || WIDE.test(text);
}
