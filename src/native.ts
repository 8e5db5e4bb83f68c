/**
 * The C++ Node-API addon (native/): the frame reader and writer of the wire protocol
 * (schema/wire.fbs), with typed wrappers.
 *
 * Frame layout: a 16-byte little-endian header (magic 0x46535444 'DTSF', envelope length, inline
 * length, segment count), the segment table (segment count x uint64 LE lengths), the envelope bytes,
 * the inline bytes, then the segments back to back.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as net from 'node:net';

/** Limits a FrameReader enforces on incoming frames. */
export interface FrameReaderOptions {
  /** Largest envelope accepted, in bytes (default 1 MiB). Larger: ERR_FRAME_TOO_LARGE. */
  maxEnvelopeBytes?: number;
  /** Most segments a frame may carry (default 65536). More: ERR_FRAME_TOO_LARGE. */
  maxSegments?: number;
  /** Largest total frame accepted, header to last segment (default 2^40). Larger: ERR_FRAME_TOO_LARGE. */
  maxFrameBytes?: number;
  /**
   * Whether segment memory of 1 MiB or more is 2 MiB aligned and advised MADV_HUGEPAGE, so the
   * kernel can back it with transparent huge pages (fewer page faults while a large segment is
   * received). Default true.
   */
  hugePages?: boolean;
  /**
   * Whether segments may arrive in shared memory (a segment-table entry with bit 63 set is a descriptor
   * naming a segment of the peer's transfer pool; see native/transfer_segments.h). Only for
   * connections to a peer on this host. Default false: such an entry is ERR_FRAME_CORRUPT.
   */
  sharedMemory?: boolean;
}

/**
 * Parses the frame stream read from a socket, with reads landing straight in the reader's memory:
 *
 * ```ts
 * net.connect({ path, onread: { buffer: () => reader.next(), callback: (n) => { let k = reader.commit(n); ... } } })
 * ```
 *
 * Complete frames are described in the descriptors table, {@link DESCRIPTOR_FIELDS} float64s each:
 * `[envelopeOffset, envelopeLength, inlineOffset, inlineLength, segmentCount, bodyBufferIndex]`.
 * Offsets are into the staging ArrayBuffer when bodyBufferIndex is -1, otherwise into
 * `takeSegments()[bodyBufferIndex]` (a body too large for staging gets its own buffer). A frame's
 * buffers appear in takeSegments() in frame order: its body buffer (if any), then its segments.
 *
 * Errors (thrown by commit/end, each an Error with `code`): 'ERR_FRAME_CORRUPT' (bad magic),
 * 'ERR_FRAME_TOO_LARGE' (a length beyond the limits, or memory for it could not be had),
 * 'ERR_FRAME_TRUNCATED' (end() inside a frame). After one, the reader is failed: commit, end and
 * takeSegments rethrow it (next() keeps returning harmless scratch memory, since Node calls the
 * buffer generator even after the read callback destroyed the socket). Misuse of the reader's
 * protocol throws 'ERR_FRAME_STATE'; bad arguments throw TypeError / RangeError.
 */
export interface FrameReader {
  /**
   * The memory the next socket read must write into: the free tail of staging, or a view of the
   * unfilled rest of a large segment's (or a large body's) own ArrayBuffer. Invalidates the frames
   * described by the previous commit (staging is compacted). Never empty.
   */
  next(): Uint8Array;
  /**
   * Records that `n` bytes were written into the region last returned by next() (0 ≤ n ≤ its
   * length; commit(0) just continues parsing), parses every complete frame it can and describes
   * them in the descriptors table. Returns the number of frames described; when it equals the
   * table's capacity, call commit(0) again (after consuming them) to parse the rest.
   */
  commit(n: number): number;
  /** `next` and `commit` as functions bound to this reader (cheaper to call: no `this` to unwrap). */
  bound(): { next(): Uint8Array; commit(n: number): number };
  /**
   * The buffers of the frames described by the last commit: each frame's dedicated body buffer (if
   * its bodyBufferIndex ≥ 0) then its segments, each segment its own ArrayBuffer of exactly its
   * length. Hands them over once: a second call returns [].
   */
  takeSegments(): ArrayBuffer[];
  /** The stream ended: throws ERR_FRAME_TRUNCATED if a partial frame is buffered, else does nothing. */
  end(): void;
  /** Bytes held of a frame not yet complete. */
  readonly buffered: number;
  /**
   * The shared-memory segments among the buffers of the last commit, as `[index in takeSegments(),
   * segment id]` pairs (empty without `sharedMemory`). Hands them over once.
   */
  takeShared(): Float64Array;
  /**
   * The sender dropped these segments from its pool (all of them when `ids` is omitted: the connection
   * closed): unmap them once no ArrayBuffer over them lives.
   */
  dropShared(ids?: Float64Array): void;
  /**
   * A SharedOffer's descriptor: maps the segment it names and removes the name from /dev/shm, off the
   * event loop, then calls `done('')` when mapped, else `done(why not)` (then answer SharedLost).
   */
  offerShared(descriptor: Uint8Array, done: (why: string) => void): void;
  /**
   * Calls `collected(id)` each time an ArrayBuffer over shared-memory segment `id` is collected.
   */
  onSharedCollected(collected: (id: number) => void): void;
  /** Shared-memory segments this reader holds mapped. */
  readonly sharedMapped: number;
}

/** Constructs a {@link FrameReader}. */
export interface FrameReaderConstructor {
  /**
   * @param staging where headers, tables, envelopes, inline streams and small segments are read
   *   (at least {@link MIN_STAGING_BYTES}; 256 KiB is a good size). Kept and written by the reader.
   * @param descriptors the frame descriptor table ({@link DESCRIPTOR_FIELDS} float64s per frame).
   */
  new (staging: ArrayBuffer, descriptors: Float64Array, options?: FrameReaderOptions): FrameReader;
}

/** An error from a failed native write: `code` is the errno name ('EPIPE'), `errno` its negative number. */
export interface NativeSystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

/** Codes of the errors a FrameReader throws on bad input or misuse. */
export type FrameErrorCode = 'ERR_FRAME_CORRUPT' | 'ERR_FRAME_TOO_LARGE' | 'ERR_FRAME_TRUNCATED' | 'ERR_FRAME_STATE';

/** Counters of one connection's pool of outgoing shared-memory segments. */
export interface TransferSenderStats {
  segments: number;
  /** Bytes of segments the receiver still holds. */
  leasedBytes: number;
  /** Bytes of segments ready for reuse. */
  freeBytes: number;
  created: number;
  /** Segments being created (off the event loop). */
  creating: number;
  /** Stagings into a pooled segment. */
  reused: number;
  /** Stagings that went to the socket instead (no free segment fitted yet, or shared memory could not take it). */
  fallbacks: number;
  /** Why the last fallback happened ('' if none). */
  lastFailure: string;
}

/**
 * One connection's pool of outgoing shared-memory segments (native/transfer_segments.h):
 * `stage(view)` copies the bytes into a free (already mapped and faulted-in) segment and answers the
 * descriptor to send in the view's place; or answers null (send the bytes on the socket) when none
 * fits, and then creates one off the event loop, named `prefix + 16 random hex digits` (O_EXCL, mode
 * 0600), unless the pool is at `maxPoolBytes` or /dev/shm cannot hold it. A new segment is handed to
 * `onOffer` (its descriptor, with the name) to send to the receiver at once; it is used once the
 * receiver answers (`release`).
 */
export interface TransferSender {
  stage(view: ArrayBufferView): Buffer | null;
  /**
   * The receiver mapped these offered segments or is done with these staged ones: they are free. Returns
   * the ids dropped to keep the pool within its bound (tell the receiver).
   */
  release(ids: Float64Array): Float64Array;
  /** The receiver could not map these offered segments: destroy them. */
  lost(ids: Float64Array): void;
  /** Unmaps every segment and removes any name still in /dev/shm. */
  close(): void;
  readonly stats: TransferSenderStats;
}

/** Constructs a {@link TransferSender}. */
export interface TransferSenderConstructor {
  /**
   * @param prefix segment names start with it ('/dts-<pid>-').
   * @param maxFreeBytes bytes of released segments kept for reuse.
   * @param maxPoolBytes at most this many bytes of segments (held by the receiver, free, or being made).
   * @param reserveBytes a new segment must leave this much of /dev/shm free, else the socket is used.
   * @param onOffer called with each new segment's descriptor (send it as a SharedOffer).
   */
  new (prefix: string, maxFreeBytes: number, maxPoolBytes: number, reserveBytes: number, onOffer: (descriptor: Buffer) => void): TransferSender;
}

interface NativeAddon {
  FrameReader: FrameReaderConstructor;
  enableInterrupts(onIdleInterrupt: () => void): void;
  callBreakable(f: Function, args: readonly unknown[]): unknown;
  TransferSender: TransferSenderConstructor;
  transferProbe(prefix: string): string;
  transferProbeCheck(name: string): boolean;
  collectYoung(keepExposed: boolean): number;
  accountSurvivors(epoch: number): number;
  uncountedStats(): UncountedStats;
  UNCOUNTED_MIN_BYTES: number;
  setIdleSpin(windowMicros: number): void;
  idleSpinStats(): IdleSpinStats;
  setBatchScheduling(on: boolean): boolean;
  batchScheduling(): boolean;
  writeFrame(
    fd: number,
    envelope: ArrayBufferView,
    inline: ArrayBufferView,
    segments: ReadonlyArray<ArrayBufferView | ArrayBuffer>,
    shared?: Uint8Array,
    capture?: Uint8Array,
  ): number;
  frameLength(envelope: ArrayBufferView, inline: ArrayBufferView, segments: ReadonlyArray<ArrayBufferView | ArrayBuffer>): number;
  frameBytes(envelope: ArrayBufferView, inline: ArrayBufferView, segments: ReadonlyArray<ArrayBufferView | ArrayBuffer>, skip: number): Buffer;
  frameBytes(
    envelope: ArrayBufferView,
    inline: ArrayBufferView,
    segments: ReadonlyArray<ArrayBufferView | ArrayBuffer>,
    skip: number,
    into: Uint8Array,
    shared?: Uint8Array,
  ): number;
  segmentPoolStats(): SegmentPoolStats;
  FRAME_MAGIC: number;
  FRAME_HEADER_BYTES: number;
  DESCRIPTOR_FIELDS: number;
  MIN_STAGING_BYTES: number;
}

/** The pool of large received-segment memory (runs of 1 MiB or more), as `segmentPoolStats()` reports it. */
export interface SegmentPoolStats {
  /** Bytes of freed runs kept for reuse (at most 512 MiB). */
  pooledBytes: number;
  pooledBlocks: number;
  /** Large runs served from the pool so far. */
  reused: number;
  /** Large runs freshly mapped so far. */
  mapped: number;
}

/** The package root: the nearest directory above this file holding package.json. */
function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`distributed-ts: no package.json above ${__dirname}`);
    dir = up;
  }
}

/** The path of the loaded addon file (helper threads load the same file). */
export let addonPath = '';

function loadAddon(): NativeAddon {
  const root = packageRoot();
  const candidates = ['Release', 'Debug'].map((c) => path.join(root, 'build', c, 'distributed_native.node'));
  for (const file of candidates) {
    if (fs.existsSync(file)) {
      addonPath = file;
      // Straight to dlopen: `require` would resolve and realpath the file first (only this module loads it).
      const mod = { exports: {} as NativeAddon };
      process.dlopen(mod, file);
      return mod.exports;
    }
  }
  throw new Error(
    `distributed-ts: the native addon is not built (looked for ${candidates.join(', ')}); run \`npm run build:native\` (cmake-js compile) in ${root}`,
  );
}

// A plain object the addon's functions are copied into: the addon's own exports object is a
// dictionary, so each `addon.x(…)` on it would be a generic lookup (one per frame written, for
// writeFrame). Filled by bindAddon, when this module loads — or, while the worker start-up snapshot is
// built (a builder cannot load an addon: src/cluster/worker-snapshot.ts), when a worker starts from it.
const addon = {} as NativeAddon;

/** @internal The loaded addon itself, for modules that keep their own typed wrappers (src/shared/native-shm.ts). */
export const rawAddon: unknown = addon;

/** Loads the addon into `addon` and sets the exports taken from it. */
function bindAddon(): void {
  Object.assign(addon, loadAddon());
  FrameReader = addon.FrameReader;
  TransferSender = addon.TransferSender;
  UNCOUNTED_MIN_BYTES = addon.UNCOUNTED_MIN_BYTES;
  FRAME_MAGIC = addon.FRAME_MAGIC;
  FRAME_HEADER_BYTES = addon.FRAME_HEADER_BYTES;
  DESCRIPTOR_FIELDS = addon.DESCRIPTOR_FIELDS;
  MIN_STAGING_BYTES = addon.MIN_STAGING_BYTES;
  callBreakableNative = addon.callBreakable;
}

/** The frame reader class (see {@link FrameReader}). */
export let FrameReader: FrameReaderConstructor;

/** The per-connection pool of outgoing shared-memory segments (see {@link TransferSender}). */
export let TransferSender: TransferSenderConstructor;

/**
 * Creates a tiny shared-memory segment named `prefix` + 16 random hex digits that holds its own name,
 * and returns the name: a peer that can read it (see {@link transferProbeCheck}) shares our /dev/shm.
 */
export function transferProbe(prefix: string): string {
  return addon.transferProbe(prefix);
}

/** Whether the probe segment `name` exists and holds its name; removes it either way. */
export function transferProbeCheck(name: string): boolean {
  return addon.transferProbeCheck(name);
}

/**
 * Received ArrayBuffers at least this large (a large segment from the socket, any from shared memory)
 * are not counted by V8 as external memory: V8 would start a full collection for each (64 MB or more
 * since the last one), costing more than the copy that moved it. They die young, and a young
 * collection ({@link collectYoung}) frees them; those that outlive one are counted
 * ({@link accountSurvivors}), so long-lived arrays weigh on V8's schedule as any external memory does.
 */
export let UNCOUNTED_MIN_BYTES: number;

/**
 * Runs a young-generation collection now and returns its number. V8 offers it only under
 * `--expose-gc`, which is set for the call and then turned off again unless `keepExposed` (it was on
 * already).
 */
export function collectYoung(keepExposed: boolean): number {
  return addon.collectYoung(keepExposed);
}

/**
 * Counts as external memory this thread's uncounted ArrayBuffers (see {@link UNCOUNTED_MIN_BYTES})
 * made before young collection `epoch` and alive still; returns their bytes.
 */
export function accountSurvivors(epoch: number): number {
  return addon.accountSurvivors(epoch);
}

/** This thread's live uncounted ArrayBuffers, and the bytes of those counted after all (for tests). */
export interface UncountedStats {
  live: number;
  liveBytes: number;
  accountedBytes: number;
}

/** The counters of {@link UncountedStats}. */
export function uncountedStats(): UncountedStats {
  return addon.uncountedStats();
}

/**
 * Sets the window (microseconds, 0 = off) for which this thread's event loop polls instead of sleeping
 * after each frame read or written (see src/transport/idle-spin.ts).
 */
export function setIdleSpin(windowMicros: number): void {
  addon.setIdleSpin(windowMicros);
}

/** This thread's polling window and what it did: windows opened, loop iterations that polled. */
export interface IdleSpinStats {
  windowMicros: number;
  windows: number;
  polls: number;
  /** Whether a window is open now. */
  active: boolean;
}

/** The counters of {@link IdleSpinStats}. */
export function idleSpinStats(): IdleSpinStats {
  return addon.idleSpinStats();
}

/**
 * Puts this thread under Linux's SCHED_BATCH (on) or back under SCHED_OTHER (off): a batch thread
 * never preempts another on waking (see src/worker/batch-scheduling.ts). Answers whether the thread now
 * has the policy asked for (false off Linux, or under a real-time or idle policy, which is left alone).
 */
export function setBatchScheduling(on: boolean): boolean {
  return addon.setBatchScheduling(on);
}

/** Whether this thread runs under SCHED_BATCH. */
export function batchScheduling(): boolean {
  return addon.batchScheduling();
}

/** 0x46535444, 'DTSF' read as a little-endian uint32: the first field of every frame. */
export let FRAME_MAGIC: number;
/** Bytes of the fixed frame header. */
export let FRAME_HEADER_BYTES: number;
/** Float64s per frame in a FrameReader's descriptor table. */
export let DESCRIPTOR_FIELDS: number;
/** Smallest staging ArrayBuffer a FrameReader accepts. */
export let MIN_STAGING_BYTES: number;

/**
 * Writes one frame to the non-blocking socket (or pipe/file) `fd` with gather writes straight from
 * the caller's memory (sendmsg with MSG_NOSIGNAL|MSG_DONTWAIT in chunks of IOV_MAX iovecs; writev for
 * fds that are not sockets). Only call it when nothing else is queued on that fd.
 *
 * `shared[i] !== 0` marks segment i as a shared-memory descriptor (its table entry gets bit 63).
 *
 * With `capture` (at least the frame's length), the rest the socket does not take is copied there
 * before this returns (capture[k] = the frame's byte k from the returned count on), from the end
 * backwards, while the socket goes on taking bytes from the front: what it took needs no copy. Then
 * send `capture.subarray(written, length)`.
 *
 * @returns the bytes written: the frame's full length, or fewer (possibly 0) when the socket would
 *   block — then send the rest by ordinary means (`capture`, or `frameBytes(..., written)`).
 * @throws {NativeSystemError} on a hard error (EPIPE, ECONNRESET, EBADF, ...); TypeError/RangeError on bad arguments.
 *
 * ```ts
 * const spill = new Uint8Array(frameLength(env, inl, segs));
 * const n = writeFrame(fd, env, inl, segs, undefined, spill); // spill.subarray(n) is the rest
 * ```
 */
export function writeFrame(
  fd: number,
  envelope: ArrayBufferView,
  inline: ArrayBufferView,
  segments: ReadonlyArray<ArrayBufferView | ArrayBuffer>,
  shared?: Uint8Array,
  capture?: Uint8Array,
): number {
  return addon.writeFrame(fd, envelope, inline, segments, shared, capture);
}

/** The total byte length of the frame these parts make (header, table, envelope, inline, segments). */
export function frameLength(envelope: ArrayBufferView, inline: ArrayBufferView, segments: ReadonlyArray<ArrayBufferView | ArrayBuffer>): number {
  return addon.frameLength(envelope, inline, segments);
}

/**
 * The frame's bytes from offset `skip` to its end, copied into one new Buffer (so later changes to
 * the caller's arrays cannot change what is sent).
 */
export function frameBytes(
  envelope: ArrayBufferView,
  inline: ArrayBufferView,
  segments: ReadonlyArray<ArrayBufferView | ArrayBuffer>,
  skip: number,
): Buffer {
  return addon.frameBytes(envelope, inline, segments, skip);
}

/**
 * Copies the frame's bytes from offset `skip` to its end into `into` (at least that long: a reused spill
 * buffer, so a large partial write costs a memcpy into memory already faulted in, not a fresh
 * allocation). Returns the number of bytes copied.
 */
export function frameBytesInto(
  into: Uint8Array,
  envelope: ArrayBufferView,
  inline: ArrayBufferView,
  segments: ReadonlyArray<ArrayBufferView | ArrayBuffer>,
  skip: number,
  shared?: Uint8Array,
): number {
  return addon.frameBytes(envelope, inline, segments, skip, into, shared);
}

/**
 * Counters of the large-segment memory pool: freed runs of received arrays are kept (bounded) and
 * reused for later ones, so a stream of large arrays does not pay a page fault and a zeroed page per
 * 4 KiB each time.
 */
export function segmentPoolStats(): SegmentPoolStats {
  return addon.segmentPoolStats();
}

/**
 * Installs this process's SIGINT handler for breakable calls (native/interrupts.h): from then on a SIGINT
 * terminates the running `callBreakable` call, or, when none runs, calls `onIdleInterrupt` on the
 * event loop. The process is never ended by SIGINT. Once per process; main thread only.
 */
export function enableNativeInterrupts(onIdleInterrupt: () => void): void {
  addon.enableInterrupts(onIdleInterrupt);
}

/** `f(...args)`, broken by a SIGINT (an error with code ERR_SCRIPT_EXECUTION_INTERRUPTED) once enabled. */
export let callBreakableNative: (f: Function, args: readonly unknown[]) => unknown;

/**
 * The OS file descriptor under a connected net.Socket (Node keeps it on the internal handle), or
 * undefined when there is none (not connected yet, closed, or not fd-backed).
 */
export function socketFd(socket: net.Socket): number | undefined {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : undefined;
}

// Last, once every export above is declared.
if (process.execArgv.includes('--build-snapshot')) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('node:v8') as typeof import('node:v8')).startupSnapshot.addDeserializeCallback(bindAddon);
} else {
  bindAddon();
}
