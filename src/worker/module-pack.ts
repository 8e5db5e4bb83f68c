/**
 * A worker's modules from one file: their sources and V8's code cache for them (`dist/worker-pack.bin`,
 * written at build time by `scripts/write-worker-pack.js`: a real worker that joins, serves a few calls
 * and then loads the rest of the package, so the functions start-up runs are compiled when it is
 * written). The start-up modules load from it at once, the rest of the package on first use.
 *
 * Every worker loads the same few dozen modules. Node resolves each `require` through path arithmetic,
 * `stat`s, `realpath` and package.json lookups, reads the file and compiles it; from the pack a worker
 * makes one read and compiles each module from its cached bytecode (together about a third of what
 * loading them costs). Each module is still a module of its own: same filename, same line numbers, in
 * Node's module cache under its own path, so a later `require` of it by path finds the same instance.
 *
 * The pack is used only when every module in it still has the size and modification time it had when
 * the pack was written (a rebuilt dist/ without a new pack loads from the files), and V8 checks each
 * cached compilation against its source, its version and its flags (a rejected one is compiled anew).
 *
 * Importing this module installs the pack, so it is the worker entry's first import. (In the start-up
 * snapshot it is loaded already, and installs the pack as a worker starts from the snapshot.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import Module = require('node:module');

/** dist/ (this file is dist/src/worker/module-pack.js). */
const DIST = path.join(__dirname, '..', '..');
/**
 * dist/ and a separator: a packed module's path is this and its path below dist/, which the pack writer
 * took from path.relative, so it is already normal — the same string path.join would make, without the
 * cost of normalising each of them again at every start (path arithmetic was a tenth of what a worker
 * spent loading its modules).
 */
const DIST_PREFIX = DIST + path.sep;
// The environment is read when the pack is installed, not when this module loads: in a worker started
// from the start-up snapshot, this module was loaded when the snapshot was built.
/** The pack the build writes (DISTRIBUTED_TS_WORKER_PACK names another one: tests give a damaged copy). */
const packFile = (): string => process.env.DISTRIBUTED_TS_WORKER_PACK || path.join(DIST, 'worker-pack.bin');
const MAGIC = 'dts-worker-pack-1';

/** What the pack did in this process (read by tests). */
export const packStats = { packed: 0, fromPack: 0, rejected: 0, written: 0, ignored: '' };

interface PackedModule {
  /** Path below dist/. */
  file: string;
  size: number;
  mtimeMs: number;
  /** The module's requests that resolved to other packed modules: request → path below dist/. */
  deps: Record<string, string>;
  source: [offset: number, length: number];
  cache: [offset: number, length: number];
}
interface LoadedModule extends PackedModule {
  abs: string;
  /** Its directory (what Node gives a module as __dirname). */
  dir: string;
  bytes: Buffer;
}

interface NodeModuleInternals {
  exports: unknown;
  filename: string;
  paths: string[];
  loaded: boolean;
  require(id: string): unknown;
  _compile(content: string, filename: string): unknown;
}
interface ModuleStatics {
  new (id: string, parent: unknown): NodeModuleInternals;
  prototype: NodeModuleInternals;
  _resolveFilename(request: string, parent: unknown, isMain: boolean, options?: unknown): string;
  _nodeModulePaths(dir: string): string[];
  _extensions: NodeJS.RequireExtensions;
  _cache: Record<string, NodeModuleInternals | undefined>;
  wrap(source: string): string;
}
const M = Module as unknown as ModuleStatics;

type Wrapper = (exports: unknown, require: NodeJS.Require, module: unknown, filename: string, dirname: string) => unknown;

/** `require` as Node gives a module; requests in `deps` load from the pack without resolution. */
function requireFor(mod: NodeModuleInternals, deps: Record<string, string> | undefined, load: ((file: string, parent: NodeModuleInternals) => unknown) | undefined): NodeJS.Require {
  const req = ((id: string) => {
    const packed = deps?.[id];
    return packed !== undefined && load !== undefined ? load(packed, mod) : mod.require(id);
  }) as NodeJS.Require;
  req.resolve = ((request: string, options?: { paths?: string[] }) => M._resolveFilename(request, mod, false, options)) as NodeJS.RequireResolve;
  req.main = require.main;
  req.extensions = M._extensions;
  req.cache = M._cache as NodeJS.Dict<NodeModule>;
  return req;
}

function wrapped(content: string): string {
  return M.wrap(content.startsWith('#!') ? content.replace(/^#!.*/, '') : content);
}

/**
 * The packed modules by path below dist/, or undefined (with the reason in packStats.ignored) when the
 * pack cannot be used.
 */
function readPack(): Map<string, LoadedModule> | undefined {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(packFile());
  } catch {
    packStats.ignored = 'no pack';
    return undefined;
  }
  let header: { magic: string; modules: PackedModule[] };
  let headerLen: number;
  try {
    headerLen = bytes.readUInt32LE(0);
    header = JSON.parse(bytes.toString('utf8', 4, 4 + headerLen)) as { magic: string; modules: PackedModule[] };
  } catch {
    packStats.ignored = 'unreadable pack';
    return undefined;
  }
  if (header.magic !== MAGIC || !Array.isArray(header.modules)) {
    packStats.ignored = 'not a pack of this version';
    return undefined;
  }
  const body = bytes.subarray(4 + headerLen);
  const within = (r: unknown): boolean =>
    Array.isArray(r) && r.length === 2 && Number.isSafeInteger(r[0]) && Number.isSafeInteger(r[1]) && r[0] >= 0 && r[1] >= 0 && r[0] + r[1] <= body.length;
  const modules = new Map<string, LoadedModule>();
  for (const m of header.modules) {
    // A damaged pack (its parts outside the file, a source of another length than the module's) is not used.
    if (typeof m.file !== 'string' || !within(m.source) || !within(m.cache) || m.source[1] !== m.size) {
      packStats.ignored = 'a damaged pack';
      return undefined;
    }
    const abs = DIST_PREFIX + m.file;
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
    } catch {
      packStats.ignored = `${m.file} is gone`;
      return undefined;
    }
    // Within a millisecond: a restored timestamp (utimes from a Date) can come back a hair earlier.
    if (st.size !== m.size || Math.abs(st.mtimeMs - m.mtimeMs) >= 1) {
      packStats.ignored = `${m.file} changed since the pack was written`;
      return undefined;
    }
    modules.set(m.file, { ...m, abs, dir: abs.slice(0, abs.lastIndexOf(path.sep)), bytes: body });
  }
  return modules;
}

/** An opened pack: its modules by absolute path, and how to run one as a module's code. */
interface OpenPack {
  byPath: Map<string, LoadedModule>;
  run(mod: NodeModuleInternals, m: LoadedModule): unknown;
}

/**
 * Loads the worker's modules from the pack (Module._compile of the files Node itself loads, and the
 * packed modules those require). The pack is read when Node first compiles a module, not before: a
 * worker started from the start-up snapshot has its start-up modules already, and may never need it.
 */
function usePack(): void {
  let pack: OpenPack | null | undefined; // not read yet | unusable | read
  const original = M.prototype._compile;
  M.prototype._compile = function (this: NodeModuleInternals, content: string, filename: string): unknown {
    if (pack === undefined) pack = openPack() ?? null;
    const m = pack?.byPath.get(filename);
    if (pack === null || m === undefined) return original.call(this, content, filename);
    return pack.run(this, m);
  };
}

/** Reads the pack; undefined (with the reason in packStats.ignored) when it cannot be used. */
function openPack(): OpenPack | undefined {
  const modules = readPack();
  if (modules === undefined) return undefined;
  packStats.packed = modules.size;
  const byPath = new Map<string, LoadedModule>();
  for (const m of modules.values()) byPath.set(m.abs, m);
  // node_modules lookup paths, once per directory (a few directories hold all the modules); each module
  // gets its own copy, as from Node's loader.
  const lookupPaths = new Map<string, string[]>();
  const pathsFor = (dir: string): string[] => {
    let p = lookupPaths.get(dir);
    if (p === undefined) lookupPaths.set(dir, (p = M._nodeModulePaths(dir)));
    return p.slice();
  };
  const run = (mod: NodeModuleInternals, m: LoadedModule): unknown => {
    const source = m.bytes.toString('utf8', m.source[0], m.source[0] + m.source[1]);
    const cachedData = m.bytes.subarray(m.cache[0], m.cache[0] + m.cache[1]);
    const script = new vm.Script(wrapped(source), { filename: m.abs, cachedData });
    if (script.cachedDataRejected === true) packStats.rejected++;
    packStats.fromPack++;
    const fn = script.runInThisContext({ displayErrors: true }) as Wrapper;
    return fn.call(mod.exports, mod.exports, requireFor(mod, m.deps, load), mod, m.abs, m.dir);
  };
  // A packed module required by a packed module: made here, as Node's loader would (cached first, so
  // a cycle sees the partial exports; removed again if it throws).
  const load = (file: string, parent: NodeModuleInternals): unknown => {
    const m = modules.get(file);
    if (m === undefined) return parent.require(path.join(DIST, file));
    const abs = m.abs;
    const cached = M._cache[abs];
    if (cached !== undefined) return cached.exports;
    const mod = new M(abs, parent);
    mod.filename = abs;
    mod.paths = pathsFor(m.dir);
    M._cache[abs] = mod;
    try {
      run(mod, m);
    } catch (e) {
      delete M._cache[abs];
      throw e;
    }
    mod.loaded = true;
    return mod.exports;
  };
  return { byPath, run };
}

/** Build mode: compile from the files as usual, note each module and its requests, write the pack at exit. */
function writePackAtExit(to: string): void {
  const srcRoot = path.join(DIST, 'src') + path.sep;
  const noted = new Map<string, { script: vm.Script; source: string; deps: Record<string, string> }>();
  const original = M.prototype._compile;
  M.prototype._compile = function (this: NodeModuleInternals, content: string, filename: string): unknown {
    // Only the package's own modules, and none that uses import() (a vm.Script has no loader for it).
    if (!filename.startsWith(srcRoot) || content.includes('import(')) return original.call(this, content, filename);
    const script = new vm.Script(wrapped(content), { filename });
    const deps: Record<string, string> = {};
    noted.set(filename, { script, source: content, deps });
    const mod = this;
    const req = requireFor(mod, undefined, undefined);
    const traced = ((id: string) => {
      const out = req(id);
      try {
        const abs = M._resolveFilename(id, mod, false);
        if (abs.startsWith(srcRoot)) deps[id] = path.relative(DIST, abs);
      } catch {
        // a request Node resolved a way we cannot repeat: it stays with Node
      }
      return out;
    }) as NodeJS.Require;
    Object.assign(traced, req);
    const fn = script.runInThisContext({ displayErrors: true }) as Wrapper;
    return fn.call(mod.exports, mod.exports, traced, mod, filename, path.dirname(filename));
  };
  process.once('exit', () => {
    const modules: PackedModule[] = [];
    const parts: Buffer[] = [];
    let at = 0;
    const add = (b: Buffer): [number, number] => {
      parts.push(b);
      at += b.length;
      return [at - b.length, b.length];
    };
    for (const [abs, n] of noted) {
      const st = fs.statSync(abs);
      // Only requests of modules that are in the pack themselves are taken from it.
      const deps: Record<string, string> = {};
      for (const [req, file] of Object.entries(n.deps)) if (noted.has(path.join(DIST, file))) deps[req] = file;
      const source = add(Buffer.from(n.source, 'utf8'));
      const cache = add(n.script.createCachedData());
      modules.push({ file: path.relative(DIST, abs), size: st.size, mtimeMs: Math.floor(st.mtimeMs), deps, source, cache });
    }
    const header = Buffer.from(JSON.stringify({ magic: MAGIC, modules }), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(header.length, 0);
    const tmp = `${to}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, Buffer.concat([len, header, ...parts]));
    fs.renameSync(tmp, to);
    packStats.written = modules.length;
  });
}

function install(): void {
  // With source maps on, Node's own compile registers each module's map: leave loading to Node.
  if ((process as { sourceMapsEnabled?: boolean }).sourceMapsEnabled === true) return;
  // Set by the build script on the worker it starts: write the pack there when the worker exits.
  const writeTo = process.env.DISTRIBUTED_TS_WRITE_WORKER_PACK;
  if (writeTo !== undefined && writeTo !== '') writePackAtExit(writeTo);
  else usePack();
}

if (process.execArgv.includes('--build-snapshot')) {
  // In the start-up snapshot's builder: install in the worker that starts from the snapshot.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('node:v8') as typeof import('node:v8')).startupSnapshot.addDeserializeCallback(install);
} else {
  install();
}
