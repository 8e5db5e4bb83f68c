/**
 * Inside processes the CLI starts (the master and its workers), `import … from 'distributed-ts'` means this
 * very copy of the package, whatever the script's directory holds: one process must have one cluster
 * runtime (a second copy would have its own process table and codec registry). CommonJS resolution is
 * hooked through `Module._resolveFilename` (as tsx does); ES modules through a `module.register` hook.
 */
import Module from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const NAME = 'distributed-ts';
const ENTRY = path.join(__dirname, '..', 'index.js');
let installedCjs = false;
let installedEsm = false;

type Resolve = (request: string, ...rest: unknown[]) => string;

const M = Module as unknown as { _resolveFilename: Resolve; register?: (url: string) => void };

/**
 * Makes `distributed-ts` resolve to this copy, for CommonJS, and for ES modules too unless `esm` is false
 * (the ES hook starts Node's loader thread: workers add it only when they first import an ES module).
 * Idempotent.
 */
export function installSelfResolution(esm = true): void {
  if (!installedCjs) {
    installedCjs = true;
    const original = M._resolveFilename;
    M._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
      if (request === NAME) return ENTRY;
      return original.call(this, request, ...rest);
    };
  }
  if (esm && !installedEsm && typeof M.register === 'function') {
    installedEsm = true;
    const url = JSON.stringify(pathToFileURL(ENTRY).href);
    const hooks = `export async function resolve(s, c, next) { return s === ${JSON.stringify(NAME)} ? { url: ${url}, shortCircuit: true } : next(s, c); }`;
    M.register(`data:text/javascript,${encodeURIComponent(hooks)}`);
  }
}
