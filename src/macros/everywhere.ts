/**
 * `everywhere`: run code, a function, or a module import on every process (Julia's `@everywhere`).
 *
 * A code string runs in each process's global scope, as a script: its top-level declarations become
 * globals (Julia's `Main`). `let`/`const` and `class` declarations are rewritten to `var` bindings first,
 * so that they are properties of `globalThis` (visible to later shipped code, to the caller's free-identifier
 * analysis, and re-definable by a later `everywhere`, as Julia's REPL allows), and declared classes are
 * registered with the codec under their name, so their instances travel. An import loads a module on the
 * caller first, then everywhere else; its function exports then travel as (module URL, export name) and its
 * class exports are registered under `<url>#<name>` (SPEC §3 rule 2).
 */
import * as path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import type * as acorn from 'acorn';
import { myid, procs as allProcs } from '../cluster/process-group';
import { CompositeException } from '../errors';
import { connectionTo, peerState } from '../messages/messaging';
import { invoke } from '../messages/process-messages';
import { asRemoteException } from '../remote/future';
import { remotecall_fetch } from '../remote/remotecall';
import { asTask, internally } from '../parallel/sync-scope';
import * as vm from 'node:vm';
import { loadDeferredLoaders, loadRequireLoaders } from '../worker/deferred-loaders';
import { dynamicImportOptions, ensureGlobalRequire, runInGlobalScope, sandboxedGlobals, setBeforeFirstCompile, registerInternalFunction, registerModuleExports, setModuleLoader } from '../serialization/functions';
import { registry } from '../serialization/wire-codec';
import { installWorkerGlobals } from '../worker/globals';
import { installSelfResolution } from '../cli/self-resolve';

/** Options of {@link everywhere}. */
export interface EverywhereOptions {
  /** The processes to run on (default: every process, the caller included). */
  procs?: readonly number[];
  /** Arguments for the function form (Julia's `$x` interpolation). */
  args?: readonly unknown[];
  /** A module specifier to import everywhere (relative paths are resolved against the caller's cwd). */
  import?: string;
}

/** What a code string declares at top level, and the code rewritten so its declarations are globals. */
interface PreparedCode {
  code: string;
  /** Every top-level declared name. */
  names: string[];
  /** Top-level class declarations, registered with the codec after the code ran. */
  classes: string[];
}

function declaredNames(pattern: acorn.Pattern, out: string[]): void {
  switch (pattern.type) {
    case 'Identifier':
      out.push(pattern.name);
      return;
    case 'ObjectPattern':
      for (const p of pattern.properties) declaredNames(p.type === 'RestElement' ? p.argument : p.value, out);
      return;
    case 'ArrayPattern':
      for (const e of pattern.elements) if (e !== null) declaredNames(e, out);
      return;
    case 'RestElement':
      declaredNames(pattern.argument, out);
      return;
    case 'AssignmentPattern':
      declaredNames(pattern.left, out);
      return;
    default:
      return;
  }
}

/** Parses `code` as a script and rewrites top-level `let`/`const`/`class` into `var` bindings. */
export function prepareCode(code: string): PreparedCode {
  let ast: acorn.Program;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ast = (require('acorn') as typeof acorn).parse(code, { ecmaVersion: 'latest', sourceType: 'script', allowAwaitOutsideFunction: false });
  } catch (e) {
    throw new SyntaxError(`everywhere: the code does not parse: ${(e as Error).message}`);
  }
  const edits: { at: number; del: number; text: string }[] = [];
  const names: string[] = [];
  const classes: string[] = [];
  for (const st of ast.body) {
    if (st.type === 'VariableDeclaration') {
      for (const d of st.declarations) declaredNames(d.id, names);
      if (st.kind !== 'var') edits.push({ at: st.start, del: st.kind.length, text: 'var' });
    } else if (st.type === 'FunctionDeclaration' && st.id) {
      names.push(st.id.name);
    } else if (st.type === 'ClassDeclaration' && st.id) {
      names.push(st.id.name);
      classes.push(st.id.name);
      edits.push({ at: st.end, del: 0, text: ';' });
      edits.push({ at: st.start, del: 0, text: `var ${st.id.name} = ` });
    }
  }
  edits.sort((a, b) => b.at - a.at);
  let out = code;
  for (const e of edits) out = out.slice(0, e.at) + e.text + out.slice(e.at + e.del);
  return { code: out, names, classes };
}

/** Code already prepared or compiled here, by its text: re-running the same code costs no parse. */
const prepared = new Map<string, PreparedCode>();
const scripts = new Map<string, vm.Script>();
const CACHE_MAX = 1000;

function cached<V>(map: Map<string, V>, key: string, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    if (map.size >= CACHE_MAX) map.clear();
    map.set(key, v);
  }
  return v;
}

let scriptCount = 0;

/**
 * Runs prepared code in this process's global scope and registers the classes it declared. The package's
 * exports are in scope there on every process, the master included (SPEC §3a), as Julia's Main has
 * `Distributed` loaded.
 */
let packageInScope = false;

/** Puts the package's exports in this process's global scope once (workers have them from the start). */
function ensurePackageInScope(): void {
  if (packageInScope) return;
  installWorkerGlobals();
  packageInScope = true;
}
setBeforeFirstCompile(ensurePackageInScope);

/**
 * Words without which code can declare nothing (no `var`, function or class, no `eval` to declare for
 * it, no `arguments` to tell a function from a script): such code runs the same as a function body.
 */
const DECLARES = /\b(?:var|let|const|function|class|eval|arguments|import|export)\b/;
/** Declaration-free code compiled as a function (null: it must run as a script), by its text. */
const bodies = new Map<string, Function | null>();

/** Code that may call `require` (a word test: a false positive only defines the global early). */
const MAY_REQUIRE = /\brequire\b/;

function runCode(code: string, classes: string[]): void {
  ensurePackageInScope();
  if (MAY_REQUIRE.test(code)) ensureGlobalRequire();
  if (sandboxedGlobals()) {
    runInGlobalScope(code, { filename: `everywhere-${++scriptCount}.js` });
  } else {
    // Compiled as a script first, so what is not a valid script fails the same way it always did.
    const script = cached(scripts, code, () => new vm.Script(code, { filename: `everywhere-${++scriptCount}.js`, ...dynamicImportOptions(code) }));
    // A script run builds a new top-level function each time; code that declares nothing is run as a
    // function compiled once instead (called with the global object as `this`, as a script sees it).
    const body = cached(bodies, code, () => (classes.length === 0 && !DECLARES.test(code) ? vm.compileFunction(code, [], { filename: `everywhere-${scriptCount}.js` }) : null));
    if (body !== null) body.call(globalThis);
    else script.runInThisContext();
  }
  const g = globalThis as Record<string, unknown>;
  for (const name of classes) {
    const cls = g[name];
    if (typeof cls === 'function') registry.registerClass(cls as new () => object, { name });
  }
}

/** A module specifier as every process names it: a file URL for paths, the bare name otherwise. */
function moduleId(spec: string): string {
  if (spec.startsWith('file:')) return spec;
  if (spec.startsWith('.') || path.isAbsolute(spec)) return pathToFileURL(path.resolve(spec)).href;
  return spec;
}

// Dynamic import that the CommonJS output of TypeScript leaves alone (it would turn `import()` into `require`).
const dynamicImport = new Function('s', 'return import(s)') as (s: string) => Promise<Record<string, unknown>>;

function requireTarget(id: string): string {
  return id.startsWith('file:') ? fileURLToPath(id) : require.resolve(id, { paths: [process.cwd()] });
}

/** Indexes a loaded module's exports: functions travel by (URL, name), classes are registered. */
function indexModule(id: string, exports: Record<string, unknown>): void {
  for (const cls of registerModuleExports(id, exports)) {
    const proto = (cls as { prototype?: unknown }).prototype;
    if (proto !== null && typeof proto === 'object' && !registry.classByProto.has(proto)) {
      const exportName = Object.keys(exports).find((k) => exports[k] === cls) ?? cls.name;
      registry.registerClass(cls as new () => object, { name: `${id}#${exportName}` });
    }
  }
}

/** Loads a module here (CommonJS synchronously, ES modules by import) and indexes its exports. */
async function importHere(id: string): Promise<void> {
  loadRequireLoaders(); // what require needs of the driver's loaders (tsx), on a worker that deferred them
  let exports: Record<string, unknown>;
  try {
    exports = require(requireTarget(id)) as Record<string, unknown>;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_REQUIRE_ASYNC_MODULE') throw e;
    await loadDeferredLoaders(); // and, for an ES module, the rest
    if (process.env.DISTRIBUTED_TS_WORKER === '1') installSelfResolution();
    exports = await dynamicImport(id);
  }
  indexModule(id, exports);
}

registerInternalFunction('everywhere.runCode', runCode);
registerInternalFunction('everywhere.importHere', importHere);
setModuleLoader((id) => {
  try {
    indexModule(id, require(requireTarget(id)) as Record<string, unknown>);
  } catch (e) {
    throw new Error(`cannot load module ${id} on process ${myid()} (${(e as Error).message}); load it on every process with everywhere({ import })`);
  }
});

function runHere(f: Function, args: readonly unknown[]): Promise<void> {
  return new Promise((resolve, reject) => invoke(f, [...args], (value, isError) => (isError ? reject(value) : resolve())));
}

/** Runs `f(...args)` on each of `pids` in parallel; failures are gathered into one CompositeException. */
async function onEach(pids: readonly number[], f: Function, args: readonly unknown[]): Promise<void> {
  const me = myid();
  // Each failure lands in its process's slot (not Promise.allSettled: its result records are built
  // property by property through the runtime, the largest cost of a small everywhere per process).
  let failures: unknown[] | undefined;
  const runs: Promise<unknown>[] = new Array(pids.length);
  for (let i = 0; i < pids.length; i++) {
    const pid = pids[i];
    // Internal calls: inside sync() the everywhere is the task, its failures gathered once, below.
    const run = pid === me ? runHere(f, args) : internally(() => remotecall_fetch(f as (...a: unknown[]) => unknown, pid, ...args));
    runs[i] = run.then(undefined, (e: unknown) => {
      (failures ??= new Array(pids.length))[i] = asRemoteException(pid, e);
    });
  }
  await Promise.all(runs);
  if (failures !== undefined) throw new CompositeException(failures.filter((x) => x !== undefined));
}

function checkProcs(procs: readonly number[] | undefined): readonly number[] {
  if (procs === undefined) return allProcs();
  if (!Array.isArray(procs) || procs.some((p) => !Number.isInteger(p) || p < 1)) {
    throw new TypeError(`everywhere: procs must be an array of process ids, got ${JSON.stringify(procs)}`);
  }
  return [...new Set(procs)];
}

/**
 * Runs code on every process (or on `procs`), in parallel, and resolves to `undefined` once all are done
 * (Julia's `@everywhere`). A code string runs in each process's global scope, so its declarations become
 * globals there, and may call `require` (resolved from the working directory; a global scope without
 * one gets one); a function runs with `args`; `{ import: specifier }` loads a module on the caller first
 * and then everywhere else, so its exports travel by reference. Failures are gathered into a
 * `CompositeException` holding one `RemoteException` per failed process. Inside `sync`, the everywhere
 * is one task the block waits for, its part on this process included.
 *
 * ```ts
 * await everywhere('function rand2(...dims) { return dims.map(() => 2 * Math.random()) }');
 * await fetchfrom(':any', () => rand2(2, 2));
 * await everywhere('var os = require("node:os")');
 * await everywhere((n: number) => { globalThis.n = n }, { args: [10] });
 * await everywhere({ import: './DummyModule' });
 * ```
 */
export function everywhere(
  code: string | ((...args: never[]) => unknown) | { import: string; procs?: readonly number[] },
  options: EverywhereOptions = {},
): Promise<void> {
  return asTask(() => runEverywhere(code, options));
}

async function runEverywhere(
  code: string | ((...args: never[]) => unknown) | { import: string; procs?: readonly number[] },
  options: EverywhereOptions,
): Promise<void> {
  const opts: EverywhereOptions = typeof code === 'object' && code !== null ? { ...code, ...options } : options;
  const pids = checkProcs(opts.procs);
  const me = myid();
  if (typeof code === 'string') {
    const prep = cached(prepared, code, () => prepareCode(code));
    await onEach(pids, runCode, [prep.code, prep.classes]);
    // Every target now holds the caller's definitions: shipped code using them need not carry them.
    if (pids.includes(me)) {
      const g = globalThis as Record<string, unknown>;
      for (const pid of pids) {
        if (pid === me) continue;
        const sent = peerState(connectionTo(pid)).sentGlobals;
        for (const name of prep.names) if (typeof g[name] !== 'function') sent.set(name, g[name]);
      }
    }
    return;
  }
  if (typeof code === 'function') {
    await onEach(pids, code, opts.args ?? []);
    return;
  }
  if (code === null || typeof code !== 'object' || typeof opts.import !== 'string' || opts.import === '') {
    throw new TypeError('everywhere: expected a code string, a function, or { import: specifier }');
  }
  const id = moduleId(opts.import);
  await onEach([me], importHere, [id]); // the caller first, even when not in procs: its exports must be known here to travel
  await onEach(
    pids.filter((p) => p !== me),
    importHere,
    [id],
  );
}
