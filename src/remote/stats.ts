/** `stats(pid)`: what a process holds, for users chasing leaks and for tests. */
import { myid } from '../cluster/process-group';
import { connectionTo } from '../messages/messaging';
import { MessageKind } from '../wire/generated/dts/wire/message-kind';
import { sendRequest } from '../messages/requests';
import { localStats, type ProcessStats } from '../messages/process-messages';
import { flushNotices } from './ref-tracking';

export type { ProcessStats };

/**
 * Counters of process `pid` (default: this one): remote values it stores, references it holds to values
 * on other processes, requests it waits on, and the processes it is connected to. References this
 * process released are reported to `pid` first, so its count reflects them.
 *
 * ```ts
 * (await stats(2)).storedValues // 0 once every Future on worker 2 was fetched
 * ```
 */
export async function stats(pid: number = myid()): Promise<ProcessStats> {
  if (pid === myid()) return localStats();
  flushNotices(pid);
  return (await sendRequest(connectionTo(pid), MessageKind.Stats, undefined)).value as ProcessStats;
}
