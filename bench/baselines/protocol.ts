/** Messages between a baseline (parent) and its peer process (bench/baselines/peer.ts), over fork's IPC. */

export type Transport = 'tcp' | 'unix';

/** A listening address: abstract Unix socket path ('\0...') or loopback TCP. */
export type Address = { path: string } | { host: string; port: number };

export type PeerMode =
  /** One connection (parent connects to the peer); the peer echoes with 'data' events + write. */
  | 'echo-data'
  /** Two connections, each side reads its client socket with `onread`; the peer echoes what it reads. */
  | 'echo-onread'
  /** Two connections; the peer receives `bytes` into one preallocated buffer and echoes it back. */
  | 'bulk'
  /** No sockets; runs cpuWork(n) on each 'go' message. */
  | 'cpu';

export interface PeerConfig {
  mode: PeerMode;
  transport?: Transport;
  /** Address of the parent's server, for the modes where the peer also connects to the parent. */
  parentAddress?: Address;
  /** bulk: bytes per message. */
  bytes?: number;
  /** bulk: how the peer reads ('onread' into a preallocated buffer, or 'data' events + Buffer.concat). */
  receiver?: 'onread' | 'data';
  /** The peer exits on its own after this long whatever happens (safety net). */
  lifetimeMs: number;
  /** Keep the event loop turning (a `setImmediate` chain) so the process never sleeps waiting for a read. */
  poll?: boolean;
}

export type ToParent =
  | { type: 'listening'; address: Address }
  | { type: 'accepted' }
  | { type: 'ready' }
  /** bulk: the whole message of round `round` has arrived; `t` = process.hrtime.bigint() then (ns, as a string). */
  | { type: 'received'; round: number; t: string }
  /** cpu: start/end = process.hrtime.bigint() (ns, strings); result keeps the loop alive. */
  | { type: 'cpu'; start: string; end: string; result: number }
  | { type: 'error'; message: string };

export type ToPeer = { type: 'go'; n: number } | { type: 'exit' };
