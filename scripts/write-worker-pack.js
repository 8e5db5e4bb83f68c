#!/usr/bin/env node
/**
 * Writes dist/worker-pack.bin: the modules a worker loads when it starts, with V8's code cache for them
 * (read by src/worker/module-pack.ts). A real worker joins, serves a few calls, and writes the pack as it
 * exits, so the functions start-up runs are compiled in it. Run after `tsc` (npm's prepare, build and
 * test scripts do); a pack that no longer matches the compiled modules is ignored, never used.
 */
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const pack = path.join(root, 'dist', 'worker-pack.bin');

async function main() {
  const d = require(path.join(root, 'dist', 'src', 'index.js'));
  fs.rmSync(pack, { force: true });
  // Not from the start-up snapshot: this worker must load its modules through Node's loader to note them.
  const [w] = await d.addprocs(1, { env: { DISTRIBUTED_TS_WRITE_WORKER_PACK: pack, DISTRIBUTED_TS_WORKER_SNAPSHOT: '0' } });
  const ospid = await d.remotecall_fetch(() => process.pid, w);
  await d.remotecall_fetch(d.myid, w);
  await d.remotecall_fetch((x) => x + 1, w, 1);
  await d.remotecall_fetch(Math.max, w, 1, 2);
  // Then the rest of the package, as a worker loads it on first use (a global such as pmap): its
  // modules go in the pack too, so that first use does not resolve and compile them either.
  await d.remotecall_fetch(() => typeof globalThis.pmap, w);
  await d.rmprocs(w);
  // The worker writes as it exits: wait until it is gone.
  for (let i = 0; i < 500; i++) {
    try {
      process.kill(ospid, 0);
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  if (!fs.existsSync(pack)) throw new Error('the worker wrote no pack');
  console.log(`worker pack: ${path.relative(root, pack)}, ${fs.statSync(pack).size} bytes`);
}

// A build never waits on this for long: the pack is only a speed-up.
setTimeout(() => {
  console.warn('warning: writing the worker pack took over 60 s; giving up (workers will load their modules from the files)');
  process.exit(0);
}, 60_000).unref();

main().catch((e) => {
  // The pack only speeds up worker start-up: a build without it still works.
  console.warn(`warning: no worker pack written (${e.message}); workers will load their modules from the files`);
  process.exit(0);
});
