/**
 * Registers module loaders as their Node flags would at start (src/worker/deferred-loaders.ts decides
 * when): `--import x` imports x, `--require x` / `-r x` requires it, both resolved from the working
 * directory as Node resolves them. (Kept apart: the module pack leaves out modules that load
 * dynamically, and this one is needed only by workers that defer loaders.)
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

// Dynamic import that the CommonJS output of TypeScript leaves alone (it would turn it into `require`).
const dynamicImport = new Function('s', 'return import(s)') as (s: string) => Promise<unknown>;

/** @internal Applies `[flag, value]` pairs in order; rejects with the first failure, naming its flag. */
export async function registerLoaders(flags: ReadonlyArray<readonly [string, string]>): Promise<void> {
  const here = createRequire(path.join(process.cwd(), '[deferred loader]'));
  for (const [flag, value] of flags) {
    try {
      if (flag === '--import') await dynamicImport(importSpecifier(here, value));
      else here(value);
    } catch (e) {
      throw new Error(`${flag} ${value}: ${(e as Error).message}`);
    }
  }
}

/** What `--import value` imports: a URL as it is, a path or a package resolved from the working directory. */
function importSpecifier(here: NodeJS.Require, value: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(value) && !path.isAbsolute(value)) return value; // file:, node:, data:
  if (value.startsWith('.') || path.isAbsolute(value)) return pathToFileURL(path.resolve(value)).href;
  try {
    return pathToFileURL(here.resolve(value)).href;
  } catch {
    return value; // left to import(), whose error names it
  }
}
