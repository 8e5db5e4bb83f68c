/**
 * Registers module loaders as their Node flags would at start (src/worker/deferred-loaders.ts decides
 * when): `--require x` / `-r x` requires x, `--import x` imports it, both resolved from the working
 * directory as Node resolves them. tsx's own entry (`--import tsx`) is taken as its two halves, which is
 * what that entry loads: `tsx/cjs` (the `require` hooks) with the other `--require` flags, `tsx/esm`
 * (the ES-module hooks, and their thread) with the other `--import` flags. (Kept apart: the module pack
 * leaves out modules that load dynamically, and this one is needed only by workers that defer loaders.)
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

type Flag = [string, string];

// Dynamic import that the CommonJS output of TypeScript leaves alone (it would turn it into `require`).
const dynamicImport = new Function('s', 'return import(s)') as (s: string) => Promise<unknown>;

/** Node's `require` as from the working directory. */
function here(): NodeJS.Require {
  return createRequire(path.join(process.cwd(), '[deferred loader]'));
}

/** The file a flag's value names, or undefined when it cannot be resolved here. */
function fileOf(value: string): string | undefined {
  try {
    if (value.startsWith('file:')) return fileURLToPath(value);
    if (value.startsWith('.') || path.isAbsolute(value)) return path.resolve(value);
    return here().resolve(value);
  } catch {
    return undefined;
  }
}

/** tsx's main entry (what `--import tsx` loads): its package directory. */
const TSX_MAIN = /^(.*[\\/]node_modules[\\/]tsx)[\\/]dist[\\/]loader\.mjs$/;

/**
 * @internal The flags split into what `require` needs, registered first, and the rest, in their order,
 * each `--import` resolved to a file URL as Node resolves it; throws for one that names nothing here.
 *
 * ```ts
 * splitStages([['--import', 'tsx']]) // [[['--require', '…/tsx/dist/cjs/index.cjs']], [['--import', 'file:///…/tsx/dist/esm/index.mjs']]]
 * ```
 */
export function splitStages(flags: ReadonlyArray<readonly [string, string]>): [Flag[], Flag[]] {
  const requireStage: Flag[] = [];
  const importStage: Flag[] = [];
  for (const [flag, value] of flags) {
    if (flag !== '--import') {
      requireStage.push([flag, value]);
      continue;
    }
    const file = fileOf(value);
    // As Node would have refused to start with it.
    if (file === undefined) throw new Error(`${flag} ${value}: cannot be found from ${process.cwd()}`);
    const main = TSX_MAIN.exec(file);
    if (main === null) {
      importStage.push([flag, pathToFileURL(file).href]);
      continue;
    }
    const own = createRequire(path.join(main[1], 'package.json'));
    requireStage.push(['--require', own.resolve('tsx/cjs')]);
    importStage.push(['--import', pathToFileURL(own.resolve('tsx/esm')).href]);
  }
  return [requireStage, importStage];
}

/** @internal Requires each of the `require` stage's modules, in order; throws the first failure, naming its flag. */
export function registerRequireStage(stage: readonly Flag[]): void {
  const req = here();
  for (const [flag, value] of stage) {
    try {
      req(value);
    } catch (e) {
      throw new Error(`${flag} ${value}: ${(e as Error).message}`);
    }
  }
}

/**
 * @internal Calls `seen(content)` for each module Node compiles (before it runs; not this package's own)
 * until the returned function is called, so that a module loaded through the `require` hooks that will
 * itself import dynamically can have the `import` hooks registered first.
 */
export function watchCompiles(seen: (content: string) => void): () => void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const M = require('node:module') as { prototype: { _compile(this: unknown, content: string, filename: string): unknown } };
  const original = M.prototype._compile;
  let watching = true;
  const watched = function (this: unknown, content: string, filename: string): unknown {
    if (watching && !filename.startsWith(OWN)) seen(content); // this package's own modules import only what it needs
    return original.call(this, content, filename);
  };
  M.prototype._compile = watched;
  // Put back only if nothing wrapped it since; otherwise stay in place, idle.
  return () => {
    watching = false;
    if (M.prototype._compile === watched) M.prototype._compile = original;
  };
}

/** This package's compiled modules (dist/), which the watch leaves out. */
const OWN = path.join(__dirname, '..', '..') + path.sep;

/** @internal Imports each of the `import` stage's modules (file URLs, from `splitStages`), in order; rejects with the first failure, naming its flag. */
export async function registerImportStage(stage: readonly Flag[]): Promise<void> {
  for (const [flag, value] of stage) {
    try {
      await dynamicImport(value);
    } catch (e) {
      throw new Error(`${flag} ${value}: ${(e as Error).message}`);
    }
  }
}
