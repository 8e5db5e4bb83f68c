/**
 * The worker start-up snapshot's builder script: `node --snapshot-blob dist/worker-snapshot.blob
 * --build-snapshot scripts/worker-snapshot-entry.js` (run by scripts/write-worker-snapshot.js). Read
 * src/cluster/worker-snapshot.ts for why and when workers start from it.
 *
 * While the snapshot is built, it loads the modules a local worker loads before it serves a call (the
 * worker pack's loader, dist/src/worker/worker-entry.js, and what they require) with a loader of its
 * own: a builder script may `require` only Node's built-in modules. The heap then holds them loaded.
 * Two of them defer what needs the running process (`--build-snapshot` is in process.execArgv while the
 * snapshot is built): native.js loads the addon, and module-pack.js installs the pack, in deserialize
 * callbacks, which run as a worker starts from the blob. Then `main` below:
 *   - makes each module a module of Node's loader under its own path (a later `require` of one finds
 *     the same instance), whose `require` is Node's from then on;
 *   - and runs worker-entry's `runWorker`, as dist/src/worker/main.js would.
 *
 * Nothing here may depend on the machine the blob was built on beyond dist/ itself: the modules it
 * loads read their settings when called, not when loaded (the build's smoke test runs a worker from it).
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');

const DIST = path.join(__dirname, '..', 'dist');
const SRC = path.join(DIST, 'src') + path.sep;
const PACK = path.join(DIST, 'src', 'worker', 'module-pack.js');
const ENTRY = path.join(DIST, 'src', 'worker', 'worker-entry.js');
const NATIVE = path.join(DIST, 'src', 'native.js');
const WORKER_SCRIPT = path.join(DIST, 'src', 'worker', 'main.js');

/** The loaded modules by path: plain objects with a Module's fields, made Modules in `main`. */
const records = new Map();
/** Set once the modules are Node's (`register`): from then on each module's require is Node's own. */
let registered = false;

function resolveOwn(dir, request) {
  const base = path.resolve(dir, request);
  for (const file of [base, `${base}.js`, path.join(base, 'index.js')]) {
    if (file.startsWith(SRC) && file.endsWith('.js') && fs.existsSync(file)) return file;
  }
  return undefined;
}

function load(file, parent) {
  const known = records.get(file);
  if (known !== undefined) return known.exports;
  const dir = path.dirname(file);
  const rec = { id: file, path: dir, exports: {}, filename: file, loaded: false, children: [], paths: [], parent };
  records.set(file, rec);
  const source = fs.readFileSync(file, 'utf8').replace(/^#!.*/, '');
  const req = (request) => {
    // At run time (the deserialize callbacks run before `main`) Node's own.
    if (registered || !v8.startupSnapshot.isBuildingSnapshot()) return register(), rec.require(request);
    if (request.startsWith('node:')) return require(request);
    const own = request.startsWith('.') ? resolveOwn(dir, request) : undefined;
    if (own !== undefined) return load(own, rec);
    // A built-in named without `node:`; anything else cannot be in the snapshot.
    if (!request.startsWith('.') && !request.includes('/')) return require(request);
    throw new Error(`worker snapshot: ${path.relative(DIST, file)} requires ${request} when it loads`);
  };
  req.resolve = (request, options) => require('node:module')._resolveFilename(request, rec, false, options);
  rec.requireFn = req;
  // Compiled as Node's loader compiles a module: the parameters it gives one, and the file's own name,
  // lines and columns in stack traces.
  const wrapper = vm.compileFunction(source, ['exports', 'require', 'module', '__filename', '__dirname'], { filename: file });
  wrapper.call(rec.exports, rec.exports, req, rec, file, dir);
  rec.loaded = true;
  if (parent !== undefined) parent.children.push(rec);
  return rec.exports;
}

// Built-ins a worker loads as it starts that its modules do not load themselves: a server's first
// listen() loads the cluster module (and it child_process and dgram).
require('node:cluster');
// Compiled eagerly: a function's bytecode is kept in the blob, so a starting worker compiles none of
// its own start-up path (a function compiled lazily is compiled again in every worker that calls it).
// The flag is put back before the snapshot is taken: V8 refuses a blob built under other flags.
v8.setFlagsFromString('--no-lazy');
load(PACK, undefined); // first, as in main.js: modules the worker loads later come from the pack
load(ENTRY, undefined);
v8.setFlagsFromString('--lazy');
{
  // Node's own start-up path, run once without any handle: its bytecode is kept too.
  const net = require('node:net');
  const s = new net.Socket({ readable: true, writable: true });
  s.on('data', () => {});
  s.on('end', () => {});
  s.pause();
  s.destroy();
  const server = net.createServer({ pauseOnConnect: true }, () => {});
  server.once('error', () => {});
}
const { runWorker } = records.get(ENTRY).exports;
if (typeof runWorker !== 'function') throw new Error('worker snapshot: worker-entry.js exports no runWorker');
if (!records.has(NATIVE)) throw new Error('worker snapshot: the start-up modules do not load native.js');

// For the build script: the modules in the blob, to tell later whether dist/ still matches it.
if (process.env.DISTRIBUTED_TS_SNAPSHOT_MODULES) {
  const modules = [...records.keys()].map((file) => {
    const st = fs.statSync(file);
    return { file: path.relative(DIST, file), size: st.size, mtimeMs: Math.floor(st.mtimeMs) };
  });
  fs.writeFileSync(process.env.DISTRIBUTED_TS_SNAPSHOT_MODULES, JSON.stringify(modules));
}

/** Makes the loaded modules modules of Node's loader (once, as the worker starts from the blob). */
function register() {
  if (registered) return;
  registered = true;
  const Module = require('node:module');
  const lookupPaths = new Map();
  for (const rec of records.values()) {
    Object.setPrototypeOf(rec, Module.prototype);
    let paths = lookupPaths.get(rec.path);
    if (paths === undefined) lookupPaths.set(rec.path, (paths = Module._nodeModulePaths(rec.path)));
    rec.paths = paths.slice();
    Module._cache[rec.filename] = rec;
  }
  // The worker script is the main module, as when started as `node main.js`.
  const mainModule = new Module(WORKER_SCRIPT, null);
  mainModule.filename = WORKER_SCRIPT;
  mainModule.paths = Module._nodeModulePaths(path.dirname(WORKER_SCRIPT));
  mainModule.loaded = true;
  process.mainModule = mainModule;
  for (const rec of records.values()) {
    rec.requireFn.main = mainModule;
    rec.requireFn.cache = Module._cache;
    rec.requireFn.extensions = Module._extensions;
  }
}

function main() {
  register();
  runWorker();
}

v8.startupSnapshot.setDeserializeMainFunction(main);
