/** `interrupt(...pids)`: stop what workers are computing (Julia's `interrupt`). */
import { PGRP, myid, workers } from '../cluster/process-group';
import { managerOf } from '../cluster/addprocs';

/**
 * Interrupts the computation running on each worker in `pids` (default: every worker), as Ctrl-C would
 * locally: a synchronous loop is broken, an awaited call fails; the interrupted call rejects with a
 * `RemoteException` wrapping `InterruptException`, and the worker stays in the cluster for the next call.
 * Only the master can interrupt (it asks each worker's cluster manager; local workers get SIGINT).
 *
 * ```ts
 * const f = remotecall(() => { for (;;) {} }, 2);
 * interrupt(2);
 * await f.fetch(); // rejects: RemoteException wrapping InterruptException
 * ```
 */
export function interrupt(...pids: (number | readonly number[])[]): void {
  if (myid() !== 1) throw new Error(`interrupt: only process 1 can interrupt workers (this is process ${myid()})`);
  const list = pids.length === 0 ? workers().filter((p) => p !== 1) : pids.flat();
  for (const pid of list) {
    if (!Number.isInteger(pid) || pid < 2) throw new TypeError(`interrupt: ${String(pid)} is not a worker id`);
    const rec = PGRP.get(pid);
    if (rec === undefined || rec.state === 'down') throw new Error(`interrupt: no worker with id ${pid}`);
  }
  for (const pid of list) {
    const rec = PGRP.get(pid)!;
    void Promise.resolve(managerOf(pid)?.manage(pid, rec.config, 'interrupt')).catch(() => undefined);
  }
}
