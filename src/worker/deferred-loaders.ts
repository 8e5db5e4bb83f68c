/**
 * Module loaders a local worker registers on first need rather than at start (the master's side is
 * src/cluster/deferred-loaders.ts). A TypeScript driver runs under tsx; its workers used to get tsx's
 * flags and spend about 400 ms of CPU loading it before their first answer, though most never load a
 * TypeScript file (shipped functions arrive as the JavaScript tsx made of them on the driver). Such a
 * worker now starts without the flags, from the snapshot, and registers them as Node would have, in
 * order (`--import x` imports x, `--require x` requires it, both resolved from the working directory),
 * in two stages. What `require` needs (tsx's CommonJS hooks) is registered, synchronously, before the
 * first frame that names `require`, a module reference or a TypeScript file in one of its strings is
 * handled, and before `everywhere({ import })`. The rest (tsx's ES-module hooks, which cost most) before
 * the first frame that holds a dynamic import, when an ES module needs them, or as a module that imports
 * dynamically is loaded: until it is registered, every frame that arrives waits behind, so messages are
 * still handled in the order they came.
 */
/** @internal The variable that carries the deferred flags from the master to a local worker (JSON). */
export const DEFERRED_LOADERS_VARIABLE = 'DISTRIBUTED_TS_DEFERRED_LOADERS';

/**
 * Where this worker's deferred loaders are: 'none' (nothing deferred), 'pending', 'require' (what
 * `require` needs is registered, what `import` needs is not yet), 'loading' (the rest is being
 * registered), 'loaded', or 'failed'.
 */
export type DeferredLoadersState = 'none' | 'pending' | 'require' | 'loading' | 'loaded' | 'failed';

/** The flags as given, and in the two stages they are registered in. */
let flags: Array<[string, string]> = [];
let requireStage: Array<[string, string]> = [];
let importStage: Array<[string, string]> = [];
let state: DeferredLoadersState = 'none';
let loading: Promise<void> | undefined;
/** Ends the watch for modules that import dynamically (set while only require's half is registered). */
let stopWatch: (() => void) | undefined;

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

/**
 * @internal Whether a frame must wait for the deferred loaders (then hold it and those after it back
 * until `loadDeferredLoaders` resolves): while they load, and before a frame that may import. Before a
 * frame that may only require, what require needs is registered here, at once. One state check for a
 * worker with nothing deferred.
 */
export function frameWaitsForLoaders(inline: Uint8Array): boolean {
  if (state === 'none' || state === 'loaded' || state === 'failed') return false;
  if (state === 'loading') return true;
  const need = loadersNeeded(inline);
  if (need === 'require') loadRequireLoaders();
  return need === 'import';
}

/** @internal This worker's deferred flags and where they are (for `stats()`). */
export function deferredLoaders(): { flags: string[]; state: DeferredLoadersState } {
  return { flags: flags.flat(), state };
}

/** The module that registers loaders: loaded only when needed (the module pack leaves out modules that load dynamically). */
function registrar(): typeof import('./register-loaders') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./register-loaders') as typeof import('./register-loaders');
}

function failed(e: unknown): void {
  state = 'failed';
  process.stderr.write(`distributed-ts worker: the driver's loader failed to load here: ${(e as Error).message}\n`);
}

/**
 * @internal Registers, synchronously, what `require` needs of the deferred loaders (for tsx, its
 * CommonJS hooks: tsx/cjs, about 30 ms, where all of tsx with its ES-module hooks thread costs about
 * 200 ms more). What `import` needs waits for `loadDeferredLoaders`.
 */
export function loadRequireLoaders(): void {
  if (state !== 'pending') return;
  const r = registrar();
  try {
    [requireStage, importStage] = r.splitStages(flags);
    r.registerRequireStage(requireStage);
  } catch (e) {
    failed(e);
    return;
  }
  // As if given at start: threads and processes started from here on inherit them.
  for (const [flag, value] of requireStage) process.execArgv.push(flag, value);
  state = importStage.length === 0 ? 'loaded' : 'require';
  // A module loaded from now on that imports dynamically will need the rest: registered as it loads,
  // and frames wait for it meanwhile (what its functions import is then loadable when they are called).
  if (state === 'require') stopWatch = r.watchCompiles((content) => void (IMPORT.test(content) && loadDeferredLoaders()));
}

/**
 * @internal Registers all the deferred loaders, as their flags would have at start; resolves when done
 * (at once when there are none). A loader that fails is reported on stderr, once: the modules it would
 * have loaded then fail with their own errors.
 */
export function loadDeferredLoaders(): Promise<void> {
  if (loading !== undefined) return loading;
  loadRequireLoaders();
  if (state !== 'require') return Promise.resolve();
  state = 'loading';
  stopWatch?.();
  loading = registrar()
    .registerImportStage(importStage)
    .then(() => {
      state = 'loaded';
      for (const [flag, value] of importStage) process.execArgv.push(flag, value);
    }, failed);
  return loading;
}

// What a frame that may load a module holds in one of its strings. Strings travel as Latin-1 bytes, or
// as UTF-16 when they hold other characters: both forms are looked for, in the frame's bytes read as
// Latin-1 (one pass each). A dynamic import needs all the loaders; `require`, a module reference (loaded
// with require) or a TypeScript file need what require needs.
const SCAN_MAX_BYTES = 256 * 1024;
const IMPORT = /import\s*\(/;
const IMPORT_WIDE = /i\0m\0p\0o\0r\0t\0(?:\s\0)*\(\0/;
const REQUIRE = /require|module:|\.[mc]?ts/;
const REQUIRE_WIDE = /r\0e\0q\0u\0i\0r\0e|m\0o\0d\0u\0l\0e\0:|\.\0(?:[mc]\0)?t\0s/;

/**
 * @internal What of the deferred loaders a frame may need, from its inline bytes: 'import' (all of
 * them), 'require', or 'none'; 'import' for any frame over 256 KiB. (A false positive only registers
 * loaders early.)
 */
export function loadersNeeded(inline: Uint8Array): 'import' | 'require' | 'none' {
  // A large frame is not read through (that would cost it about as much as decoding it, again for each
  // one while the loaders wait): the loaders are registered instead, once.
  if (inline.byteLength > SCAN_MAX_BYTES) return 'import';
  const text = Buffer.from(inline.buffer, inline.byteOffset, inline.byteLength).toString('latin1');
  if (IMPORT.test(text) || IMPORT_WIDE.test(text)) return 'import';
  return REQUIRE.test(text) || REQUIRE_WIDE.test(text) ? 'require' : 'none';
}
