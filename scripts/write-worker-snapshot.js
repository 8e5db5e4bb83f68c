#!/usr/bin/env node
/**
 * Writes dist/worker-snapshot.blob, the start-up snapshot local workers start from (see
 * src/cluster/worker-snapshot.ts), and dist/worker-snapshot.json, the record of what it was built
 * from. Run after `tsc` and the worker pack (npm's prepare, build, test and bench scripts do).
 *
 * Then a smoke test: a worker started from the new blob joins and answers calls. If the build or the
 * test fails, both files are removed and workers start as plain scripts; the snapshot is only a
 * speed-up, so this script never fails a build.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const blob = path.join(root, 'dist', 'worker-snapshot.blob');
const stampFile = path.join(root, 'dist', 'worker-snapshot.json');
/** The builder's scratch directory (removed however this script ends). */
let tmp;

function giveUp(why) {
  fs.rmSync(blob, { force: true });
  fs.rmSync(stampFile, { force: true });
  if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true });
  console.warn(`warning: no worker snapshot (${why}); workers start from dist/src/worker/main.js`);
  process.exit(0);
}

function builderEnv(modulesFile) {
  const env = { ...process.env, DISTRIBUTED_TS_SNAPSHOT_MODULES: modulesFile };
  delete env.NODE_OPTIONS;
  delete env.NODE_V8_COVERAGE;
  return env;
}

async function main() {
  fs.rmSync(stampFile, { force: true }); // first: a half-written blob is never used
  fs.rmSync(blob, { force: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dts-snapshot-'));
  try {
    const modulesFile = path.join(tmp, 'modules.json');
    const built = spawnSync(
      process.execPath,
      // --no-warnings: the builder warns that `vm`, `module` and `cluster` are not verified in
      // snapshots; the smoke test below is what checks this one.
      ['--no-warnings', '--snapshot-blob', path.join(tmp, 'worker.blob'), '--build-snapshot', path.join(__dirname, 'worker-snapshot-entry.js')],
      // Without NODE_OPTIONS: workers start from the blob only without it, and V8 refuses a blob built
      // with V8 flags the worker lacks.
      { env: builderEnv(modulesFile), stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000, encoding: 'utf8' },
    );
    if (built.status !== 0) throw new Error(`the builder failed: ${(built.stderr || built.error?.message || `exit ${built.status}`).trim().split('\n').slice(0, 6).join(' | ')}`);
    fs.renameSync(path.join(tmp, 'worker.blob'), blob);
    const modules = JSON.parse(fs.readFileSync(modulesFile, 'utf8'));
    const stamp = {
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      execPath: process.execPath,
      blobBytes: fs.statSync(blob).size,
      modules,
    };
    // Written now so that the smoke test's addprocs uses the blob; removed again if the test fails.
    const part = `${stampFile}.${process.pid}.part`;
    fs.writeFileSync(part, JSON.stringify(stamp));
    fs.renameSync(part, stampFile);
    const d = require(path.join(root, 'dist', 'src', 'index.js'));
    const snap = require(path.join(root, 'dist', 'src', 'cluster', 'worker-snapshot.js'));
    const [w] = await d.addprocs(1, { env: { NODE_OPTIONS: '', NODE_V8_COVERAGE: '' } });
    if (snap.snapshotUnusedBecause !== '') throw new Error(`addprocs did not use it: ${snap.snapshotUnusedBecause}`);
    const fromBlob = await d.remotecall_fetch(() => process.execArgv.includes('--snapshot-blob'), w);
    const answers = [await d.remotecall_fetch(d.myid, w), await d.remotecall_fetch((x) => x + 1, w, 41), await d.remotecall_fetch(() => typeof globalThis.pmap, w)];
    await d.rmprocs(w);
    if (!fromBlob || answers[0] !== w || answers[1] !== 42 || answers[2] !== 'function') throw new Error(`the worker answered ${JSON.stringify({ fromBlob, answers })}`);
    console.log(`worker snapshot: ${path.relative(root, blob)}, ${stamp.blobBytes} bytes, ${modules.length} modules`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// A build never waits on this for long: the snapshot is only a speed-up.
setTimeout(() => giveUp('building and checking it took over 120 s'), 120_000).unref();

main().catch((e) => giveUp(e.message));
