/**
 * Baseline: the bare-Node floor under a message to several processes at once. The parent writes a
 * tiny message to each of `n` child Node processes (echo peers, over the same transport as the
 * library's local workers) and waits until every one has echoed it back. Timing `call(1)` against
 * `call(n)` shows what the machine itself charges for fanning out: on a box with fewer cores than
 * processes, the echoes queue for a core whatever the library does.
 *
 * ```ts
 * const fan = await fanOut({ peers: 4, transport: 'unix' });
 * try { await fan.call(4); } finally { await fan.stop(); }
 * ```
 */
import type * as net from 'node:net';
import { Peer, connectTo, closeAll } from './peer-control';
import type { Transport } from './protocol';

export interface FanOutOptions {
  /** How many echo peers to start (1–16). */
  peers: number;
  transport: Transport;
  /** Message size in bytes (default 16). */
  messageBytes?: number;
}

export interface FanOut {
  /** Writes one message to each of the first `k` peers and resolves when all `k` echoed it in full. */
  call(k: number): Promise<void>;
  /** Closes the connections and ends the peers (waiting, bounded, for each to be gone). */
  stop(): Promise<void>;
}

/** Starts `peers` echo peers, connects to each, and returns the fan-out driver. */
export async function fanOut(opts: FanOutOptions): Promise<FanOut> {
  const n = Math.max(1, Math.min(Math.floor(opts.peers), 16));
  const bytes = opts.messageBytes ?? 16;
  const peers: Peer[] = [];
  const sockets: net.Socket[] = [];
  const stop = async (): Promise<void> => {
    await closeAll(sockets, []);
    await Promise.all(peers.map((p) => p.stop()));
  };
  try {
    for (let i = 0; i < n; i++) peers.push(new Peer({ mode: 'echo-data', transport: opts.transport, lifetimeMs: 600_000 }));
    for (const p of peers) {
      const { address } = await p.next('listening');
      sockets.push(await connectTo(address));
      await p.next('accepted');
    }
  } catch (e) {
    await stop();
    throw e;
  }
  // Per socket: bytes still owed by the current call, and who to tell when they are in. No timer per
  // call (it would be part of what is timed): a peer that goes away fails the call in flight instead.
  const owed = new Int32Array(n);
  const settle: Array<{ ok: () => void; fail: (e: Error) => void } | undefined> = new Array(n).fill(undefined);
  sockets.forEach((s, i) => {
    s.on('data', (chunk: Buffer) => {
      owed[i] -= chunk.length;
      if (owed[i] <= 0) settle[i]?.ok();
    });
    s.on('close', () => settle[i]?.fail(new Error(`fan-out: echo peer ${i} closed its connection`)));
  });
  const msg = Buffer.alloc(bytes, 0x5a);
  const call = (k: number): Promise<void> => {
    const m = Math.max(1, Math.min(k, n));
    const replies: Array<Promise<void>> = [];
    for (let i = 0; i < m; i++) {
      owed[i] = bytes;
      replies.push(new Promise<void>((ok, fail) => (settle[i] = { ok, fail })));
      sockets[i].write(msg);
    }
    return Promise.all(replies).then(() => undefined);
  };
  return { call, stop };
}
