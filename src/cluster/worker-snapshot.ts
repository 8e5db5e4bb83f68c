/**
 * The worker start-up snapshot: `dist/worker-snapshot.blob`, a V8 heap in which a local worker's
 * start-up modules are already loaded (Node's `--build-snapshot`, made by
 * scripts/write-worker-snapshot.js after the worker pack; its builder script is
 * scripts/worker-snapshot-entry.js). A worker started with `node --snapshot-blob <blob>` skips compiling
 * and running those modules (and the Node built-ins they load: net, streams, vm, cluster): about 8 ms
 * less CPU per worker (38 vs 46.5 ms to its first answer, four at once), which is what starting several
 * workers at once on a small machine costs.
 *
 * LocalManager starts a worker from it only when that changes nothing else: the worker would run this
 * very Node executable with no flags of the caller's (no `exename`, `exeflags` or inherited loader
 * flags, which a snapshot may not honour — but tsx's, which a worker registers later, see
 * deferred-loaders.ts — and no NODE_OPTIONS: V8 refuses to start from a snapshot
 * built without the V8 flags a worker is given), the blob was built by this Node version for this platform,
 * and every module in it still has the size and modification time it had then (a rebuilt dist/ without
 * a new snapshot starts workers the usual way). `DISTRIBUTED_TS_WORKER_SNAPSHOT=0`, in this process's
 * environment or the worker's (`addprocs(n, { env })`), turns it off.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AddprocsOptions } from './cluster-manager';
import { inheritedLoaderFlags } from './cluster-manager';

/** dist/ (this file is dist/src/cluster/worker-snapshot.js). */
const DIST = path.join(__dirname, '..', '..');
/** The blob, and the record of what it was built from (written once the build's smoke test passed). */
export const SNAPSHOT_BLOB = path.join(DIST, 'worker-snapshot.blob');
export const SNAPSHOT_STAMP = path.join(DIST, 'worker-snapshot.json');

/** What scripts/write-worker-snapshot.js records beside the blob. */
export interface SnapshotStamp {
  node: string;
  platform: string;
  arch: string;
  execPath: string;
  blobBytes: number;
  /** The modules in the blob: path below dist/, size, modification time (ms, floored). */
  modules: Array<{ file: string; size: number; mtimeMs: number }>;
}

/** @internal Why the last local launch did not use the snapshot, or '' when it did (read by tests). */
export let snapshotUnusedBecause = '';

let stampFile = SNAPSHOT_STAMP;
/**
 * @internal Reads the record from `file` instead (tests give an altered copy, leaving dist/ alone for
 * the tests running beside them); undefined restores the build's.
 */
export function useSnapshotStamp(file: string | undefined): void {
  stampFile = file ?? SNAPSHOT_STAMP;
}

/** Whether the stamp matches this Node and the files of dist/ now; sets snapshotUnusedBecause. */
function stampHolds(): boolean {
  let stamp: SnapshotStamp;
  try {
    stamp = JSON.parse(fs.readFileSync(stampFile, 'utf8')) as SnapshotStamp;
  } catch {
    snapshotUnusedBecause = 'no snapshot was built';
    return false;
  }
  if (stamp.node !== process.version || stamp.platform !== process.platform || stamp.arch !== process.arch || stamp.execPath !== process.execPath) {
    snapshotUnusedBecause = `the snapshot was built by another Node (${stamp.node} at ${stamp.execPath})`;
    return false;
  }
  const blob = fs.statSync(SNAPSHOT_BLOB, { throwIfNoEntry: false });
  if (blob === undefined || blob.size !== stamp.blobBytes) {
    snapshotUnusedBecause = 'the snapshot blob is missing or not the one built';
    return false;
  }
  if (!Array.isArray(stamp.modules) || stamp.modules.length === 0) {
    snapshotUnusedBecause = 'the snapshot stamp lists no modules';
    return false;
  }
  for (const m of stamp.modules) {
    const st = fs.statSync(path.join(DIST, m.file), { throwIfNoEntry: false });
    // Within a millisecond: a restored timestamp (utimes from a Date) can come back a hair earlier.
    if (st === undefined || st.size !== m.size || Math.abs(st.mtimeMs - m.mtimeMs) >= 1) {
      snapshotUnusedBecause = `${m.file} changed since the snapshot was built`;
      return false;
    }
  }
  return true;
}

/**
 * @internal The Node flags that start a local worker from the snapshot (to go before the worker
 * script and its arguments), or undefined when it is not to be used for a worker launched with `params`
 * and the Node flags `startFlags` (the caller's loader flags a worker does not defer).
 *
 * ```ts
 * const args = [...(workerSnapshotFlags(params, exeflags) ?? exeflags), WORKER_SCRIPT, '--transport=unix'];
 * ```
 */
export function workerSnapshotFlags(params: AddprocsOptions, startFlags: readonly string[] = params.exeflags ?? inheritedLoaderFlags()): string[] | undefined {
  const off = (params.env?.DISTRIBUTED_TS_WORKER_SNAPSHOT ?? process.env.DISTRIBUTED_TS_WORKER_SNAPSHOT) === '0';
  if (off) {
    snapshotUnusedBecause = 'DISTRIBUTED_TS_WORKER_SNAPSHOT=0';
    return undefined;
  }
  if ((params.exename ?? process.execPath) !== process.execPath || startFlags.length > 0) {
    snapshotUnusedBecause = 'the worker is started with an executable or flags of the caller\'s';
    return undefined;
  }
  // Node options in the worker's environment: V8 refuses a snapshot built without the V8 flags among
  // them (even --max-old-space-size), and the worker would exit before it started.
  for (const name of ['NODE_OPTIONS', 'NODE_V8_COVERAGE']) {
    const value = params.env?.[name] ?? process.env[name];
    if (value !== undefined && value.trim() !== '') {
      snapshotUnusedBecause = `${name} is set for the worker`;
      return undefined;
    }
  }
  if (!stampHolds()) return undefined;
  snapshotUnusedBecause = '';
  // `--`: what follows is the script's, as with `node main.js …` (process.argv[1] is the script).
  return ['--snapshot-blob', SNAPSHOT_BLOB, '--'];
}
