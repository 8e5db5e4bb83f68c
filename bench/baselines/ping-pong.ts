/**
 * Baseline 1: bare Node round trip of a tiny message with a child Node process over loopback TCP or an
 * abstract Unix socket. One message in flight; the child echoes; latency = write → full reply.
 */
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { stats } from '../lib/stats';
import { Peer, listenLoopback, connectTo, nextConnection, closeAll } from './peer-control';
import type { Transport } from './protocol';

export type PingPongVariant = 'data' | 'onread';

export interface PingPongOptions {
  transport: Transport;
  /** Timed round trips (default 10_000). */
  iterations?: number;
  /** Untimed round trips first (default 1000). */
  warmup?: number;
  /** Message size in bytes (default 16). */
  messageBytes?: number;
  /** Which reader(s) to measure (default 'both'). */
  variant?: PingPongVariant | 'both';
  /** Stop early (with the samples so far) after this long per variant (default 30 s). */
  maxMs?: number;
  /**
   * Both processes keep their event loops turning (a `setImmediate` chain) instead of sleeping between
   * messages (default false): the bare counterpart of the library's idle polling.
   */
  poll?: boolean;
}

export interface PingPongStats {
  meanUs: number;
  medianUs: number;
  p99Us: number;
  minUs: number;
  /** Timed round trips actually made (fewer than asked only if maxMs ran out). */
  iterations: number;
}

export interface PingPongResult extends PingPongStats {
  transport: Transport;
  /** The variant whose figures are at the top level: the faster (lower median) of those measured. */
  variant: PingPongVariant;
  /** Plain `socket.write` + 'data' events, one connection (what a user writes). */
  data?: PingPongStats;
  /** Each side reads with net's `onread` into a fixed buffer (two connections: each reads its client socket). */
  onread?: PingPongStats;
}

/**
 * Drives `iterations + warmup` sequential round trips: `send()` writes one message, and the returned
 * `onBytes(n)` must be called as reply bytes arrive. Resolves with per-round-trip µs samples.
 */
function runLoop(
  send: () => void,
  iterations: number,
  warmup: number,
  messageBytes: number,
  maxMs: number,
): { onBytes: (n: number) => void; done: Promise<Float64Array> } {
  const total = warmup + iterations;
  const samples = new Float64Array(iterations);
  let i = 0;
  let got = 0;
  let t0 = 0;
  let deadline = Infinity;
  let finish!: (s: Float64Array) => void;
  const done = new Promise<Float64Array>((r) => (finish = r));
  const onBytes = (n: number) => {
    got += n;
    if (got < messageBytes) return;
    const t1 = performance.now();
    got -= messageBytes;
    if (i >= warmup) samples[i - warmup] = (t1 - t0) * 1000;
    else if (i === warmup - 1) deadline = t1 + maxMs;
    i++;
    if (i >= total || t1 > deadline) return finish(samples.subarray(0, Math.max(0, i - warmup)));
    t0 = performance.now();
    send();
  };
  if (warmup === 0) deadline = performance.now() + maxMs;
  // Started by the caller once the handler is in place:
  queueMicrotask(() => {
    t0 = performance.now();
    send();
  });
  return { onBytes, done };
}

function summarize(samples: Float64Array): PingPongStats {
  const s = stats(samples);
  return { meanUs: s.mean, medianUs: s.median, p99Us: s.p99, minUs: s.min, iterations: s.n };
}

/** Overall bound on one variant's run: maxMs for timed part plus generous room for warmup. */
function bound(maxMs: number): number {
  return 2 * maxMs + 30_000;
}

async function pingPongData(o: Required<PingPongOptions>): Promise<PingPongStats> {
  const peer = new Peer({ mode: 'echo-data', transport: o.transport, lifetimeMs: bound(o.maxMs) + 30_000, poll: o.poll });
  let sock: net.Socket | undefined;
  try {
    const { address } = await peer.next('listening');
    sock = await connectTo(address);
    await peer.next('accepted');
    const s = sock;
    const msg = Buffer.alloc(o.messageBytes, 0x5a);
    const loop = runLoop(() => s.write(msg), o.iterations, o.warmup, o.messageBytes, o.maxMs);
    s.on('data', (chunk: Buffer) => loop.onBytes(chunk.length));
    return summarize(await peer.guard(loop.done, bound(o.maxMs), 'ping-pong (data)'));
  } finally {
    await closeAll([sock], []);
    await peer.stop();
  }
}

async function pingPongOnread(o: Required<PingPongOptions>): Promise<PingPongStats> {
  const { server, address: parentAddress } = await listenLoopback(o.transport);
  const peer = new Peer({ mode: 'echo-onread', transport: o.transport, parentAddress, lifetimeMs: bound(o.maxMs) + 30_000, poll: o.poll });
  let out: net.Socket | undefined;
  let inp: net.Socket | undefined;
  try {
    const accepted = nextConnection(server);
    const { address } = await peer.next('listening');
    out = await accepted; // parent writes here; the peer reads it with onread
    let onBytes: (n: number) => void = () => undefined;
    const buf = Buffer.alloc(64 * 1024);
    inp = await connectTo(address, { buffer: buf, callback: (n) => (onBytes(n), true) });
    await peer.next('accepted');
    const w = out;
    const msg = Buffer.alloc(o.messageBytes, 0x5a);
    const loop = runLoop(() => w.write(msg), o.iterations, o.warmup, o.messageBytes, o.maxMs);
    onBytes = loop.onBytes;
    return summarize(await peer.guard(loop.done, bound(o.maxMs), 'ping-pong (onread)'));
  } finally {
    await closeAll([out, inp], [server]);
    await peer.stop();
  }
}

/**
 * Round-trip latency of a tiny message to a child Node process and back. Measures the plain 'data'
 * variant and the `onread` variant (by default both) and puts the faster one's figures at the top level.
 */
export async function pingPong(opts: PingPongOptions): Promise<PingPongResult> {
  const o: Required<PingPongOptions> = {
    iterations: 10_000,
    warmup: 1000,
    messageBytes: 16,
    variant: 'both',
    maxMs: 30_000,
    poll: false,
    ...opts,
  };
  let polling: NodeJS.Immediate | undefined;
  const poll = (): void => void (polling = setImmediate(poll));
  if (o.poll) poll();
  let data: PingPongStats | undefined, onread: PingPongStats | undefined;
  try {
    data = o.variant === 'data' || o.variant === 'both' ? await pingPongData(o) : undefined;
    onread = o.variant === 'onread' || o.variant === 'both' ? await pingPongOnread(o) : undefined;
  } finally {
    if (polling !== undefined) clearImmediate(polling);
  }
  const best: PingPongVariant = !onread ? 'data' : !data ? 'onread' : onread.medianUs < data.medianUs ? 'onread' : 'data';
  const top = (best === 'data' ? data : onread)!;
  return { ...top, transport: o.transport, variant: best, data, onread };
}
