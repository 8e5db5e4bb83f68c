/**
 * How functions travel (SPEC §3), in order of preference:
 * 1. a global function (`globalThis[fn.name] === fn`) travels by name: the target uses its own;
 * 2. a built-in (`Math.sqrt`, `JSON.parse`, …), one of this package's exports, or an export of a module
 *    loaded with `everywhere({ import })` / `-L` travels by its path (`module:<url>#<name>`);
 * 3. any other function travels as source text, sent once per peer and cached by content hash there.
 *
 * Shipped source is analysed once (acorn + eslint-scope, cached by content hash) for its free
 * identifiers. On each call, those that are data globals on the caller travel with the call and become
 * globals on the target, sent again only when the global was rebound (identity, or value for primitives)
 * since the last send on that connection: a mutation in place is not seen, so rebind the global or
 * `clear` it to have it sent again. Global functions travel by name only (the target must have its own).
 * A free identifier used only as `X.name`, and not a global here, is a compiler's import binding
 * (TypeScript's `(0, distributed_ts_1.myid)()`, esbuild's `import_DummyModule.MyType`): when every name is
 * an export of this package the target binds `X` to its own copy of the package; when they are all
 * exports of exactly one module loaded with `everywhere({ import })` / `-L`, to that module (imported on
 * first use). Compiler helpers (esbuild's `__name`) and `require` are bound to the target's equivalents.
 * Any other free identifier is a captured local variable when the inspector finds it in the function's closure (closure-capture.ts:
 * its current value travels with each call, again only after a change, and the target binds it around
 * its copy of the function, as Julia ships closures); otherwise it is looked up in the target's global
 * scope, and a miss fails with a ReferenceError that names it and says how to fix it (Julia's UndefVarError).
 */
import * as vm from 'node:vm';
import type { FunctionCodec, ValueReader, ValueWriter } from './registry';
import type { SourceAnalysis } from './free-identifiers';
import { readCaptures } from './closure-capture';
import { loadDeferredPackage } from '../deferred-package';
import { PACKAGE_EXPORT_NAMES } from '../worker/package-names';

/** The parser is loaded on first analysis: most workers never ship source, and start faster without it. */
let analyser: ((source: string) => SourceAnalysis) | undefined;
function analyseFunctionSource(source: string): SourceAnalysis {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  analyser ??= (require('./free-identifiers') as typeof import('./free-identifiers')).analyseFunctionSource;
  return analyser(source);
}

/** Per-connection memory of what has been sent: functions by hash, data globals by name. */
export interface PeerCodecState {
  /** Function sources sent on this connection: hash → the id later references use. */
  readonly sentFunctions: Map<string, number>;
  /** The id the next source sent on this connection gets (never reused, even if its frame is not sent). */
  nextFunctionId: number;
  /** Function sources received on this connection, by the id the sender gave them. */
  readonly receivedFunctions: Array<{ hash: string; fn: Function } | undefined>;
  /** The value of each data global as last sent on this connection. */
  readonly sentGlobals: Map<string, unknown>;
  /** Captured variables as last sent on this connection, by `<function hash>:<name>`. */
  readonly sentCaptures: Map<string, unknown>;
  /** Captured variables as last received on this connection, by `<function hash>:<name>`. */
  readonly receivedCaptures: Map<string, unknown>;
  /** Undo actions for what the frame being encoded marked as sent: run if that frame is never sent. */
  readonly journal: (() => void)[];
  /** What shipping sent on this connection (for tests and `stats()`). */
  readonly counters: ShippingCounters;
}

/** How much code and global data one connection has carried. */
export interface ShippingCounters {
  /** Function sources sent (each distinct source once per connection). */
  functionSources: number;
  /** Data global values sent with calls. */
  globalValues: number;
  /** Captured local variables sent with calls (read through the inspector). */
  capturedValues: number;
}

/** A fresh per-peer state. */
export function newPeerCodecState(): PeerCodecState {
  return {
    sentFunctions: new Map(),
    nextFunctionId: 1,
    receivedFunctions: [],
    sentGlobals: new Map(),
    sentCaptures: new Map(),
    receivedCaptures: new Map(),
    journal: [],
    counters: { functionSources: 0, globalValues: 0, capturedValues: 0 },
  };
}

/** The frame being encoded was not sent: forget what it marked as sent. */
export function rollbackPeerState(s: PeerCodecState): void {
  for (let i = s.journal.length - 1; i >= 0; i--) s.journal[i]();
  s.journal.length = 0;
}

/** Forgets that the globals `names` were sent on this connection, so the next call sends them again. */
export function forgetSentGlobals(s: PeerCodecState, names: readonly string[]): void {
  for (const n of names) s.sentGlobals.delete(n);
}

const enum How {
  Global = 0,
  Path = 1,
  Source = 2,
  SourceRef = 3,
}

/** Functions reachable by a fixed path, both ways. */
const pathOf = new Map<Function, string>();
const byPath = new Map<string, Function>();

function addPath(path: string, fn: unknown): void {
  if (typeof fn !== 'function' || pathOf.has(fn)) return;
  pathOf.set(fn, path);
  byPath.set(path, fn);
}

const NAMESPACES = ['Math', 'JSON', 'Reflect', 'Atomics', 'Object', 'Array', 'Number', 'String', 'Promise', 'Date', 'BigInt', 'Symbol', 'ArrayBuffer', 'Intl'];
function indexBuiltins(): void {
  // Data properties only: Node defines some globals (fetch, WebSocket, …) as lazy getters whose first
  // read loads a whole module (undici); a function behind one still travels by its global name.
  for (const name of Object.getOwnPropertyNames(globalThis)) {
    const v = Object.getOwnPropertyDescriptor(globalThis, name)?.value;
    if (typeof v === 'function') addPath(name, v);
  }
  for (const ns of NAMESPACES) {
    const obj = (globalThis as Record<string, unknown>)[ns] as Record<string, unknown> | undefined;
    if (obj == null) continue;
    for (const key of Object.getOwnPropertyNames(obj)) {
      if (key === 'prototype' || key === 'caller' || key === 'arguments' || key === 'constructor') continue;
      let v: unknown;
      try {
        v = obj[key];
      } catch {
        continue;
      }
      addPath(`${ns}.${key}`, v);
    }
  }
}
indexBuiltins();

/** The path prefix of a method of `process` (`process.cpuUsage` travels as `process.cpuUsage`). */
const PROCESS_PATH = 'process.';
/** This process's `process[name]`, when it is a function of its own. */
function processMethod(name: string): Function | undefined {
  const v = Object.getOwnPropertyDescriptor(process, name)?.value;
  return typeof v === 'function' ? v : undefined;
}

/** This package's exports (bound to TypeScript's import aliases inside shipped code), and their names. */
let packageExports: Record<string, unknown> | undefined;
/** Known before the package loads (a worker loads it on first use), so `dts.name` is seen as the package. */
const packageExportNames = new Set<string>(PACKAGE_EXPORT_NAMES);

/** The package's exports on this process (loading the rest of the package on a worker that deferred it). */
function thePackage(): Record<string, unknown> {
  if (packageExports === undefined) loadDeferredPackage();
  if (packageExports === undefined) throw new Error('distributed-ts: the package is not loaded on this process');
  return packageExports;
}

/**
 * Makes this package's exported functions travel by name (`distributed-ts:myid`), so
 * `remotecall_fetch(myid, 2)` runs the worker's own `myid`.
 */
export function registerPackageExports(exports: Record<string, unknown>): void {
  packageExports = exports;
  for (const [name, v] of Object.entries(exports)) {
    packageExportNames.add(name);
    if (typeof v === 'function' && !pathOf.has(v)) addPath(`distributed-ts:${name}`, v);
  }
}

/**
 * Registers the paths of package functions whose modules are loaded before the package itself (the
 * cluster's identity functions on a worker): `remotecall_fetch(myid, w)` needs no further loading there.
 */
export function registerCorePackageFunctions(fns: Record<string, Function>): void {
  for (const [name, fn] of Object.entries(fns)) addPath(`distributed-ts:${name}`, fn);
}

/**
 * Makes one of this package's internal functions travel by name (`distributed-ts-internal:<name>`): every
 * process registers it when it loads the module that defines it.
 */
export function registerInternalFunction(name: string, fn: Function): void {
  addPath(`distributed-ts-internal:${name}`, fn);
}

/** The path a module's export travels under: the same string on every process. */
function modulePath(url: string, name: string): string {
  return `module:${url}#${name}`;
}

/**
 * Makes the function exports of the module at `url` travel as (module URL, export name) (SPEC §3 rule 2).
 * Returns the class exports, which the caller registers with the codec.
 */
export function registerModuleExports(url: string, exports: Record<string, unknown>): Function[] {
  const classes: Function[] = [];
  if (!moduleExports.has(url)) {
    moduleExports.set(url, exports);
    moduleExportNames.set(url, new Set(Object.keys(exports)));
    analysisEpoch++; // an import binding seen before may now resolve to this module
  }
  for (const name of Object.keys(exports)) {
    let v: unknown;
    try {
      v = exports[name];
    } catch {
      continue;
    }
    if (typeof v !== 'function') continue;
    addPath(modulePath(url, name), v);
    if (/^class\b/.test(Function.prototype.toString.call(v))) classes.push(v);
  }
  return classes;
}

/** Modules loaded with everywhere({ import }) / -L on this process: their exports, by module id. */
const moduleExports = new Map<string, Record<string, unknown>>();
const moduleExportNames = new Map<string, Set<string>>();
/** Bumped whenever a module is loaded: cached analyses made before re-resolve their import bindings. */
let analysisEpoch = 0;

/**
 * Names bound on the target to its own equivalents, each made when first bound there: the helpers
 * compilers insert into function bodies (esbuild's, and so tsx's, `keepNames` wraps named functions in
 * `__name(fn, "name")`), and a CommonJS module's `require`, which resolves there as from the working
 * directory, as a dynamic import in shipped code does (the caller's own `require` cannot travel: it closes
 * over its module).
 */
const HELPERS: Record<string, () => unknown> = {
  __name: () => (target: object, value: string) => Object.defineProperty(target, 'name', { value, configurable: true }),
  require: () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createRequire } = require('node:module') as typeof import('node:module');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { join } = require('node:path') as typeof import('node:path');
    return createRequire(join(process.cwd(), '[shipped function]'));
  },
};
const HELPER_BINDING = '#helper';
const PACKAGE_BINDING = '';

/** Loads a module the caller said holds a function, when this process has not loaded it yet. */
let loadModuleSync: (url: string) => void = (url) => {
  // The loader is the package's (everywhere.ts): on a worker that deferred the package, load it first.
  if (loadDeferredPackage()) return loadModuleSync(url);
  throw new Error('no module loader installed');
};

/** Runs before this process compiles shipped source for the first time (puts the package's exports in scope). */
let beforeFirstCompile: (() => void) | undefined;

/** Installs what runs before the first compile of shipped source on this process (everywhere.ts). */
export function setBeforeFirstCompile(f: () => void): void {
  beforeFirstCompile = f;
}

/** Installs how a process loads a module synchronously on first use of one of its exports (everywhere.ts). */
export function setModuleLoader(load: (url: string) => void): void {
  loadModuleSync = load;
}

/** Names that were globals before any user code ran (Node's and the host's): never shipped as data. */
const baselineGlobals = new Set<string>(Object.getOwnPropertyNames(globalThis));

interface Shipped {
  /** Content hash of the source and its bindings: what the target caches the compiled function by. */
  hash: string;
  source: string;
  /** Free identifiers that may be caller globals, checked on every send. */
  globals: readonly string[];
  /**
   * Free identifiers bound on the target, as (name, binding) pairs: binding '' is this package's exports
   * (TypeScript's import alias), '#helper' a compiler helper, anything else the id of a loaded module.
   */
  aliases: readonly string[];
  epoch: number;
}
const shippedCache = new WeakMap<Function, Shipped>();
/** Analyses by source text, so a fresh closure with known source costs a lookup, not a parse. */
const bySource = new Map<string, Shipped>();
const BY_SOURCE_MAX = 10_000;
const compiled = new Map<string, Function>();

function shippable(fn: Function): Shipped {
  let s = shippedCache.get(fn);
  if (s !== undefined && s.epoch === analysisEpoch) return s;
  const source = Function.prototype.toString.call(fn);
  s = bySource.get(source);
  if (s === undefined || s.epoch !== analysisEpoch) {
    s = analyse(fn, source);
    if (bySource.size >= BY_SOURCE_MAX) bySource.clear();
    bySource.set(source, s);
  }
  shippedCache.set(fn, s);
  return s;
}

function analyse(fn: Function, source: string): Shipped {
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    throw new TypeError(
      `a native or bound function${fn.name ? ` (${fn.name})` : ''} that is not reachable by a global path; pass a global function or an arrow function`,
    );
  }
  if (/^class\b/.test(source)) throw new TypeError(`a class (${fn.name}) is not a callable function`);
  let analysis;
  try {
    analysis = analyseFunctionSource(source);
  } catch (e) {
    throw new TypeError(`the source of ${fn.name || 'a function'} cannot be parsed: ${(e as Error).message}`);
  }
  const g = globalThis as Record<string, unknown>;
  const globals: string[] = [];
  const aliases: string[] = [];
  for (const name of analysis.free) {
    const own = Object.prototype.hasOwnProperty.call(g, name);
    // A global `require` (`node -e`, the REPL) is bound on the target too.
    const helper = name in HELPERS && (!own || name === 'require');
    if (baselineGlobals.has(name) && !helper) continue;
    const props = analysis.memberOnly.get(name);
    const binding = helper ? HELPER_BINDING : own || props === undefined || !COMPILER_BINDING.test(name) ? undefined : importBinding(props);
    if (binding !== undefined) aliases.push(name, binding);
    else globals.push(name);
  }
  // node:crypto is loaded on the first function sent as source, not at start-up (workers rarely need it).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  const hash = createHash('sha1').update(source).update('\0').update(aliases.join('\0')).digest('base64');
  return { hash, source, globals, aliases, epoch: analysisEpoch };
}

/**
 * The names compilers give import bindings: TypeScript's CommonJS output `<module>_<n>` (`distributed_ts_1`,
 * `index_1`), esbuild's `import_<module>`. Only these are taken for import bindings: a local variable used
 * only through members named like package exports (`rc.put(1)` on a captured RemoteChannel) is not one.
 */
const COMPILER_BINDING = /^(?:import_[\w$]+|[\w$]+_\d+)$/;

/**
 * What an identifier used only as `X.a`, `X.b` is bound to: this package when a, b are its exports,
 * else the one loaded module that exports them all (`import_DummyModule.MyType`), else nothing.
 */
function importBinding(props: ReadonlySet<string>): string | undefined {
  const names = [...props];
  if (names.every((p) => packageExportNames.has(p))) return PACKAGE_BINDING;
  let found: string | undefined;
  for (const [id, exported] of moduleExportNames) {
    if (!names.every((p) => exported.has(p))) continue;
    if (found !== undefined) return undefined; // ambiguous: leave it to the target's global scope
    found = id;
  }
  return found;
}

/** The value a binding stands for on this process (loading a module on first use). */
function bindingValue(name: string, binding: string): unknown {
  if (binding === PACKAGE_BINDING) return thePackage();
  if (binding === HELPER_BINDING) {
    if (!(name in HELPERS)) throw new Error(`unknown compiler helper ${name}`);
    return HELPERS[name]();
  }
  if (!moduleExports.has(binding)) loadModuleSync(binding);
  const exports = moduleExports.get(binding);
  if (exports === undefined) throw undefinedName(`${name} (module ${binding})`);
  return exports;
}

/**
 * @internal Gives the global scope a `require` when it has none, resolving from the working directory as
 * shipped functions' does: code run by `everywhere` is a script, whose top level has no module
 * `require`. (`node -e` and the REPL have a global one already: it is kept.)
 */
export function ensureGlobalRequire(): void {
  if (typeof (globalThis as { require?: unknown }).require === 'function') return;
  Object.defineProperty(globalThis, 'require', { value: HELPERS.require(), writable: true, configurable: true, enumerable: false });
}

/**
 * Runs a script in the global scope this module sees: the process's main context, or the vm context this
 * code was loaded into (a test runner's sandbox), so that its globals are the ones shipped code reads.
 */
export function runInGlobalScope(code: string, options: vm.RunningScriptOptions & { filename: string }): unknown {
  if (!sandboxed) return vm.runInThisContext(code, { ...options, ...dynamicImportOptions(code) });
  return globalEval(`${code}\n//# sourceURL=${options.filename}`);
}
/**
 * @internal The vm options that let code compiled from `code` load modules dynamically; none for code
 * that does not, so dynamic-import.ts loads only when needed. (This module must not contain the
 * expression itself, even in a comment: module-pack.ts leaves such modules out of the pack.)
 */
export function dynamicImportOptions(code: string): Pick<vm.ScriptOptions, 'importModuleDynamically'> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return MAY_LOAD_MODULES.test(code) ? (require('./dynamic-import') as typeof import('./dynamic-import')).importOptions() : {};
}
/** What a dynamic import looks like in source text (a false positive costs only the options). */
const MAY_LOAD_MODULES = /\bimport\s*\(/;
/** Whether this module runs in a vm context other than the main one (jest's): then only eval reaches its globals. */
const sandboxed = vm.runInThisContext('globalThis') !== globalThis;

/** Whether `runInGlobalScope` has to use eval (see above) rather than `vm`. */
export function sandboxedGlobals(): boolean {
  return sandboxed;
}
// Indirect eval: global code of this realm, whose top-level declarations become its globals.
const globalEval = eval;

/**
 * Compiles shipped source in this process's global scope; `aliases` (name, binding pairs) are bound as
 * the function's enclosing scope. Method shorthand (`f(x) {…}`) is accepted too.
 */
function compile(source: string, hash: string, aliases: readonly string[], captured: readonly string[] = []): Function {
  if (beforeFirstCompile !== undefined) {
    const f = beforeFirstCompile;
    beforeFirstCompile = undefined;
    f();
  }
  const filename = `shipped-function-${hash.replace(/[^A-Za-z0-9]/g, '').slice(0, 12)}.js`;
  const names: string[] = [];
  const values: unknown[] = [];
  for (let i = 0; i < aliases.length; i += 2) {
    names.push(aliases[i]);
    values.push(bindingValue(aliases[i], aliases[i + 1]));
  }
  // With captured variables the result is a factory taking their values (a fresh closure per call).
  const run = (expr: string, shorthand: boolean): unknown => {
    const body = shorthand ? `(() => { const h = (${expr}\n); const k = Reflect.ownKeys(h)[0]; const d = Object.getOwnPropertyDescriptor(h, k); return d.value ?? d.get; })()` : `(${expr}\n)`;
    if (names.length === 0 && captured.length === 0) return runInGlobalScope(body, { filename });
    const outer = runInGlobalScope(`(function (${names.join(', ')}) { return ${captured.length === 0 ? body : `function (${captured.join(', ')}) { return ${body}; }`}; })`, { filename }) as (
      ...a: unknown[]
    ) => unknown;
    return outer(...values);
  };
  let fn: unknown;
  try {
    fn = run(source, false);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    fn = run(`{${source}\n}`, true);
  }
  if (typeof fn !== 'function') throw new TypeError(`shipped source did not evaluate to a function: ${source.slice(0, 80)}`);
  return fn;
}

/** The fix for an unknown name, in the words of SPEC §3 (Julia's UndefVarError). */
function undefinedText(name: string): string {
  return `${name} is not defined on this process: pass it as an argument, or define it on every process with everywhere()`;
}

function undefinedName(name: string): ReferenceError {
  return new ReferenceError(undefinedText(name));
}

/**
 * Gives V8's `x is not defined` the fix (pass it as an argument, or define it with everywhere), in
 * place; other errors are returned unchanged. Runs only on the error path of a call.
 */
export function explainError(e: unknown): unknown {
  if (!(e instanceof ReferenceError)) return e;
  const m = /^(\S+) is not defined$/.exec(e.message);
  if (m === null) return e;
  const old = e.message;
  // V8 formats the stack on first read, from the message of that moment: read it before changing it.
  const stack = e.stack;
  e.message = undefinedText(m[1]);
  if (typeof stack === 'string') e.stack = stack.replace(old, e.message);
  return e;
}


/**
 * Writes the data globals `s` uses that this connection has not seen with their current value. Returns
 * the free identifiers that are not globals here (candidates for capture), or undefined when none.
 */
function writeGlobals(s: Shipped, w: ValueWriter, peer: PeerCodecState | undefined): string[] | undefined {
  const g = globalThis as Record<string, unknown>;
  const names = s.globals;
  let unresolved: string[] | undefined;
  const pending: unknown[] = [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (!Object.prototype.hasOwnProperty.call(g, name)) {
      // The package's names are in scope on every process: never captured.
      if (!packageExportNames.has(name)) (unresolved ??= []).push(name);
      continue;
    }
    const v = g[name];
    if (typeof v === 'function') continue; // global functions travel by name only (SPEC §3a)
    if (peer !== undefined && peer.sentGlobals.has(name) && Object.is(peer.sentGlobals.get(name), v)) continue;
    pending.push(name, v);
  }
  const n = pending.length;
  w.uint(n / 2);
  if (n === 0) return unresolved;
  {
    for (let i = 0; i < n; i += 2) {
      const name = pending[i] as string;
      const v = pending[i + 1];
      w.string(name);
      w.value(v, `(global ${name})`);
      if (peer !== undefined) {
        const had = peer.sentGlobals.has(name);
        const old = peer.sentGlobals.get(name);
        peer.sentGlobals.set(name, v);
        peer.counters.globalValues++;
        peer.journal.push(() => {
          peer.counters.globalValues--;
          if (had) peer.sentGlobals.set(name, old);
          else peer.sentGlobals.delete(name);
        });
      }
    }
  }
  return unresolved;
}

const warnedCapture = new Set<string>();
/** How deep the encoder is inside captured values: functions reached through captures capture primitives only. */
let captureDepth = 0;

function isPrimitive(v: unknown): boolean {
  return v === null || (typeof v !== 'object' && typeof v !== 'function');
}

/**
 * Sends the current values of the function's captured local variables among `unresolved` (SPEC §3a:
 * closures ship their captures, as Julia's do), each again only when it changed since the last send of
 * this function on this connection.
 */
function writeCaptures(fn: Function, s: Shipped, w: ValueWriter, peer: PeerCodecState | undefined, unresolved: string[] | undefined): void {
  if (unresolved === undefined) {
    w.uint(0);
    return;
  }
  const caps = readCaptures(fn, unresolved);
  // A function reached through another's captures (a module helper) brings its constants, not whole
  // module objects: following those would drag unrelated code (a module's other functions, Node's own).
  if (caps !== null && captureDepth > 0) for (const [name, v] of caps) if (!isPrimitive(v)) caps.delete(name);
  if (caps === null || caps.size === 0) {
    w.uint(0);
    return;
  }
  if (!warnedCapture.has(s.hash)) {
    warnedCapture.add(s.hash);
    process.emitWarning(
      `a shipped function reads local variable(s) ${[...caps.keys()].join(', ')} of its closure through the inspector (about 0.3 ms per call); pass them as arguments, or make them globals, for speed`,
      { code: 'DISTRIBUTED_TS_CLOSURE_CAPTURE' },
    );
  }
  w.uint(caps.size);
  for (const [name, v] of caps) {
    const key = `${s.hash}:${name}`;
    if (v === packageExports && v !== undefined) {
      w.string(name);
      w.uint(CAPTURE_PACKAGE); // `import * as dts from 'distributed-ts'`: the target's own copy
      continue;
    }
    const same = peer !== undefined && peer.sentCaptures.has(key) && Object.is(peer.sentCaptures.get(key), v);
    w.string(name);
    w.uint(same ? CAPTURE_SAME : CAPTURE_VALUE);
    if (same) continue;
    captureDepth++;
    try {
      w.value(v, `(captured ${name})`);
    } finally {
      captureDepth--;
    }
    if (peer !== undefined) {
      const had = peer.sentCaptures.has(key);
      const old = peer.sentCaptures.get(key);
      peer.sentCaptures.set(key, v);
      peer.counters.capturedValues++;
      peer.journal.push(() => {
        peer.counters.capturedValues--;
        if (had) peer.sentCaptures.set(key, old);
        else peer.sentCaptures.delete(key);
      });
    }
  }
}

const CAPTURE_VALUE = 0;
const CAPTURE_SAME = 1;
const CAPTURE_PACKAGE = 2;

/** Factories of functions compiled with captured variables as parameters, by hash and capture names. */
const factories = new Map<string, (...captured: unknown[]) => Function>();
/** Sources received, by hash, for compiling a capture factory later. */
const sources = new Map<string, { source: string; aliases: readonly string[] }>();

/** Reads the captured variables sent with a call and returns the function bound to them (or `fn`). */
function readCaptures_(r: ValueReader, hash: string, fn: Function, state: PeerCodecState | undefined): Function {
  const k = r.uint();
  if (k === 0) return fn;
  const names: string[] = [];
  const values: unknown[] = [];
  for (let i = 0; i < k; i++) {
    const name = r.string();
    const how = r.uint();
    const key = `${hash}:${name}`;
    let v: unknown;
    if (how === CAPTURE_PACKAGE) {
      v = thePackage();
    } else if (how === CAPTURE_SAME) {
      if (state === undefined || !state.receivedCaptures.has(key)) throw new Error(`captured ${name} of shipped function ${hash} is not in this process's cache`);
      v = state.receivedCaptures.get(key);
    } else {
      v = r.value();
      state?.receivedCaptures.set(key, v);
    }
    names.push(name);
    values.push(v);
  }
  const fkey = `${hash}|${names.join(',')}`;
  let factory = factories.get(fkey);
  if (factory === undefined) {
    const src = sources.get(hash);
    if (src === undefined) throw new Error(`shipped function ${hash} is not in this process's cache`);
    factory = compile(src.source, hash, src.aliases, names) as (...captured: unknown[]) => Function;
    factories.set(fkey, factory);
  }
  return factory(...values);
}

function readGlobals(r: ValueReader): void {
  const g = globalThis as Record<string, unknown>;
  for (let k = r.uint(); k > 0; k--) {
    const name = r.string();
    g[name] = r.value();
  }
}

/** The function codec the runtime installs in the type registry. */
export const functionCodec: FunctionCodec = {
  encode(fn: Function, w: ValueWriter, context: unknown): void {
    // A registered path first: one Map lookup, where the global-name check is a lookup on the global
    // object by a varying key (and both resolve to the same function on the other side).
    const p = pathOf.get(fn);
    if (p !== undefined) {
      w.uint(How.Path);
      w.string(p);
      return;
    }
    const name = fn.name;
    if (name && (globalThis as Record<string, unknown>)[name] === fn) {
      w.uint(How.Global);
      w.string(name);
      return;
    }
    // `process.memoryUsage` and the like: Node's JavaScript, so not native, but the target has its own
    // under the same name (looked up when used, as a worker's differ from those in its snapshot).
    if (name && (process as unknown as Record<string, unknown>)[name] === fn) {
      w.uint(How.Path);
      w.string(`${PROCESS_PATH}${name}`);
      return;
    }
    const s = shippable(fn);
    const peer = context as PeerCodecState | undefined;
    // A source sent on this connection before goes as the small id it was given then (not its hash).
    const id = peer?.sentFunctions.get(s.hash);
    if (id !== undefined) {
      w.uint(How.SourceRef);
      w.uint(id);
      writeCaptures(fn, s, w, peer, writeGlobals(s, w, peer));
      return;
    }
    w.uint(How.Source);
    w.string(s.hash);
    if (peer !== undefined) {
      const fresh = peer.nextFunctionId++;
      w.uint(fresh);
      peer.sentFunctions.set(s.hash, fresh);
      peer.counters.functionSources++;
      peer.journal.push(() => {
        peer.sentFunctions.delete(s.hash);
        peer.counters.functionSources--;
      });
    } else {
      w.uint(0); // no connection: nothing will refer to it
    }
    w.string(s.source);
    w.uint(s.aliases.length);
    for (const a of s.aliases) w.string(a);
    writeCaptures(fn, s, w, peer, writeGlobals(s, w, peer));
  },

  decode(r: ValueReader, context: unknown): Function {
    const how = r.uint();
    switch (how) {
      case How.Global: {
        const name = r.string();
        const fn = (globalThis as Record<string, unknown>)[name];
        if (typeof fn !== 'function') throw undefinedName(name);
        return fn;
      }
      case How.Path: {
        const p = r.string();
        let fn = p.startsWith(PROCESS_PATH) ? processMethod(p.slice(PROCESS_PATH.length)) : byPath.get(p);
        // A worker registers the paths of its package's functions as it loads the modules defining them.
        if (fn === undefined && p.startsWith('distributed-ts') && loadDeferredPackage()) fn = byPath.get(p);
        if (fn === undefined && p.startsWith('module:')) {
          const url = p.slice(7, p.lastIndexOf('#'));
          loadModuleSync(url);
          fn = byPath.get(p);
          if (fn === undefined) throw undefinedName(`${p.slice(p.lastIndexOf('#') + 1)} (an export of ${url})`);
        }
        if (fn === undefined) throw undefinedName(p.replace(/^distributed-ts:/, ''));
        return fn;
      }
      case How.Source: {
        const hash = r.string();
        const id = r.uint();
        const source = r.string();
        const aliases: string[] = [];
        for (let k = r.uint(); k > 0; k--) aliases.push(r.string());
        let fn = compiled.get(hash);
        if (fn === undefined) {
          fn = compile(source, hash, aliases);
          compiled.set(hash, fn);
          sources.set(hash, { source, aliases });
        }
        const state = context as PeerCodecState | undefined;
        if (state !== undefined && id !== 0) state.receivedFunctions[id] = { hash, fn };
        readGlobals(r);
        return readCaptures_(r, hash, fn, state);
      }
      case How.SourceRef: {
        const id = r.uint();
        const state = context as PeerCodecState | undefined;
        const known = state?.receivedFunctions[id];
        if (known === undefined) throw new Error(`shipped function #${id} is not in this process's cache for this connection`);
        readGlobals(r);
        return readCaptures_(r, known.hash, known.fn, state);
      }
      default:
        throw new Error(`unknown function encoding ${how}`);
    }
  },
};
