/**
 * `import()` in code a process compiles from text: shipped functions and `everywhere`'s code. Node gives
 * a vm script no module loader unless asked, so `await import('node:os')` in a shipped function failed
 * on the worker with ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING. Such code is compiled with the main
 * context's own loader: specifiers resolve as from the working directory, as in a script run there.
 */
import * as vm from 'node:vm';

/** What vm's `importModuleDynamically` option takes. */
type ImportOption = vm.ScriptOptions['importModuleDynamically'];
/** Node's marker for "the main context's loader" (Node 20.12 and later; before, import() stays unsupported). */
const MAIN_LOADER = (vm as { constants?: { USE_MAIN_CONTEXT_DEFAULT_LOADER?: unknown } }).constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER as ImportOption;

let primed = false;

/**
 * @internal The vm options that give compiled code a working `import()` (none when this Node lacks the
 * loader marker). Loaded by functions.ts only for source that may call it.
 *
 * ```ts
 * vm.runInThisContext(code, { filename, ...importOptions() });
 * ```
 */
export function importOptions(): { importModuleDynamically?: ImportOption } {
  if (MAIN_LOADER === undefined) return {};
  if (!primed) prime();
  return { importModuleDynamically: MAIN_LOADER };
}

/**
 * Node warns once per process, at the first import() through the marker, that it is experimental. That
 * is this package's choice, not the user's code: the first such import() is made here, synchronously,
 * with that one warning held back; every other warning passes as usual.
 */
function prime(): void {
  primed = true;
  const emit = process.emitWarning;
  process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]): void {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (text.includes('USE_MAIN_CONTEXT_DEFAULT_LOADER')) return;
    (emit as (...a: unknown[]) => void).call(this, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    const loaded = vm.runInThisContext("import('node:path')", { filename: 'distributed-ts-import-primer.js', importModuleDynamically: MAIN_LOADER }) as Promise<unknown>;
    loaded.catch(() => undefined);
  } finally {
    process.emitWarning = emit;
  }
}
