/** `stats(pid)`: what a process holds, for users chasing leaks and for tests. */
import { myid } from '../cluster/process-group';
import { connectionTo, MessageKind } from '../messages/messaging';
import { sendRequest } from '../messages/requests';
import { localStats, type ProcessStats } from '../messages/process-messages';

export type { ProcessStats };

/**
 * Counters of process `pid` (default: this one): remote values it stores, requests it waits on, and the
 * processes it is connected to.
 *
 * ```ts
 * (await stats(2)).storedValues // 0 once every Future on worker 2 was fetched
 * ```
 */
export async function stats(pid: number = myid()): Promise<ProcessStats> {
  if (pid === myid()) return localStats();
  return (await sendRequest(connectionTo(pid), MessageKind.Stats, undefined)).value as ProcessStats;
}
