/**
 * Removing shared-memory names left in /dev/shm by processes that died while one had a name (a
 * transfer segment between its creation and the receiver mapping it; a SharedArray between creating
 * and unlinking its segment). Names are `/dts-<creator pid>-<16 hex digits>`. A name younger than
 * a minute is left alone: /dev/shm may be shared with containers whose live creators' pids look dead
 * from here, and their names are in flight.
 */
import * as fs from 'node:fs';
import { shmUnlink } from './native-shm';

const NAME = /^dts-(\d+)-[0-9a-f]{16}$/;
/** Names at least this old whose creator is gone are stale. */
const STALE_AFTER_MS = 60_000;

/**
 * Unlinks every `/dts-<pid>-…` name whose creator is gone (or a zombie) once it is `minAgeMs` old
 * (default a minute; 0 for names of a peer this process saw die). Never throws.
 */
export function sweepStaleSegments(minAgeMs = STALE_AFTER_MS, onlyPid?: number): void {
  let names: string[];
  try {
    names = fs.readdirSync('/dev/shm');
  } catch {
    return;
  }
  for (const n of names) {
    const m = NAME.exec(n);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || (onlyPid !== undefined && pid !== onlyPid) || processLives(pid)) continue;
    try {
      if (minAgeMs > 0 && Date.now() - fs.statSync(`/dev/shm/${n}`).mtimeMs < minAgeMs) continue;
    } catch {
      continue; // gone already
    }
    try {
      shmUnlink(`/${n}`);
    } catch {
      /* another sweeper got it, or not ours to remove */
    }
  }
}

/** Whether `pid` is a live process (a zombie has died: it only waits to be reaped). */
function processLives(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return true;
  }
}
