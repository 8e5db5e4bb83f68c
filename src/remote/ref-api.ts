/** The low-level reference API: `remoteref_id`, `channel_from_id`, `worker_id_from_socket`. */
import type { Socket } from 'node:net';
import { myid, PGRP } from '../cluster/process-group';
import type { Connection } from '../transport/connection';
import { Future } from './future';
import { RemoteChannel } from './remote-channel';
import { findRef, type ChannelLike, type RRID } from './ref-store';
import { knownConnections } from '../cluster/worker-links';

export type { RRID };

/**
 * The id of a remote reference: `{ whence, id }` (the process that created it and its counter there).
 *
 * ```ts
 * remoteref_id(remotecall(() => 1, 2)); // { whence: 1, id: 7 }
 * ```
 */
export function remoteref_id(ref: Future | RemoteChannel): RRID {
  if (!(ref instanceof Future) && !(ref instanceof RemoteChannel)) {
    throw new TypeError('remoteref_id: expected a Future or a RemoteChannel');
  }
  return { whence: ref.whence, id: ref.id };
}

/**
 * The backing channel of the RemoteChannel with id `id`, on the process that owns it. Throws once the
 * channel is freed (or when it is not owned here).
 *
 * ```ts
 * const rc = new RemoteChannel(() => new Channel(4));
 * channel_from_id(remoteref_id(rc)); // the Channel itself
 * ```
 */
export function channel_from_id(id: RRID): ChannelLike {
  if (id === null || typeof id !== 'object' || typeof id.whence !== 'number' || typeof id.id !== 'number') {
    throw new TypeError('channel_from_id: expected a reference id { whence, id } (see remoteref_id)');
  }
  const rv = findRef(id.whence, id.id);
  if (rv === undefined) {
    throw new Error(`channel_from_id: no channel with id ${id.whence}:${id.id} on process ${myid()} (freed, or owned by another process)`);
  }
  if (rv.channel === undefined) {
    if (rv.channelError !== undefined) throw new Error(`channel_from_id: the channel ${id.whence}:${id.id} could not be made: ${String((rv.channelError.error as Error)?.message ?? rv.channelError.error)}`);
    throw new Error(`channel_from_id: reference ${id.whence}:${id.id} on process ${myid()} is not a RemoteChannel (or its channel is not made yet)`);
  }
  return rv.channel;
}

/**
 * The id of the process at the other end of a connection's socket, or -1 when the socket is not one of
 * this process's cluster connections.
 *
 * ```ts
 * worker_id_from_socket(socket); // 2
 * ```
 */
export function worker_id_from_socket(socket: Socket | Connection): number {
  for (const rec of PGRP.processes.values()) {
    const c = rec.connection;
    if (c !== undefined && (c === socket || c.socket === socket)) return c.peer;
  }
  for (const c of knownConnections()) if (c === socket || c.socket === socket) return c.peer;
  return -1;
}
