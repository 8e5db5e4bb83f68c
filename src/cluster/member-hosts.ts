/**
 * Telling workers which host every process is on, so `procs(pid)` on a worker (and a SharedArray's
 * default `pids` there) gives what it gives on process 1.
 *
 * Only process 1 knows the hosts: each worker's cluster manager set `WorkerConfig.host` when it launched
 * it (LocalManager 'localhost', SSHManager the machine's host). A worker knows its peers only by the
 * addresses they listen on, which say nothing about shared memory (two hosts can both listen on
 * 127.0.0.1 behind ssh tunnels). So when a worker is up (before `addprocs` returns, and before any other
 * message process 1 sends it), process 1 sends it the host of every process, and sends every other worker
 * the new worker's host. Both travel in a Members notice (`hosts`), on the connection that carries the
 * membership news itself, so a worker hears of a process before it hears of its host; until then it
 * counts the process as on the master's host ('localhost'), as before.
 */
import { PGRP, myid } from './process-group';
import type { MembersNotice } from './addprocs';
import { sendFrame } from '../messages/messaging';
import { MessageKind } from '../wire/generated/dts/wire/message-kind';

/** One process's host, as process 1 names it. */
export interface HostEntry {
  id: number;
  host: string;
}

/** A Members notice that carries hosts (it may carry membership changes too). */
export type HostsNotice = Partial<MembersNotice> & { hosts?: HostEntry[] };

/** Process 1's name for its own host, and for a worker whose manager gave no host. */
export const MASTER_HOST = 'localhost';

/** The host of every process process 1 knows (itself, the workers up and those still joining). */
function everyHost(): HostEntry[] {
  const out: HostEntry[] = [{ id: 1, host: MASTER_HOST }];
  for (const rec of PGRP.processes.values()) out.push({ id: rec.id, host: rec.config.host ?? MASTER_HOST });
  return out;
}

function tell(pid: number, hosts: HostEntry[]): void {
  const conn = PGRP.get(pid)?.connection;
  if (conn === undefined || conn.closed) return;
  const notice: HostsNotice = { add: [], remove: [], hosts };
  try {
    sendFrame(conn, MessageKind.Members, notice, { rootPath: 'members' });
  } catch {
    // that worker is going away itself
  }
}

/**
 * Applies a notice's hosts on a worker (called by the worker's Members handler).
 * @internal
 */
export function applyHosts(notice: HostsNotice): void {
  for (const h of notice.hosts ?? []) PGRP.hostNames.set(h.id, h.host);
}

// First among the onUp handlers: the default worker pool's (which may send the worker a call at once)
// runs after the worker knows the hosts.
PGRP.onUp.unshift((id) => {
  if (myid() !== 1) return;
  tell(id, everyHost());
  const rec = PGRP.get(id);
  if (rec === undefined) return;
  const mine = [{ id, host: rec.config.host ?? MASTER_HOST }];
  for (const pid of PGRP.upIds()) if (pid !== id) tell(pid, mine);
});
