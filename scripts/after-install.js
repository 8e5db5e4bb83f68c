#!/usr/bin/env node
/**
 * Run by npm's `install` script, after the addon is compiled. An installed copy of the package (from
 * the registry or a tarball) arrives with dist/ compiled but without the worker pack and start-up
 * snapshot: those are made for one Node executable and one set of module files (npm even resets the
 * files' times), so a copy built elsewhere would only be ignored. Here they are written for this
 * machine, and workers start as fast as in a checkout.
 *
 * In a source checkout (src/index.ts is here) it does nothing: dist/ is compiled after install, by
 * `prepare`, which writes both itself. Like the writers it calls, it never fails an install.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');

function main() {
  if (fs.existsSync(path.join(root, 'src', 'index.ts'))) return;
  if (!fs.existsSync(path.join(root, 'dist', 'src', 'index.js'))) {
    console.warn('warning: distributed-ts has no dist/: no worker pack or snapshot written (workers start from the files)');
    return;
  }
  for (const script of ['write-worker-pack.js', 'write-worker-snapshot.js']) {
    // Each writer says what it did, or why it wrote nothing, and exits 0 either way.
    const r = spawnSync(process.execPath, [path.join(__dirname, script)], { cwd: root, stdio: 'inherit', timeout: 180_000 });
    if (r.error !== undefined) console.warn(`warning: ${script} did not run (${r.error.message}); workers start from the files`);
  }
}

main();
