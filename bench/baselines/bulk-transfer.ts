/**
 * Baseline 2: moving a large buffer to a child Node process and back over loopback TCP or an abstract
 * Unix socket, the receiver reading with net's `onread` straight into one preallocated full-size buffer;
 * and the in-process memcpy reference.
 */
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { median } from '../lib/stats';
import { Peer, listenLoopback, connectTo, nextConnection, closeAll } from './peer-control';
import type { Transport } from './protocol';

/** MB = 10⁶ bytes throughout. */
const MB = 1e6;

export interface BulkTransferOptions {
  transport: Transport;
  /** Bytes each way per round (default 80e6 = a 10⁷-element Float64Array). */
  bytes?: number;
  /** Timed rounds (default 5). */
  rounds?: number;
  /** Untimed rounds first (default 1). */
  warmup?: number;
  /** How both receivers read: 'onread' into a preallocated buffer (default), or 'data' events + Buffer.concat. */
  receiver?: 'onread' | 'data';
  /** Stop after this many timed ms even if fewer rounds were done (default 60 s; at least one round runs). */
  maxMs?: number;
  /** Check once, after timing, that the echo equals what was sent (default true). */
  verify?: boolean;
}

export interface BulkTransferResult {
  transport: Transport;
  receiver: 'onread' | 'data';
  bytes: number;
  /** Timed rounds done. */
  rounds: number;
  /** Effective one-way rate: bytes / (median round trip / 2), MB/s (MB = 10⁶ bytes). */
  mbPerSec: number;
  /** Parent → child: from the parent's write() to the child holding the last byte (median), MB/s. */
  mbPerSecToChild: number;
  /** Child → parent: from the child's echo write() to the parent holding the last byte (median), MB/s. */
  mbPerSecToParent: number;
  /** Median time for `bytes` to go there and back, ms. */
  roundTripMs: number;
  roundTripMsSamples: number[];
  /** The echo matched what was sent (undefined if not checked). */
  verified?: boolean;
}

const hr = () => process.hrtime.bigint();
const nsToMs = (ns: bigint) => Number(ns) / 1e6;

/**
 * Sends `bytes` to a child process and receives them echoed back, `rounds` times, one round at a time.
 * Two connections (each side reads with `onread` on its client socket, writes on its accepted one).
 * Per-direction times use process.hrtime (CLOCK_MONOTONIC, shared by both processes).
 */
export async function bulkTransfer(opts: BulkTransferOptions): Promise<BulkTransferResult> {
  const o: Required<BulkTransferOptions> = {
    bytes: 80e6,
    rounds: 5,
    warmup: 1,
    receiver: 'onread',
    maxMs: 60_000,
    verify: true,
    ...opts,
  };
  const bytes = Math.floor(o.bytes);
  if (!(bytes > 0)) throw new RangeError('bytes must be positive');
  const roundTimeout = 60_000 + bytes / (10 * MB) * 1000; // ≥ 10 MB/s or something is wrong

  const { server, address: parentAddress } = await listenLoopback(o.transport);
  const peer = new Peer({
    mode: 'bulk',
    transport: o.transport,
    parentAddress,
    bytes,
    receiver: o.receiver,
    lifetimeMs: o.maxMs + (o.warmup + 2) * roundTimeout,
  });
  let out: net.Socket | undefined;
  let inp: net.Socket | undefined;
  try {
    const send = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i += 4096) send[i] = (i / 4096) & 0xff; // touched, not all-zero
    send.writeUInt32LE(0xdeadbeef, bytes - 4 > 0 ? bytes - 4 : 0);

    // Receiving side of the parent: resolves `arrived` with hrtime when `bytes` have landed.
    let arrived: ((t: bigint) => void) | undefined;
    let recv: Buffer | undefined;
    let onread: net.OnReadOpts | undefined;
    if (o.receiver === 'onread') {
      const buf = Buffer.alloc(bytes); // zero-filled: pages are faulted in before timing
      recv = buf;
      let filled = 0;
      onread = {
        buffer: () => buf.subarray(filled),
        callback: (n) => {
          filled += n;
          if (filled >= bytes) {
            const t = hr();
            filled = 0; // next round starts only after this one, so nothing is overwritten early
            arrived?.(t);
          }
          return true;
        },
      };
    }

    const accepted = nextConnection(server);
    const { address } = await peer.next('listening');
    out = await accepted;
    inp = await connectTo(address, onread);
    await peer.next('accepted');
    if (o.receiver === 'data') {
      let chunks: Buffer[] = [];
      let got = 0;
      inp.on('data', (c: Buffer) => {
        chunks.push(c);
        got += c.length;
        if (got >= bytes) {
          recv = Buffer.concat(chunks, got);
          const t = hr();
          chunks = [];
          got = 0;
          arrived?.(t);
        }
      });
    }

    const rt: number[] = [];
    const toChild: number[] = [];
    const toParent: number[] = [];
    const w = out;
    const tBegin = performance.now();
    for (let r = 0; r < o.warmup + o.rounds; r++) {
      const back = new Promise<bigint>((resolve) => (arrived = resolve));
      const t0 = hr();
      w.write(send);
      const [tEnd, got] = await peer.guard(Promise.all([back, peer.next('received', roundTimeout)]), roundTimeout, `bulk round ${r}`);
      arrived = undefined;
      if (got.round !== r) throw new Error(`bulk: peer reported round ${got.round}, expected ${r}`);
      const tChild = BigInt(got.t);
      if (r >= o.warmup) {
        rt.push(nsToMs(tEnd - t0));
        toChild.push(nsToMs(tChild - t0));
        toParent.push(nsToMs(tEnd - tChild));
        if (performance.now() - tBegin > o.maxMs) break;
      }
    }

    const verified = o.verify ? recv!.length === bytes && recv!.equals(send) : undefined;
    const rtMs = median(rt);
    return {
      transport: o.transport,
      receiver: o.receiver,
      bytes,
      rounds: rt.length,
      mbPerSec: bytes / MB / (rtMs / 2 / 1000),
      mbPerSecToChild: bytes / MB / (median(toChild) / 1000),
      mbPerSecToParent: bytes / MB / (median(toParent) / 1000),
      roundTripMs: rtMs,
      roundTripMsSamples: rt,
      verified,
    };
  } finally {
    await closeAll([out, inp], [server]);
    await peer.stop();
  }
}

/**
 * The memcpy reference: MB/s of one `Buffer.prototype.copy` of `bytes` (default 80e6) between two
 * in-process buffers whose pages are already faulted in; median of `rounds` (default 5) copies.
 */
export async function memcpyMBps(bytes = 80e6, rounds = 5): Promise<number> {
  const n = Math.floor(bytes);
  const src = Buffer.alloc(n, 0x11);
  const dst = Buffer.alloc(n);
  src.copy(dst); // warm-up
  const samples: number[] = [];
  for (let r = 0; r < Math.max(1, Math.min(rounds, 1000)); r++) {
    const t0 = performance.now();
    src.copy(dst);
    samples.push(performance.now() - t0);
  }
  if (dst[n - 1] !== 0x11) throw new Error('memcpy reference: copy did not happen');
  return n / MB / (median(samples) / 1000);
}
