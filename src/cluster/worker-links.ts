/**
 * Worker-to-worker connections (topology 'all_to_all'). A worker dials another at the address the
 * master told it (Join record, Members notices), presents the cluster cookie, and identifies itself
 * (MessageKind.Identify); the accepting worker maps the connection to that pid. With `lazy: true` (the
 * default) a connection is made on a pair's first message; with `lazy: false` each worker dials every
 * worker it was told of when it joins. Two workers that dial each other at once keep both connections:
 * each sends on its own and receives on both.
 * With topology 'master_worker' workers never connect, and a worker-to-worker call fails clearly. With
 * topology 'custom' workers connect when they join, only to the workers their cluster manager linked
 * them with (`ident`, `connect_idents`); a call to another worker fails clearly.
 * A worker reached by its manager's own transport may have no address (`connect_at`): other workers
 * cannot dial it, and a call to it from one fails clearly.
 */
import { PGRP } from './process-group';
import { cluster_cookie } from './cookie';
import { Connection, deferredStream, parseAddress } from '../transport/connection';
import { handleFrame, onMessage, reply } from '../messages/process-messages';
import { setDialer } from '../messages/messaging';
import { MessageKind } from '../wire/generated/dts/wire/message-kind';
import { sendRequest } from '../messages/requests';
import type { PeerEntry } from './addprocs';
import type { ClusterManager } from './cluster-manager';

/** The cluster manager this worker process was initialised with (`init_worker`): its `connect` makes worker-to-worker links. */
let workerManager: ClusterManager | undefined;

/** Whether this worker can dial a worker it was told of: linked by the topology, and an address or a manager of its own to reach it. */
export function dialable(o: PeerEntry): boolean {
  return o.linked !== false && (o.address !== undefined || workerManager?.connect !== undefined);
}

/** @internal Sets this worker's own cluster manager (`init_worker`). */
export function setWorkerManager(manager: ClusterManager | undefined): void {
  workerManager = manager;
}

/**
 * Records another worker as the master told of it (Join record, Members notice): its address, if it
 * has one, and whether the topology lets the two connect.
 */
export function notePeer(o: PeerEntry): void {
  if (o.linked === false) PGRP.unlinked.add(o.id);
  if (o.host !== undefined) PGRP.hostNames.set(o.id, o.host);
  const known = PGRP.get(o.id);
  if (known === undefined) PGRP.add(o.id, { host: 'localhost', connect_at: o.address }).state = 'up';
  else known.config.connect_at ??= o.address; // it dialled us before we heard of it
}

/** Every worker-to-worker connection of this process (both directions). */
const links = new Set<Connection>();
/** Resolves once the worker dialled has registered this one. */
const identified = new Map<number, Promise<unknown>>();

/** This process's worker-to-worker connections (for `worker_id_from_socket`). */
export function knownConnections(): Iterable<Connection> {
  return links;
}

function adopt(conn: Connection, pid: number): void {
  conn.peer = pid;
  links.add(conn);
  let rec = PGRP.get(pid);
  if (rec === undefined) {
    rec = PGRP.add(pid, { host: 'localhost' });
    rec.state = 'up';
  }
  if (rec.connection === undefined || rec.connection.closed) rec.connection = conn;
  conn.onClose(() => {
    links.delete(conn);
    identified.delete(pid);
    // A worker's links close only when it goes away.
    PGRP.get(pid)?.markGone(conn.closeReason);
  });
  // The link to the master keeps a worker alive (and its loss ends it): links to workers never do.
  conn.setUnrefWhenIdle(true);
}

/** Opens this worker's connection to worker `pid`; frames sent at once queue behind the handshake. */
function dial(pid: number): Connection | undefined {
  if (PGRP.id === 1 || pid === 1) return undefined;
  const rec = PGRP.get(pid);
  if (rec === undefined) return undefined;
  if (PGRP.topology === 'master_worker') {
    throw new Error(
      `process ${PGRP.id} cannot reach process ${pid}: the cluster runs with topology 'master_worker', where workers talk only to the master (use topology 'all_to_all' for worker-to-worker calls)`,
    );
  }
  if (PGRP.topology === 'custom' && PGRP.unlinked.has(pid)) {
    throw new Error(
      `process ${PGRP.id} cannot reach process ${pid}: the cluster runs with topology 'custom', and their cluster manager did not link them (neither lists the other's ident in its connect_idents); calls through the master still work`,
    );
  }
  const connect = workerManager?.connect;
  if (connect !== undefined) {
    // This worker's own transport (init_worker(cookie, manager)): the manager reaches the peer, by its
    // connect_at or however it knows it (Julia's connect(manager, pid, config) on a worker).
    const manager = workerManager;
    const streams = Promise.resolve().then(() => connect.call(manager, pid, rec.config));
    const stream = deferredStream(streams, `the cluster manager's connect to process ${pid}`);
    return identify(Connection.overStream(stream, 'connecting', cluster_cookie(), handleFrame), pid, rec);
  }
  const address = rec.config.connect_at;
  if (typeof address !== 'string') {
    throw new Error(
      `process ${PGRP.id} cannot reach process ${pid}: process ${pid} has no address other workers can connect to (its cluster manager reaches it through a transport of its own, from the master only)`,
    );
  }
  return identify(Connection.connect(parseAddress(address), cluster_cookie(), handleFrame), pid, rec);
}

/** Makes `conn` the link to worker `pid` and introduces this worker on it. */
function identify(conn: Connection, pid: number, rec: NonNullable<ReturnType<typeof PGRP.get>>): Connection {
  rec.connection = conn;
  adopt(conn, pid);
  const answer = sendRequest(conn, MessageKind.Identify, PGRP.id, { rootPath: 'id' });
  answer.catch(() => undefined);
  identified.set(pid, answer);
  return conn;
}

/** Connects to worker `pid` now (lazy: false) and resolves once it has registered this worker. */
export async function connectToWorker(pid: number): Promise<void> {
  const rec = PGRP.get(pid);
  if (rec === undefined || (rec.connection !== undefined && !rec.connection.closed)) return;
  dial(pid);
  await identified.get(pid);
}

setDialer(dial);

onMessage(MessageKind.Identify, (conn, h, payload) => {
  const pid = payload;
  // (A worker still joining handles this only once it has joined: process-messages holds it till then.)
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid < 2 || pid === PGRP.id || PGRP.topology === 'master_worker') {
    conn.close(`refused an Identify from ${String(pid)}`);
    return;
  }
  adopt(conn, pid);
  reply(conn, h.requestId, PGRP.id, false);
});
