/**
 * One connection between two cluster processes: handshake, then frames in both directions.
 *
 * Reading: net's `onread` asks us for the memory of each read; we hand it the native FrameReader's next
 * region, so small frames are parsed out of one staging buffer with no allocation and large segments
 * go from the kernel straight into their final ArrayBuffer.
 * Writing: one native gather write per frame from the caller's memory; only when the kernel does not
 * take the whole frame at once is the rest copied (so later mutation of the caller's arrays cannot
 * change what is sent) and queued on the socket.
 * Local peers (Unix sockets): large segments go through shared memory instead (shared-transfer.ts).
 */
import * as net from 'node:net';
import { Duplex, type Readable, type Writable } from 'node:stream';
import { FrameReader, UNCOUNTED_MIN_BYTES, writeFrame, frameBytesInto, socketFd, type TransferSenderStats } from '../native';
import { noteLargeArrival } from './young-collection';
import { takeSpill, giveSpill } from './spill-pool';
import { COOKIE_LEN } from '../cluster/cookie';
import { cookieMatches, checkVersion, helloBlock, versionBlock, VERSION_LEN } from './handshake';
import { EnvelopeReader, buildEnvelope, type Header } from '../messages/envelope';
import { MessageKind } from '../wire/generated/dts/wire/message-kind';
import { SharedTransfer, sharedTransferEnabled, type SharedTransferCounts } from './shared-transfer';

/** Frames at least this long are captured while they are written (see writeFrame's `capture`). */
const CAPTURE_WHILE_WRITING = 1 << 20;
const STAGING_BYTES = 256 * 1024;
const MAX_FRAMES_PER_COMMIT = 256;
const EMPTY_SEGMENTS: ArrayBuffer[] = [];
const EMPTY_VIEWS: ArrayBufferView[] = [];
const CONTROL_KINDS = {
  release: MessageKind.SharedRelease,
  drop: MessageKind.SharedDrop,
  lost: MessageKind.SharedLost,
  offer: MessageKind.SharedOffer,
} as const;

/** Receives each complete frame. `inline` is only valid during the call. */
export type FrameHandler = (conn: Connection, header: Header, inline: Uint8Array, segments: ArrayBuffer[]) => void;

/**
 * Where a process listens: a Unix socket path ('\0…' = abstract) or a TCP host and port (`tls`: it
 * takes only TLS connections, see tls-psk.ts).
 */
export type Address = { path: string } | { host: string; port: number; tls?: boolean };

/** Formats an address for the worker's announcement line and for messages. */
export function formatAddress(a: Address): string {
  return 'path' in a ? `unix:${a.path.replace(/^\0/, '@')}` : `${a.tls === true ? 'tls' : 'tcp'}:${a.host}:${a.port}`;
}

/**
 * A `--bind-to` value as (host, port): `host`, `host:port`, an IPv6 address bare (`::1`) or in brackets
 * (`[::1]`, `[::1]:9000`); the port is 0 (any free one) when not given.
 *
 * ```ts
 * splitBindAddress('[::1]:9000') // { host: '::1', port: 9000 }
 * ```
 */
export function splitBindAddress(s: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracketed) return { host: bracketed[1], port: Number(bracketed[2] ?? 0) };
  if (s.indexOf(':') !== s.lastIndexOf(':')) return { host: s, port: 0 }; // IPv6 without brackets: no port
  const [host, port] = s.split(':');
  return { host, port: Number(port ?? 0) };
}

/** Parses what `formatAddress` printed. */
/** How the close reason of a connection dropped for bytes that are not frames begins. */
export const INVALID_DATA = 'invalid data from process';

export function parseAddress(s: string): Address {
  if (s.startsWith('unix:')) return { path: s.slice(5).replace(/^@/, '\0') };
  const m = /^(tcp|tls):(.*):(\d+)$/.exec(s);
  if (!m) throw new Error(`unrecognised worker address ${JSON.stringify(s)}`);
  return m[1] === 'tls' ? { host: m[2], port: Number(m[3]), tls: true } : { host: m[2], port: Number(m[3]) };
}

/**
 * The byte stream under a connection: a socket (read and written natively when it has a descriptor), or
 * any Duplex a cluster manager's `connect` supplies. `ref`/`unref`, when the stream has them (a
 * net.Socket does), let an idle connection stop keeping the process alive.
 */
export type ConnectionStream = Duplex & { ref?(): unknown; unref?(): unknown; setNoDelay?(noDelay?: boolean): unknown };

/** What a custom transport hands over: one Duplex, or Julia's pair of streams (read from, write to). */
export type TransportStreams = Duplex | readonly [Readable, Writable];

/** @internal One Duplex for either shape of `TransportStreams` (a pair is joined with `Duplex.from`); `what` names the source in errors. */
export function asDuplex(streams: TransportStreams, what: string): Duplex {
  if (streams instanceof Duplex) return streams;
  if (Array.isArray(streams) && streams.length === 2 && isReadable(streams[0]) && isWritable(streams[1])) {
    const [readable, writable] = streams as readonly [Readable & Refable, Writable & Refable];
    const joined = Duplex.from({ readable, writable }) as ConnectionStream;
    // Pipes and sockets can be unreferenced: the joined stream passes that on to its halves.
    if (typeof readable.unref === 'function' || typeof writable.unref === 'function') {
      joined.ref = () => (readable.ref?.(), writable.ref?.());
      joined.unref = () => (readable.unref?.(), writable.unref?.());
    }
    return joined;
  }
  throw new TypeError(`${what} must give a Duplex stream or a pair [readable, writable], got ${describeValue(streams)}`);
}

type Refable = { ref?(): unknown; unref?(): unknown };

/**
 * @internal A stream usable at once over streams that `later` supplies (an asynchronous `connect`): writes wait,
 * in order, until they arrive; a failure of `later` destroys the stream with the reason, naming `what`.
 * Lets a connection be made synchronously, frames queuing behind the handshake as on a socket.
 */
export function deferredStream(later: Promise<TransportStreams>, what: string): ConnectionStream {
  let target: ConnectionStream | undefined;
  let referenced = true;
  const waiting: Array<() => void> = [];
  const whenThere = (op: () => void): void => {
    if (target !== undefined) op();
    else waiting.push(op);
  };
  const d: ConnectionStream = new Duplex({
    write(chunk: Buffer, _encoding, callback) {
      whenThere(() => target!.write(chunk, callback));
    },
    final(callback) {
      whenThere(() => target!.end(callback));
    },
    read() {
      target?.resume();
    },
    destroy(err, callback) {
      target?.destroy();
      callback(err);
    },
  });
  d.ref = () => ((referenced = true), target?.ref?.());
  d.unref = () => ((referenced = false), target?.unref?.());
  later
    .then((streams) => {
      const t = asDuplex(streams, what) as ConnectionStream;
      if (d.destroyed) return void t.destroy();
      target = t;
      if (!referenced) t.unref?.();
      t.on('data', (chunk: Buffer) => {
        if (!d.push(chunk)) t.pause();
      });
      t.on('end', () => d.push(null));
      t.on('error', (e: Error) => d.destroy(e));
      t.on('close', () => d.destroy());
      for (const op of waiting.splice(0)) op();
    })
    .catch((e: unknown) => d.destroy(new Error(`${what} failed: ${e instanceof Error ? e.message : String(e)}`)));
  return d;
}

function isReadable(x: unknown): x is Readable {
  return typeof (x as Readable | null)?.on === 'function' && typeof (x as Readable).read === 'function';
}
function isWritable(x: unknown): x is Writable {
  return typeof (x as Writable | null)?.on === 'function' && typeof (x as Writable).write === 'function';
}
function describeValue(x: unknown): string {
  if (x === null || typeof x !== 'object') return String(x);
  return Array.isArray(x) ? `an array of ${x.length}` : `a ${x.constructor?.name ?? 'object'}`;
}

export class Connection {
  /** The process id at the other end (0 until known). */
  peer = 0;
  readonly socket: ConnectionStream;
  /** Set once the connection is closed; sends then fail. */
  closed = false;
  closeReason = '';
  /** Frames and bytes sent, for tests and `stats`. */
  framesSent = 0;
  bytesSent = 0;
  /** Whether the connection runs over TLS (then every frame is written through the socket, never to its fd). */
  readonly encrypted: boolean;

  private fd: number | undefined;
  /** Whether frames always go through the stream's write (TLS, a custom transport): no native fd writes. */
  private readonly viaStream: boolean;
  /**
   * Whether a frame's copy may go back to the spill pool once `write` calls back: true for sockets and
   * TLS (their callback means the bytes left our buffer), false for a custom transport's stream, whose
   * callback may come while a later stage (a PassThrough, a Transform) still holds the very buffer.
   */
  private readonly reusesSpills: boolean;
  private readonly staging = new ArrayBuffer(STAGING_BYTES);
  private readonly stagingBytes = new Uint8Array(this.staging);
  private readonly descriptors = new Float64Array(6 * MAX_FRAMES_PER_COMMIT);
  private readonly reader: FrameReader;
  /** The reader's next/commit as bound functions (no unwrap of `this` on the two calls of every read). */
  private readonly readNext: () => Uint8Array;
  private readonly readCommit: (n: number) => number;
  /** Large segments through shared memory: only to a peer on this host (a Unix socket). */
  private readonly shared: SharedTransfer | undefined;
  private readonly envelopes = new EnvelopeReader(this.stagingBytes);
  private handshake: Buffer | null;
  private handshakeGot = 0;
  private holds = 0;
  private readonly onReady: () => void;
  private readonly onFail: (err: Error) => void;
  private readonly closeHandlers: Array<(conn: Connection) => void> = [];

  /** Resolves once the handshake is done; rejects if it fails. */
  readonly ready: Promise<void>;

  private constructor(
    private readonly role: 'connecting' | 'accepting',
    private readonly cookie: string,
    private readonly onFrame: FrameHandler,
    local: boolean,
    make: (onread: net.OnReadOpts) => ConnectionStream,
    /**
     * `'tls'`: the socket is TLS; `'tls-data'`: TLS whose reads come as 'data' events (a server end);
     * `'stream'`: a custom transport's stream, read from 'data' events and written through `write`.
     */
    mode?: 'tls' | 'tls-data' | 'stream',
  ) {
    this.encrypted = mode === 'tls' || mode === 'tls-data';
    this.viaStream = mode !== undefined;
    this.reusesSpills = mode !== 'stream';
    const shm = local && sharedTransferEnabled();
    this.reader = new FrameReader(this.staging, this.descriptors, { sharedMemory: shm });
    ({ next: this.readNext, commit: this.readCommit } = this.reader.bound());
    // Local connections always get one: even a side that does not use shared memory removes the probe
    // of the peer's SharedHello.
    this.shared = local ? new SharedTransfer(this.reader, shm, (what, body) => this.sendTransport(CONTROL_KINDS[what], body)) : undefined;
    this.handshake = Buffer.alloc(role === 'connecting' ? VERSION_LEN : COOKIE_LEN + VERSION_LEN);
    let ok!: () => void, fail!: (e: Error) => void;
    this.ready = new Promise<void>((res, rej) => ((ok = res), (fail = rej)));
    this.ready.catch(() => undefined);
    this.onReady = ok;
    this.onFail = fail;
    this.socket = make({
      buffer: () => (this.handshake ? this.handshake.subarray(this.handshakeGot) : this.readNext()),
      callback: (n: number) => {
        this.onBytes(n);
        return true;
      },
    });
    // A TLS server end ignores onread: its plaintext arrives as chunks, copied into the same regions.
    if (mode === 'tls-data' || mode === 'stream') this.socket.on('data', (chunk: Buffer) => this.feed(chunk));
    this.socket.on('error', (err) => this.close(err.message));
    this.socket.on('close', () => this.close('connection closed'));
    this.socket.on('end', () => {
      try {
        this.reader.end();
      } catch (e) {
        this.close((e as Error).message);
        return;
      }
      this.socket.end();
    });
  }

  /** Connects to a listening process and sends the cookie (over TLS when the address says so). */
  static connect(address: Address, cookie: string, onFrame: FrameHandler): Connection {
    const secure = !('path' in address) && address.tls === true;
    const conn = new Connection(
      'connecting',
      cookie,
      onFrame,
      'path' in address,
      (onread) => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const s = secure ? (require('./tls-psk') as typeof import('./tls-psk')).tlsConnect(address as { host: string; port: number }, cookie, onread) : net.connect({ ...address, onread } as net.NetConnectOpts);
        s.setNoDelay?.(true);
        // Written now, so it goes out first even when frames are sent before the connection is up.
        s.write(helloBlock(cookie));
        if (!secure) {
          s.once('connect', () => {
            conn.fd = socketFd(s);
          });
        }
        return s;
      },
      secure ? 'tls' : undefined,
    );
    return conn;
  }

  /**
   * A connection over a custom transport's stream (a cluster manager's `connect`, `process_messages`):
   * `'connecting'` sends the cookie first, `'accepting'` expects it. Frames are read from the stream's
   * 'data' events and written with its `write`, in order; nothing is shared through memory.
   */
  static overStream(stream: ConnectionStream, role: 'connecting' | 'accepting', cookie: string, onFrame: FrameHandler): Connection {
    return new Connection(
      role,
      cookie,
      onFrame,
      false,
      () => {
        stream.setNoDelay?.(true);
        if (role === 'connecting') stream.write(helloBlock(cookie));
        return stream;
      },
      'stream',
    );
  }

  /**
   * Takes over a socket accepted by a server created with `pauseOnConnect: true`, re-wrapping its
   * handle so reads land in our memory. The connecting side must present `cookie` first.
   */
  static accept(raw: net.Socket, cookie: string, onFrame: FrameHandler, options: { tls?: boolean } = {}): Connection {
    if (options.tls === true) {
      return new Connection(
        'accepting',
        cookie,
        onFrame,
        false,
        () => {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          const s = (require('./tls-psk') as typeof import('./tls-psk')).tlsAccept(raw, cookie);
          raw.setNoDelay?.(true);
          raw.resume();
          return s;
        },
        'tls-data',
      );
    }
    // A Unix-socket peer has no remote address: it is on this host.
    return new Connection('accepting', cookie, onFrame, typeof raw.remoteAddress !== 'string', (onread) => {
      const handle = (raw as unknown as { _handle: unknown })._handle;
      (raw as unknown as { _handle: unknown })._handle = null;
      const s = new net.Socket({ handle, onread } as unknown as net.SocketConstructorOpts);
      s.setNoDelay?.(true);
      s.resume();
      return s;
    }).afterAccept();
  }

  private afterAccept(): this {
    this.fd = socketFd(this.socket as net.Socket);
    return this;
  }

  /** Reads `chunk` as if the socket had read it into our regions (a TLS server end's 'data'). */
  private feed(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length && !this.closed) {
      const region = this.handshake ? this.handshake.subarray(this.handshakeGot) : this.readNext();
      const n = Math.min(region.length, chunk.length - off);
      region.set(chunk.subarray(off, off + n));
      off += n;
      this.onBytes(n);
    }
  }

  /** Registers a callback for when the connection closes (once). */
  onClose(h: (conn: Connection) => void): void {
    if (this.closed) h(this);
    else this.closeHandlers.push(h);
  }

  /** Keeps the event loop alive while something waits on this connection (a pending request). */
  hold(): void {
    if (this.holds++ === 0) this.socket.ref?.();
  }

  /** Undoes one `hold`; with none left the connection no longer keeps the process alive. */
  release(): void {
    if (--this.holds === 0 && this.unrefWhenIdle) this.socket.unref?.();
  }

  /** Whether an idle connection lets the process exit (true on the master, false on workers' link to it). */
  unrefWhenIdle = false;

  /** Makes an idle connection stop keeping the event loop alive. */
  setUnrefWhenIdle(on: boolean): void {
    this.unrefWhenIdle = on;
    if (on && this.holds === 0) this.socket.unref?.();
    else this.socket.ref?.();
  }

  /** Large segments sent and received through shared memory on this connection (zeros on TCP). */
  get sharedCounts(): SharedTransferCounts {
    return this.shared?.counts ?? { segmentsSent: 0, bytesSent: 0, segmentsReceived: 0, bytesReceived: 0, fallbacks: 0 };
  }

  /** The counters of this side's pool of shared-memory segments (undefined until it has one). */
  get sharedPool(): TransferSenderStats | undefined {
    return this.shared?.poolStats();
  }

  /**
   * Sends one frame: gather-written from the caller's memory; the unwritten rest, if any, is copied.
   * To a local peer, large segments are copied into shared memory instead and only named in the frame.
   */
  send(envelope: Uint8Array, inline: Uint8Array, segments: ArrayBufferView[]): void {
    if (this.closed) throw new Error(`connection to process ${this.peer} is closed (${this.closeReason})`);
    let shared: Uint8Array | undefined;
    if (this.shared !== undefined && segments.length > 0) {
      const staged = this.shared.stage(segments);
      segments = staged.segments;
      shared = staged.shared;
    }
    const s = this.socket;
    let total = 16 + 8 * segments.length + envelope.byteLength + inline.byteLength;
    for (let i = 0; i < segments.length; i++) total += segments[i].byteLength;
    this.framesSent++;
    this.bytesSent += total;
    if (this.fd !== undefined && s.writableLength === 0 && !this.handshake) {
      // A large frame that the socket may not take at once is captured as it is written (writeFrame
      // copies only what the socket has not taken).
      const spill = total >= CAPTURE_WHILE_WRITING ? takeSpill(total) : undefined;
      let written: number;
      try {
        written = writeFrame(this.fd, envelope, inline, segments, shared, spill);
      } catch (e) {
        if (spill !== undefined) giveSpill(spill);
        this.close((e as Error).message);
        throw new Error(`connection to process ${this.peer} failed: ${(e as Error).message}`);
      }
      if (written === total) {
        if (spill !== undefined) giveSpill(spill);
        return;
      }
      if (spill !== undefined) this.socket.write(spill.subarray(written, total), () => giveSpill(spill));
      else this.writeRest(envelope, inline, segments, shared, written, total - written);
    } else {
      this.writeRest(envelope, inline, segments, shared, 0, total);
    }
  }

  /** Sends a frame of the transport's own (the shared-memory control kinds); never throws. */
  private sendTransport(kind: MessageKind, inline: Uint8Array): void {
    if (this.closed) return;
    try {
      this.send(buildEnvelope(kind), inline, EMPTY_VIEWS);
    } catch {
      /* the connection failed: it is closing, and its segments go with it */
    }
  }

  /** Queues a copy of the frame's unwritten rest on the socket, in a pooled buffer when it is large. */
  private writeRest(
    envelope: Uint8Array,
    inline: Uint8Array,
    segments: ArrayBufferView[],
    shared: Uint8Array | undefined,
    skip: number,
    rest: number,
  ): void {
    const spill = this.reusesSpills ? takeSpill(rest) : Buffer.allocUnsafe(rest);
    frameBytesInto(spill, envelope, inline, segments, skip, shared);
    const bytes = spill.length === rest ? spill : spill.subarray(0, rest);
    if (this.reusesSpills) this.socket.write(bytes, () => giveSpill(spill));
    else this.socket.write(bytes);
  }

  /** Closes the connection (idempotent) and tells the close handlers. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    this.onFail(new Error(reason));
    this.socket.destroy();
    this.shared?.close();
    for (const h of this.closeHandlers.splice(0)) h(this);
  }

  private onBytes(n: number): void {
    if (this.closed) return;
    if (this.handshake) {
      this.handshakeGot += n;
      if (this.handshakeGot < this.handshake.length) return;
      const block = this.handshake;
      this.handshake = null;
      try {
        if (this.role === 'accepting') {
          if (!cookieMatches(block, this.cookie)) throw new Error('connection without the cluster cookie dropped');
          checkVersion(block.subarray(COOKIE_LEN));
          this.socket.write(versionBlock());
        } else {
          checkVersion(block);
        }
      } catch (e) {
        this.close((e as Error).message);
        return;
      }
      if (this.fd === undefined && !this.viaStream) this.fd = socketFd(this.socket as net.Socket);
      const hello = this.shared?.hello();
      if (hello !== undefined) this.sendTransport(MessageKind.SharedHello, hello);
      this.onReady();
      return;
    }
    let count: number;
    try {
      count = this.readCommit(n);
      while (count > 0) {
        this.deliver(count);
        if (this.closed || count < MAX_FRAMES_PER_COMMIT) break;
        count = this.readCommit(0);
      }
    } catch (e) {
      this.close(`${INVALID_DATA} ${this.peer || '?'}: ${(e as Error).message}`);
    }
  }

  private onSharedControl(shared: SharedTransfer, kind: MessageKind, body: Uint8Array): void {
    switch (kind) {
      case MessageKind.SharedRelease:
        return shared.onRelease(body);
      case MessageKind.SharedDrop:
        return shared.onDrop(body);
      case MessageKind.SharedHello:
        return shared.onHello(body);
      case MessageKind.SharedOffer:
        return shared.onOffer(body);
      case MessageKind.SharedLost:
        return shared.onLost(body);
    }
  }

  private deliver(count: number): void {
    const d = this.descriptors;
    let needSegments = false;
    for (let i = 0; i < count; i++) if (d[i * 6 + 4] > 0 || d[i * 6 + 5] >= 0) needSegments = true;
    const all = needSegments ? this.reader.takeSegments() : EMPTY_SEGMENTS;
    if (needSegments) {
      if (this.shared !== undefined) this.shared.received(all);
      noteLarge(all);
    }
    let next = 0;
    for (let i = 0; i < count && !this.closed; i++) {
      const o = i * 6;
      const envOff = d[o], envLen = d[o + 1], inlOff = d[o + 2], inlLen = d[o + 3], segCount = d[o + 4], body = d[o + 5];
      let backing = this.stagingBytes;
      let header: Header;
      if (body >= 0) {
        backing = new Uint8Array(all[next++]);
        header = this.envelopes.read(envOff, envLen, backing);
      } else {
        header = this.envelopes.read(envOff, envLen);
      }
      const segments = segCount === 0 ? EMPTY_SEGMENTS : all.slice(next, next + segCount);
      next += segCount;
      if (header.kind >= MessageKind.SharedRelease && header.kind <= MessageKind.SharedLost) {
        // The transport's own frames. On TCP a peer could be anywhere: names it sends are not ours to touch.
        if (this.shared !== undefined) this.onSharedControl(this.shared, header.kind, backing.subarray(inlOff, inlOff + inlLen));
        continue;
      }
      this.onFrame(this, header, backing.subarray(inlOff, inlOff + inlLen), segments);
    }
  }
}

/**
 * The large buffers of a commit are uncounted ArrayBuffers over memory of ours (native.ts,
 * UNCOUNTED_MIN_BYTES): they cannot be transferred (a transfer list copies them), and a young
 * collection soon frees those nobody keeps.
 */
function noteLarge(buffers: ArrayBuffer[]): void {
  let bytes = 0;
  for (let i = 0; i < buffers.length; i++) {
    const ab = buffers[i];
    if (ab.byteLength < UNCOUNTED_MIN_BYTES) continue;
    // Loaded on the first large arrival: a worker starts without node:worker_threads.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    markUntransferable ??= (require('node:worker_threads') as typeof import('node:worker_threads')).markAsUntransferable;
    markUntransferable(ab);
    bytes += ab.byteLength;
  }
  if (bytes > 0) noteLargeArrival(bytes);
}

let markUntransferable: ((o: object) => void) | undefined;
