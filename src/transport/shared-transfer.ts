/**
 * Large segments between processes on one host, through shared memory instead of the socket.
 *
 * Sending (on a Unix-socket connection): a segment of at least {@link SHARED_MIN_BYTES} is copied once
 * into a free segment of this connection's transfer pool (native TransferSender: POSIX shm, made and
 * faulted in off the event loop) and only a small descriptor travels in the frame. That copy is the
 * capture: the caller may change its array as soon as the call returns. When no free segment fits,
 * the array goes on the socket and a fitting segment is made for the next ones (a fresh segment's
 * zeroed pages would cost more than the socket).
 *
 * Segment life: a new segment is offered at once (SharedOffer, with its name); the receiver maps it,
 * unlinks the name (so names live for milliseconds and nothing stays in /dev/shm) and answers
 * SharedRelease, after which the sender uses it. For each frame the receiver's FrameReader hands the
 * decoder an ArrayBuffer over its mapping: no copy on the receiving side. When that ArrayBuffer is
 * collected the receiver sends SharedRelease and the sender reuses the segment, whose pages are mapped
 * on both sides already; a segment the pool no longer keeps is announced with SharedDrop, and one the
 * receiver could not map comes back as SharedLost. Those ArrayBuffers die young, and a young collection
 * after they arrive frees them (young-collection.ts) instead of the full one V8 would start for each.
 *
 * A side uses the path only once its peer said SharedHello, naming a probe segment the peer made:
 * reading it proves both see the same /dev/shm (a peer in another container behind a shared Unix
 * socket does not). Until then, and whenever shared memory cannot take a segment (/dev/shm too small
 * or full), segments go on the socket. `DISTRIBUTED_SHM_TRANSFER=0` turns the path off (both directions
 * of every connection of that process); `DISTRIBUTED_SHM_TRANSFER_RESERVE` (bytes) keeps that much of
 * /dev/shm free for other uses.
 */
import { TransferSender, transferProbe, transferProbeCheck, type FrameReader, type TransferSenderStats } from '../native';
import { sweepStaleSegments } from '../shared/stale-segments';

/** Segments at least this large travel through shared memory (smaller ones cost less on the socket). */
export const SHARED_MIN_BYTES = 1 << 20;
/** Bytes of released segments one connection keeps mapped for reuse. */
const MAX_FREE_BYTES = 256 * 1024 * 1024;
/** Bytes of segments one connection may have in all (the rest of a burst goes on the socket). */
const MAX_POOL_BYTES = 1024 * 1024 * 1024;

// Read from the environment when first needed, not when this module loads (a worker started from the
// start-up snapshot loaded it when the snapshot was built: src/cluster/worker-snapshot.ts).
let enabled: boolean | undefined;
const reserveBytes = (): number => Math.max(0, Number(process.env.DISTRIBUTED_SHM_TRANSFER_RESERVE) || 0);

let sweptOnce = false;

/** Counters of one connection's shared-memory transfers (for tests and benchmarks). */
export interface SharedTransferCounts {
  segmentsSent: number;
  bytesSent: number;
  segmentsReceived: number;
  bytesReceived: number;
  /** Large segments that went on the socket because shared memory could not take them. */
  fallbacks: number;
}

/** Whether connections to local peers use shared memory for large segments (DISTRIBUTED_SHM_TRANSFER). */
export function sharedTransferEnabled(): boolean {
  return (enabled ??= process.env.DISTRIBUTED_SHM_TRANSFER !== '0');
}

/**
 * @internal Turns the shared-memory path on or off for connections made from now on (benchmarks
 * measure the socket path beside it; the peer must agree, see SharedHello).
 */
export function setSharedTransfer(on: boolean): void {
  enabled = on;
}

/** A staged frame: the segments to write (descriptors in place of staged ones) and their flags. */
export interface Staged {
  segments: ArrayBufferView[];
  shared: Uint8Array | undefined;
}

/**
 * The shared-memory side of one connection. `sendControl(what, body)` sends the transport frame of
 * that kind (SharedRelease, SharedDrop, SharedLost: ids as float64s; SharedOffer: a descriptor).
 */
export class SharedTransfer {
  readonly counts: SharedTransferCounts = { segmentsSent: 0, bytesSent: 0, segmentsReceived: 0, bytesReceived: 0, fallbacks: 0 };
  private sender: TransferSender | undefined;
  private closed = false;
  /** The peer said SharedHello and we could read its probe: it accepts segments in shared memory. */
  private peerAccepts = false;
  private released: number[] = [];
  private flushing = false;
  /** The probe segment of our SharedHello, removed at close if the peer never read it. */
  private probe: string | undefined;
  /** The peer's process id as its names carry it (from its SharedHello). */
  private peerPid = 0;

  /**
   * @param accepts whether this side uses shared memory (its reader accepts descriptors).
   */
  constructor(
    private readonly reader: FrameReader,
    readonly accepts: boolean,
    private readonly sendControl: (what: 'release' | 'drop' | 'lost' | 'offer', body: Uint8Array) => void,
  ) {
    reader.onSharedCollected((id) => this.collected(id));
  }

  /**
   * The SharedHello to send once the connection is up (the name of a fresh probe segment), or
   * undefined when this side does not use shared memory or /dev/shm is not usable.
   */
  hello(): Uint8Array | undefined {
    if (!this.accepts) return undefined;
    try {
      this.probe = transferProbe(`/dts-${process.pid}-`);
      return Buffer.from(this.probe, 'latin1');
    } catch {
      return undefined;
    }
  }

  /** The peer's SharedHello: check (and remove) its probe; if we can read it, send it shared segments. */
  onHello(inline: Uint8Array): void {
    const name = Buffer.from(inline.buffer, inline.byteOffset, inline.byteLength).toString('latin1');
    const ok = transferProbeCheck(name);
    const m = /^\/dts-(\d+)-/.exec(name);
    if (ok && m !== null) this.peerPid = Number(m[1]);
    this.peerAccepts = ok && this.accepts && !this.closed;
  }

  /** Whether segments now go through shared memory (both sides agreed). */
  get active(): boolean {
    return this.peerAccepts && !this.closed;
  }

  /**
   * Copies the large segments of an outgoing frame into shared memory. Returns the segments to write
   * (the input itself when none was staged: it is never modified).
   */
  stage(segments: ArrayBufferView[]): Staged {
    let out: ArrayBufferView[] | undefined;
    let shared: Uint8Array | undefined;
    if (!this.peerAccepts) return { segments, shared };
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i];
      if (seg.byteLength < SHARED_MIN_BYTES || this.closed) continue;
      const d = this.pool().stage(seg);
      if (d === null) {
        this.counts.fallbacks++;
        continue;
      }
      if (out === undefined) {
        out = segments.slice();
        shared = new Uint8Array(segments.length);
      }
      out[i] = d;
      shared![i] = 1;
      this.counts.segmentsSent++;
      this.counts.bytesSent += seg.byteLength;
    }
    return { segments: out ?? segments, shared };
  }

  /** Counts the shared-memory buffers among a commit's buffers (their collection is reported by the reader). */
  received(buffers: ArrayBuffer[]): void {
    const pairs = this.reader.takeShared();
    for (let k = 0; k < pairs.length; k += 2) {
      this.counts.segmentsReceived++;
      this.counts.bytesReceived += buffers[pairs[k]].byteLength;
    }
  }

  /** The peer mapped or released segments of our pool: use them (telling it which ones the pool let go). */
  onRelease(inline: Uint8Array): void {
    if (this.sender === undefined || this.closed) return;
    const dropped = this.sender.release(idsOf(inline));
    if (dropped.length > 0) this.sendControl('drop', bytesOf(dropped));
  }

  /** The peer could not map segments we offered: our pool destroys them. */
  onLost(inline: Uint8Array): void {
    if (this.sender === undefined || this.closed) return;
    this.sender.lost(idsOf(inline));
  }

  /** The peer's pool let these segments go: unmap ours once nothing uses them. */
  onDrop(inline: Uint8Array): void {
    this.reader.dropShared(idsOf(inline));
  }

  /** The peer made a segment for us: map it (removing its name) and say whether we could. */
  onOffer(descriptor: Uint8Array): void {
    if (this.closed || descriptor.byteLength < 8) return;
    const id = new DataView(descriptor.buffer, descriptor.byteOffset, descriptor.byteLength).getUint32(4, true);
    this.reader.offerShared(descriptor, (why) => {
      if (!this.closed) this.sendControl(why === '' ? 'release' : 'lost', bytesOf(Float64Array.of(id)));
    });
  }

  /** Pool counters of the sending side (undefined before the first staged segment). */
  poolStats(): TransferSenderStats | undefined {
    return this.sender?.stats;
  }

  /** The connection closed: unmap the pool and remove any name the peer never took. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.peerAccepts = false;
    this.sender?.close();
    this.reader.dropShared();
    this.released.length = 0;
    if (this.probe !== undefined) transferProbeCheck(this.probe); // removes it if the peer never did
    // A peer killed between creating a segment and our mapping it leaves the name behind: remove its
    // names once it is surely dead (shortly after its connection dropped).
    const peer = this.peerPid;
    if (peer > 0) setTimeout(() => sweepStaleSegments(0, peer), 500).unref();
  }

  private pool(): TransferSender {
    if (this.sender === undefined) {
      if (!sweptOnce) {
        sweptOnce = true;
        sweepStaleSegments();
      }
      this.sender = new TransferSender(`/dts-${process.pid}-`, MAX_FREE_BYTES, MAX_POOL_BYTES, reserveBytes(), (d) => this.sendControl('offer', d));
    }
    return this.sender;
  }

  private collected(id: number): void {
    if (this.closed) return;
    this.released.push(id);
    if (this.flushing) return;
    this.flushing = true;
    // The finalizers of one collection run together: their ids go in one frame, right after them (the
    // sender may be waiting for a free segment).
    queueMicrotask(() => {
      this.flushing = false;
      if (this.closed || this.released.length === 0) return;
      const ids = Float64Array.from(this.released);
      this.released.length = 0;
      this.sendControl('release', bytesOf(ids));
    });
  }
}

/** The inline bytes of a control frame carrying `ids`. */
function bytesOf(ids: Float64Array): Uint8Array {
  return new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength);
}

/** The ids a control frame carries (its inline bytes, float64 little-endian). */
function idsOf(inline: Uint8Array): Float64Array {
  const n = Math.floor(inline.byteLength / 8);
  const ids = new Float64Array(n);
  new Uint8Array(ids.buffer).set(inline.subarray(0, n * 8));
  return ids;
}
