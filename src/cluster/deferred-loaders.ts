/**
 * Which of a driver's module-loader flags a local worker may register on first need instead of at start
 * (the worker's side is src/worker/deferred-loaders.ts). A driver run under tsx (`node --import tsx
 * driver.ts`, or the CLI with a `.ts` script) gives its loader flags to local workers; loading tsx costs
 * a worker about 400 ms of CPU before its first answer, and keeps it from starting from the snapshot,
 * though most workers never load a TypeScript file. tsx's flags only make files loadable: registering
 * them late changes nothing else, so when every flag is tsx's, workers start without them and register
 * them before the first message that may load a module (its `require` hooks first, its ES-module hooks
 * only when an import needs them). Other loader flags (`--require ./setup.js`, an
 * instrumentation `--import`) may do anything at start, and keep being passed as they are.
 *
 * `DISTRIBUTED_TS_WORKER_LOADERS=eager` (in this process's environment or `addprocs`'s `env`) passes
 * tsx's flags at start too.
 */

/** The variable that chooses when workers register the driver's tsx flags: 'deferred' (default) or 'eager'. */
const WHEN_VARIABLE = 'DISTRIBUTED_TS_WORKER_LOADERS';
/** Flags whose value names a module to load at start. */
const MODULE_FLAGS = new Set(['--import', '--require', '-r']);
/** tsx by package name, or a file of its package (the CLI passes its loader as an absolute file URL). */
const TSX = /^(?:tsx(?:\/(?:esm|cjs))?|(?:file:\/\/)?(?:.*[\\/])?node_modules[\\/]tsx[\\/].+)$/;

/** Splits loader flags (`['--import', 'x']`, `['--import=x']`) into [flag, value] pairs; undefined for anything else. */
function pairs(flags: readonly string[]): Array<[string, string]> | undefined {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < flags.length; i++) {
    const a = flags[i];
    const eq = a.indexOf('=');
    if (eq > 0) out.push([a.slice(0, eq), a.slice(eq + 1)]);
    else if (i + 1 < flags.length) out.push([a, flags[++i]]);
    else return undefined;
  }
  return out;
}

/**
 * @internal The [flag, value] pairs a worker started with `flags` may register on first need: all of
 * them when every one loads tsx and `DISTRIBUTED_TS_WORKER_LOADERS` is not 'eager', else undefined (the
 * flags go on the command line). Throws on another value of the variable.
 *
 * ```ts
 * deferrableLoaderFlags(['--import', 'tsx']) // [['--import', 'tsx']]
 * deferrableLoaderFlags(['--require', './setup.js']) // undefined
 * ```
 */
export function deferrableLoaderFlags(flags: readonly string[], env: Record<string, string> | undefined = undefined): Array<[string, string]> | undefined {
  const when = env?.[WHEN_VARIABLE] ?? process.env[WHEN_VARIABLE];
  if (when !== undefined && when !== '' && when !== 'deferred' && when !== 'eager') {
    throw new RangeError(`${WHEN_VARIABLE} must be 'deferred' or 'eager', got ${JSON.stringify(when)}`);
  }
  if (when === 'eager' || flags.length === 0) return undefined;
  const p = pairs(flags);
  if (p === undefined || !p.every(([flag, value]) => MODULE_FLAGS.has(flag) && TSX.test(value))) return undefined;
  return p;
}
