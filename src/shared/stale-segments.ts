/**
 * Removing shared-memory names left in /dev/shm by processes that died while one had a name (a
 * SharedArray between creating and unlinking its segment; a transfer segment between its creation
 * and the receiver mapping it). Names are `/dts-<creator pid>-<16 hex digits>`.
 */
import * as fs from 'node:fs';
import { shmUnlink } from './native-shm';

const NAME = /^dts-(\d+)-[0-9a-f]{16}$/;

/** Unlinks every `/dts-<pid>-…` segment whose creator is gone (or a zombie). Never throws. */
export function sweepStaleSegments(): void {
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
    if (pid === process.pid || processLives(pid)) continue;
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
