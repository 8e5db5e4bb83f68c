/**
 * The native frame reader and writer (native/frame_reader.cc, native/frame_writer.cc) over real Unix
 * sockets (abstract namespace, nothing left on disk), plus direct feeding for corrupt input.
 */
import * as net from 'node:net';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomFillSync } from 'node:crypto';
import {
  FrameReader,
  type FrameReaderOptions,
  writeFrame,
  frameLength,
  frameBytes,
  socketFd,
  DESCRIPTOR_FIELDS,
  FRAME_MAGIC,
} from '../src/native';

jest.setTimeout(30000);

interface Frame {
  envelope: Buffer;
  inline: Buffer;
  segments: ArrayBuffer[];
  bodyIndex: number;
}

/** Reads frames off a socket through FrameReader, as the connection does. */
class Collector {
  readonly staging: ArrayBuffer;
  readonly descriptors: Float64Array;
  readonly reader: FrameReader;
  readonly frames: Frame[] = [];
  readonly directBuffers = new Set<ArrayBufferLike>();
  reads = 0;
  commitCalls = 0;
  error: (Error & { code?: string }) | undefined;
  private waiters: Array<() => void> = [];

  constructor(stagingBytes = 256 * 1024, maxFrames = 64, options?: FrameReaderOptions) {
    this.staging = new ArrayBuffer(stagingBytes);
    this.descriptors = new Float64Array(DESCRIPTOR_FIELDS * maxFrames);
    this.reader = new FrameReader(this.staging, this.descriptors, options);
  }

  get onread(): net.OnReadOpts {
    return {
      buffer: () => {
        const region = this.reader.next();
        if (region.buffer !== this.staging) this.directBuffers.add(region.buffer);
        return region;
      },
      callback: (n: number) => {
        this.reads++;
        this.feed(n);
        return true;
      },
    };
  }

  /** Commits n bytes and drains every complete frame (continuing with commit(0) on overflow). */
  feed(n: number): void {
    if (this.error) return;
    try {
      const cap = this.descriptors.length / DESCRIPTOR_FIELDS;
      let count = this.reader.commit(n);
      this.commitCalls++;
      for (;;) {
        this.deliver(count);
        if (count < cap) break;
        count = this.reader.commit(0);
        this.commitCalls++;
      }
    } catch (e) {
      this.error = e as Error;
    }
    for (const w of this.waiters.splice(0)) w();
  }

  private deliver(count: number): void {
    if (count === 0) return;
    const d = this.descriptors;
    const all = this.reader.takeSegments();
    let next = 0;
    for (let i = 0; i < count; i++) {
      const o = i * DESCRIPTOR_FIELDS;
      const body = d[o + 5];
      let backing = new Uint8Array(this.staging);
      if (body >= 0) {
        expect(body).toBe(next);
        backing = new Uint8Array(all[next++]);
      }
      const envelope = Buffer.from(backing.subarray(d[o], d[o] + d[o + 1]));
      const inline = Buffer.from(backing.subarray(d[o + 2], d[o + 2] + d[o + 3]));
      const segments = all.slice(next, next + d[o + 4]);
      next += d[o + 4];
      this.frames.push({ envelope, inline, segments, bodyIndex: body });
    }
    expect(next).toBe(all.length);
  }

  /** Resolves once `cond` holds (checked after each read) or rejects after `ms`. */
  until(cond: () => boolean, ms = 10000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; got ${this.frames.length} frames, error ${this.error?.message}`)), ms);
      const check = (): void => {
        if (cond() || this.error) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }
}

interface Pair {
  writer: net.Socket;
  reader: net.Socket;
  fd: number;
  close(): Promise<void>;
}

/** A Unix-socket pair: `writer` is the accepted side (we writeFrame on its fd), `reader` reads via onread. */
async function socketPair(onread: net.OnReadOpts): Promise<Pair> {
  const address = `\0dts-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const server = net.createServer();
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address, resolve);
  });
  const reader = net.connect({ path: address, onread } as net.NetConnectOpts);
  await new Promise<void>((resolve, reject) => {
    reader.once('connect', resolve);
    reader.once('error', reject);
  });
  const writer = await accepted;
  const fd = socketFd(writer);
  if (fd === undefined) throw new Error('no fd on the accepted socket');
  return {
    writer,
    reader,
    fd,
    async close() {
      writer.destroy();
      reader.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Sends one frame: gather write, then the copied rest through the socket when the kernel is full. */
function send(p: Pair, envelope: Uint8Array, inline: Uint8Array, segments: ArrayBufferView[]): number {
  const total = frameLength(envelope, inline, segments);
  const written = p.writer.writableLength === 0 ? writeFrame(p.fd, envelope, inline, segments) : 0;
  if (written < total) p.writer.write(frameBytes(envelope, inline, segments, written));
  return written;
}

function pattern(bytes: number, seed: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(bytes / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return new Uint8Array(words.buffer, 0, bytes);
}

function sameBytes(a: ArrayBuffer | Uint8Array, b: Uint8Array): boolean {
  const x = a instanceof Uint8Array ? a : new Uint8Array(a);
  return x.byteLength === b.byteLength && Buffer.compare(Buffer.from(x.buffer, x.byteOffset, x.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

/** Feeds bytes into a reader without a socket, in chunks of `chunk` bytes (or chosen by `chunk()`). */
function feedDirect(c: Collector, bytes: Uint8Array, chunk: number | (() => number)): void {
  let off = 0;
  while (off < bytes.length && !c.error) {
    const region = c.reader.next();
    const want = typeof chunk === 'number' ? chunk : chunk();
    const n = Math.min(region.length, want, bytes.length - off);
    region.set(bytes.subarray(off, off + n));
    off += n;
    c.feed(n);
  }
}

function header(magic: number, env: number, inl: number, segs: number, lens: Array<number | bigint> = []): Uint8Array {
  const b = Buffer.alloc(16 + 8 * lens.length);
  b.writeUInt32LE(magic >>> 0, 0);
  b.writeUInt32LE(env >>> 0, 4);
  b.writeUInt32LE(inl >>> 0, 8);
  b.writeUInt32LE(segs >>> 0, 12);
  lens.forEach((l, i) => b.writeBigUInt64LE(BigInt(l), 16 + 8 * i));
  return b;
}

/** Matches a thrown error by class name (native errors come from another realm than jest's globals). */
function named(name: string): Error {
  const matcher = { asymmetricMatch: (e: unknown) => typeof e === 'object' && e !== null && (e as Error).name === name, toString: () => name };
  return matcher as unknown as Error; // an asymmetric matcher, typed for toThrow()
}

const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));

/**
 * Writes with `write` into a socket whose reader is paused (so the socket fills and a large frame is
 * only partly taken), then lets the reader go and checks the one frame that arrives with `check`.
 */
async function throughFullSocket(write: (p: Pair) => void, check: (f: Frame) => void): Promise<void> {
  const c = new Collector();
  const p = await socketPair(c.onread);
  try {
    p.reader.pause();
    write(p);
    p.reader.resume();
    await c.until(() => c.frames.length === 1, 20000);
    expect(c.error).toBeUndefined();
    check(c.frames[0]);
  } finally {
    await p.close();
  }
}


describe('frames over a Unix socket', () => {
  test('many small frames in one read', async () => {
    const c = new Collector();
    const p = await socketPair(c.onread);
    try {
      c.reader; // reads are paused until all frames are queued
      p.reader.pause();
      const N = 200;
      for (let i = 0; i < N; i++) {
        const segs = i % 3 === 0 ? [] : [new Uint8Array([i & 255, 1, 2]), new Float64Array([i, -i])];
        expect(send(p, enc(`env${i}`), enc(`inline-${i}`), segs)).toBe(frameLength(enc(`env${i}`), enc(`inline-${i}`), segs));
      }
      p.reader.resume();
      await c.until(() => c.frames.length === N);
      expect(c.error).toBeUndefined();
      expect(c.reads).toBeLessThan(N / 10);
      c.frames.forEach((f, i) => {
        expect(f.envelope.toString()).toBe(`env${i}`);
        expect(f.inline.toString()).toBe(`inline-${i}`);
        expect(f.bodyIndex).toBe(-1);
        if (i % 3 === 0) expect(f.segments).toEqual([]);
        else {
          expect(f.segments.length).toBe(2);
          expect(Array.from(new Uint8Array(f.segments[0]))).toEqual([i & 255, 1, 2]);
          expect(Array.from(new Float64Array(f.segments[1]))).toEqual([i, -i]);
        }
      });
      expect(c.reader.buffered).toBe(0);
    } finally {
      await p.close();
    }
  });

  test('a frame split across many reads', async () => {
    const c = new Collector();
    const p = await socketPair(c.onread);
    try {
      const seg = pattern(3000, 7);
      const bytes = frameBytes(enc('split-envelope'), enc('split-inline'), [seg], 0);
      for (let off = 0; off < bytes.length; off += 97) {
        p.writer.write(bytes.subarray(off, off + 97));
        await new Promise((r) => setTimeout(r, 1));
      }
      await c.until(() => c.frames.length === 1);
      expect(c.error).toBeUndefined();
      expect(c.reads).toBeGreaterThan(5);
      expect(c.frames[0].envelope.toString()).toBe('split-envelope');
      expect(c.frames[0].inline.toString()).toBe('split-inline');
      expect(sameBytes(c.frames[0].segments[0], seg)).toBe(true);
    } finally {
      await p.close();
    }
  });

  test('the rest of a large frame is copied intact from any offset (large copies go in parallel chunks)', () => {
    // 9 MiB + 5 bytes of random bits: over the parallel copy's threshold, with a ragged last chunk.
    const seg = new Uint8Array(9 * 1024 * 1024 + 5);
    randomFillSync(seg);
    const whole = frameBytes(enc('E'), enc('I'), [seg], 0);
    expect(Buffer.compare(whole.subarray(whole.length - seg.length), Buffer.from(seg))).toBe(0);
    for (const skip of [1, 4097, whole.length - seg.length + 3]) {
      const rest = frameBytes(enc('E'), enc('I'), [seg], skip);
      expect(rest.length).toBe(whole.length - skip);
      expect(Buffer.compare(rest, whole.subarray(skip))).toBe(0);
    }
  });

  test('a frame fed 1..13 bytes at a time parses identically', () => {
    const c = new Collector(64 * 1024, 4);
    const segs = [new Uint8Array(0), pattern(1000, 3), pattern(70000, 4), new Uint8Array(0)];
    const one = frameBytes(enc('E'), enc('II'), segs, 0);
    const all = Buffer.concat([one, one, one]);
    let k = 0;
    feedDirect(c, all, () => 1 + (k++ % 13));
    expect(c.error).toBeUndefined();
    expect(c.frames.length).toBe(3);
    for (const f of c.frames) {
      expect(f.envelope.toString()).toBe('E');
      expect(f.inline.toString()).toBe('II');
      expect(f.segments.map((s) => s.byteLength)).toEqual([0, 1000, 70000, 0]);
      expect(sameBytes(f.segments[1], segs[1])).toBe(true);
      expect(sameBytes(f.segments[2], segs[2])).toBe(true);
    }
    c.reader.end();
  });

  test('segments of 0 bytes, small, and 80 MB: bit-exact, own buffers, the big one read into place', async () => {
    const c = new Collector();
    const p = await socketPair(c.onread);
    try {
      const big = pattern(80 * 1024 * 1024, 12345);
      const small = pattern(333, 9);
      const segs = [new Uint8Array(0), small, big, new Uint8Array(0)];
      const written = send(p, enc('big-env'), enc('big-inline'), segs);
      expect(written).toBeLessThan(frameLength(enc('big-env'), enc('big-inline'), segs)); // the socket filled up
      await c.until(() => c.frames.length === 1, 20000);
      expect(c.error).toBeUndefined();
      const f = c.frames[0];
      expect(f.envelope.toString()).toBe('big-env');
      expect(f.inline.toString()).toBe('big-inline');
      expect(f.segments.map((s) => s.byteLength)).toEqual([0, 333, big.byteLength, 0]);
      expect(new Set(f.segments).size).toBe(4);
      for (const s of f.segments) expect(s).toBeInstanceOf(ArrayBuffer);
      expect(sameBytes(f.segments[1], small)).toBe(true);
      expect(sameBytes(f.segments[2], big)).toBe(true);
      expect(c.directBuffers.has(f.segments[2])).toBe(true);
      expect(c.reader.buffered).toBe(0);
    } finally {
      await p.close();
    }
  });

  test('a body larger than staging gets its own buffer', async () => {
    const c = new Collector(64 * 1024, 8);
    const p = await socketPair(c.onread);
    try {
      const envelope = pattern(200 * 1024, 1);
      const inline = pattern(300 * 1024, 2);
      const seg = pattern(10, 3);
      send(p, envelope, inline, [seg]);
      send(p, enc('after'), enc('x'), []);
      await c.until(() => c.frames.length === 2);
      expect(c.error).toBeUndefined();
      const f = c.frames[0];
      expect(f.bodyIndex).toBe(0);
      expect(sameBytes(f.envelope, envelope)).toBe(true);
      expect(sameBytes(f.inline, inline)).toBe(true);
      expect(f.segments.length).toBe(1);
      expect(sameBytes(f.segments[0], seg)).toBe(true);
      expect(c.frames[1].envelope.toString()).toBe('after');
      expect(c.frames[1].bodyIndex).toBe(-1);
    } finally {
      await p.close();
    }
  });

  test('descriptor-table overflow is continued by commit(0)', async () => {
    const c = new Collector(256 * 1024, 4);
    const p = await socketPair(c.onread);
    try {
      p.reader.pause();
      const N = 101;
      for (let i = 0; i < N; i++) send(p, enc(`e${i}`), enc(`i${i}`), i % 2 ? [new Uint8Array([i])] : []);
      p.reader.resume();
      await c.until(() => c.frames.length === N);
      expect(c.error).toBeUndefined();
      expect(c.commitCalls).toBeGreaterThanOrEqual(Math.ceil(N / 4));
      c.frames.forEach((f, i) => {
        expect(f.envelope.toString()).toBe(`e${i}`);
        expect(f.inline.toString()).toBe(`i${i}`);
        if (i % 2) expect(Array.from(new Uint8Array(f.segments[0]))).toEqual([i]);
      });
    } finally {
      await p.close();
    }
  });

  test('a partial write completes through frameBytes(skip) and is immune to later mutation', async () => {
    const seg = pattern(8 * 1024 * 1024, 77);
    const original = Uint8Array.from(seg);
    const envelope = enc('partial');
    await throughFullSocket(
      (p) => {
        const total = frameLength(envelope, new Uint8Array(0), [seg]);
        const written = writeFrame(p.fd, envelope, new Uint8Array(0), [seg]);
        expect(written).toBeGreaterThan(0);
        expect(written).toBeLessThan(total);
        // The socket is full now: another gather write takes nothing.
        expect(writeFrame(p.fd, envelope, new Uint8Array(0), [seg])).toBe(0);
        const rest = frameBytes(envelope, new Uint8Array(0), [seg], written);
        expect(rest.length).toBe(total - written);
        p.writer.write(rest);
        seg.fill(0xee); // must not change what is sent
      },
      (f) => {
        expect(f.envelope.toString()).toBe('partial');
        expect(sameBytes(f.segments[0], original)).toBe(true);
      },
    );
  });

  test('a write with a capture copies only what the socket did not take, and is immune to later mutation', async () => {
    const seg = pattern(8 * 1024 * 1024 + 3, 91);
    const original = Uint8Array.from(seg);
    const envelope = enc('captured');
    const inline = enc('inl');
    await throughFullSocket(
      (p) => {
        const total = frameLength(envelope, inline, [seg]);
        const capture = new Uint8Array(total).fill(0xab);
        const written = writeFrame(p.fd, envelope, inline, [seg], undefined, capture);
        expect(written).toBeGreaterThan(0);
        expect(written).toBeLessThan(total);
        // The rest is the frame's own bytes at their own offsets; what the socket took was not copied.
        expect(Buffer.compare(Buffer.from(capture.subarray(written)), frameBytes(envelope, inline, [seg], written))).toBe(0);
        expect(capture[0]).toBe(0xab);
        seg.fill(0xee); // must not change what is sent
        p.writer.write(capture.subarray(written));
      },
      (f) => {
        expect(f.envelope.toString()).toBe('captured');
        expect(f.inline.toString()).toBe('inl');
        expect(sameBytes(f.segments[0], original)).toBe(true);
      },
    );
  });

  test('a captured write of many segments (past the stack iovecs) arrives whole, every part in place', async () => {
    const segs = Array.from({ length: 40 }, (_, k) => pattern(300 * 1024 + k * 7, k + 1));
    const originals = segs.map((x) => Uint8Array.from(x));
    await throughFullSocket(
      (p) => {
        const total = frameLength(enc('many'), enc('parts'), segs);
        const capture = new Uint8Array(total);
        const written = writeFrame(p.fd, enc('many'), enc('parts'), segs, undefined, capture);
        expect(written).toBeLessThan(total);
        for (const x of segs) x.fill(0);
        p.writer.write(capture.subarray(written));
      },
      (f) => {
        expect(f.segments.length).toBe(40);
        f.segments.forEach((got, k) => expect(sameBytes(got, originals[k])).toBe(true));
      },
    );
  });

  test('a frame the socket takes whole needs no capture; a capture shorter than the frame is a RangeError', async () => {
    const c = new Collector();
    const p = await socketPair(c.onread);
    try {
      const seg = pattern(1000, 5);
      const total = frameLength(enc('e'), enc(''), [seg]);
      const capture = new Uint8Array(total).fill(0xcd);
      expect(writeFrame(p.fd, enc('e'), enc(''), [seg], undefined, capture)).toBe(total);
      expect(capture.every((b) => b === 0xcd)).toBe(true);
      expect(() => writeFrame(p.fd, enc('e'), enc(''), [seg], undefined, new Uint8Array(total - 1))).toThrow(/capture has \d+ bytes; the frame needs \d+/);
      await c.until(() => c.frames.length === 1, 5000);
      expect(sameBytes(c.frames[0].segments[0], seg)).toBe(true);
    } finally {
      await p.close();
    }
  });

  test('bad magic on the socket: ERR_FRAME_CORRUPT', async () => {
    const c = new Collector();
    const p = await socketPair(c.onread);
    try {
      send(p, enc('ok'), enc(''), []);
      p.writer.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      await c.until(() => c.error !== undefined);
      // The good frame is delivered only if it arrived in an earlier read than the garbage.
      expect(c.frames.length).toBeLessThanOrEqual(1);
      expect(c.error?.code).toBe('ERR_FRAME_CORRUPT');
      expect(c.error?.message).toMatch(/magic 0x20544547 at stream offset 18/);
    } finally {
      await p.close();
    }
  });
});

describe('corrupt input', () => {
  test('bad magic throws ERR_FRAME_CORRUPT and the reader stays failed', () => {
    const c = new Collector();
    const region = c.reader.next();
    region.set(header(0xdeadbeef, 0, 0, 0));
    let first: unknown;
    try {
      c.reader.commit(16);
    } catch (e) {
      first = e;
    }
    expect((first as { code: string }).code).toBe('ERR_FRAME_CORRUPT');
    expect((first as Error).message).toMatch(/0xdeadbeef at stream offset 0/);
    expect(() => c.reader.commit(0)).toThrow(first as Error);
    expect(() => c.reader.end()).toThrow(first as Error);
    expect(() => c.reader.takeSegments()).toThrow(first as Error);
    expect(c.reader.next().length).toBeGreaterThan(0); // still hands out harmless memory
  });

  test.each([
    ['segment count', header(FRAME_MAGIC, 0, 0, 70000), undefined],
    ['envelope length', header(FRAME_MAGIC, 2 * 1024 * 1024, 0, 0), undefined],
    ['segment length', header(FRAME_MAGIC, 0, 0, 1, [2n ** 41n]), undefined],
    ['segment length near 2^64', header(FRAME_MAGIC, 0, 0, 2, [1, 2n ** 64n - 1n]), undefined],
    ['frame length (option)', header(FRAME_MAGIC, 0, 0, 1, [5000]), { maxFrameBytes: 1000 }],
    ['segment count (option)', header(FRAME_MAGIC, 0, 0, 3), { maxSegments: 2 }],
    ['envelope length (option)', header(FRAME_MAGIC, 100, 0, 0), { maxEnvelopeBytes: 99 }],
  ])('absurd %s: ERR_FRAME_TOO_LARGE', (_what, bytes, options) => {
    const c = new Collector(256 * 1024, 4, options);
    feedDirect(c, bytes, 1 << 20);
    expect(c.error?.code).toBe('ERR_FRAME_TOO_LARGE');
    expect(() => c.reader.commit(0)).toThrow(c.error as Error);
  });

  test('a segment too big for memory is a JS error, not a crash', () => {
    const c = new Collector(256 * 1024, 4, { maxFrameBytes: 2 ** 53 });
    feedDirect(c, header(FRAME_MAGIC, 0, 0, 1, [2n ** 52n]), 1 << 20);
    expect(c.error?.code).toBe('ERR_FRAME_TOO_LARGE');
    expect(c.error?.message).toMatch(/cannot allocate|cannot create/);
  });

  test('truncated streams: end() throws ERR_FRAME_TRUNCATED saying what is missing', () => {
    const whole = frameBytes(enc('envelope'), enc('inline'), [pattern(100, 1), pattern(300000, 2)], 0);
    const cases: Array<[number, RegExp]> = [
      [5, /header .*11 of its 16 bytes missing/],
      [20, /segment table \(16 bytes\) is missing 12 bytes/],
      [35, /envelope\+inline body \(14 bytes\) is missing 11 bytes/],
      [32 + 14 + 50, /segment 0 of 2 \(100 bytes\) is missing 50 bytes/],
      [whole.length - 1, /segment 1 of 2 \(300000 bytes\) is missing 1 bytes/],
    ];
    for (const [cut, message] of cases) {
      const c = new Collector();
      feedDirect(c, whole.subarray(0, cut), 4096);
      expect(c.error).toBeUndefined();
      expect(c.reader.buffered).toBe(cut);
      let err: (Error & { code?: string }) | undefined;
      try {
        c.reader.end();
      } catch (e) {
        err = e as Error;
      }
      expect(err?.code).toBe('ERR_FRAME_TRUNCATED');
      expect(err?.message).toMatch(message);
      expect(() => c.reader.commit(0)).toThrow(err as Error);
    }
    const ok = new Collector();
    feedDirect(ok, whole, 4096);
    expect(ok.frames.length).toBe(1);
    expect(() => ok.reader.end()).not.toThrow();
  });

  test('10 000 random byte strings never crash the reader', () => {
    const codes = new Set(['ERR_FRAME_CORRUPT', 'ERR_FRAME_TOO_LARGE', 'ERR_FRAME_TRUNCATED', 'ERR_FRAME_STATE']);
    let seed = 42;
    const rnd = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 4294967296;
    };
    const seen = new Map<string, number>();
    for (let i = 0; i < 10000; i++) {
      const len = Math.floor(rnd() * 300);
      const bytes = new Uint8Array(len);
      for (let j = 0; j < len; j++) bytes[j] = Math.floor(rnd() * 256);
      if (len >= 16 && rnd() < 0.7) {
        // Mostly valid headers with small random lengths, to reach the deeper states.
        const v = new DataView(bytes.buffer);
        v.setUint32(0, FRAME_MAGIC, true);
        v.setUint32(4, Math.floor(rnd() * 64), true);
        v.setUint32(8, Math.floor(rnd() * 64), true);
        v.setUint32(12, Math.floor(rnd() * 6), true);
        for (let o = 16; o + 8 <= len && o < 64; o += 8) if (rnd() < 0.8) v.setBigUint64(o, BigInt(Math.floor(rnd() * 200)), true);
      }
      const c = new Collector(64 * 1024, 2, { maxFrameBytes: 1 << 20 });
      feedDirect(c, bytes, () => 1 + Math.floor(rnd() * 40));
      try {
        if (!c.error) c.reader.end();
      } catch (e) {
        if ((e as { code?: string }).code !== 'ERR_FRAME_STATE') c.error = e as Error;
      }
      const code = c.error ? String(c.error.code) : 'ok';
      if (c.error) expect(codes.has(code)).toBe(true);
      seen.set(code, (seen.get(code) ?? 0) + 1);
    }
    expect(seen.get('ERR_FRAME_CORRUPT')).toBeGreaterThan(0);
    expect(seen.get('ERR_FRAME_TRUNCATED')).toBeGreaterThan(0);
  });
});

describe('bad arguments throw JS errors', () => {
  const staging = (): ArrayBuffer => new ArrayBuffer(64 * 1024);
  const desc = (): Float64Array => new Float64Array(12);
  type AnyCtor = new (...args: unknown[]) => FrameReader;
  const Ctor = FrameReader as unknown as AnyCtor;

  test('new FrameReader', () => {
    expect(() => new Ctor()).toThrow(named('TypeError'));
    expect(() => new Ctor('x', desc())).toThrow(/staging must be an ArrayBuffer/);
    expect(() => new Ctor(new Uint8Array(65536), desc())).toThrow(named('TypeError'));
    expect(() => new Ctor(new ArrayBuffer(1000), desc())).toThrow(named('RangeError'));
    expect(() => new Ctor(staging(), new Float32Array(12))).toThrow(/descriptors must be a Float64Array/);
    expect(() => new Ctor(staging(), new Float64Array(5))).toThrow(named('RangeError'));
    expect(() => new Ctor(staging(), desc(), 5)).toThrow(/options must be an object/);
    expect(() => new Ctor(staging(), desc(), { maxSegments: -1 })).toThrow(named('RangeError'));
    expect(() => new Ctor(staging(), desc(), { maxEnvelopeBytes: 'big' })).toThrow(named('TypeError'));
    expect(() => new Ctor(staging(), desc(), { maxFrameBytes: 1.5 })).toThrow(named('RangeError'));
    expect(() => new Ctor(staging(), desc(), { hugePages: 1 })).toThrow(/hugePages/);
    expect(() => (FrameReader as unknown as () => void)()).toThrow();
  });

  test('commit', () => {
    const r = new FrameReader(staging(), desc());
    const commit = r.commit.bind(r) as (n?: unknown) => number;
    expect(() => commit(1)).toThrow(/call next\(\) first/);
    const region = r.next();
    expect(() => commit()).toThrow(named('TypeError'));
    expect(() => commit('1')).toThrow(named('TypeError'));
    expect(() => commit(-1)).toThrow(named('RangeError'));
    expect(() => commit(1.5)).toThrow(named('RangeError'));
    expect(() => commit(NaN)).toThrow(named('RangeError'));
    expect(() => commit(region.length + 1)).toThrow(/exceeds/);
    expect(commit(0)).toBe(0);
    region.set(header(FRAME_MAGIC, 0, 0, 0).subarray(0, 8));
    expect(commit(8)).toBe(0);
    expect(() => commit(region.length - 7)).toThrow(/exceeds/);
    expect(r.buffered).toBe(8);
    // Methods called on something that is not a FrameReader.
    expect(() => (r.next as unknown as () => void).call({})).toThrow();
  });

  test('a detached staging buffer is refused, not used', () => {
    const s = staging();
    const r = new FrameReader(s, desc());
    r.next();
    structuredClone(s, { transfer: [s] });
    expect(() => r.next()).toThrow(/detached/);
    expect(() => r.commit(0)).toThrow(/detached/);
  });

  test('a detached descriptor table is refused, not written', () => {
    const d = desc();
    const r = new FrameReader(staging(), d);
    r.next();
    structuredClone(d.buffer, { transfer: [d.buffer as ArrayBuffer] });
    expect(() => r.next()).toThrow(/descriptors Float64Array was detached/);
    expect(() => r.commit(0)).toThrow(/descriptors Float64Array was detached/);
  });

  test('resizable buffers (which could shrink under the reader) are refused', () => {
    const Resizable = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer;
    const s = staging();
    expect(() => new FrameReader(new Resizable(s.byteLength, { maxByteLength: s.byteLength * 2 }), desc())).toThrow(/resizable/);
    const d = desc();
    const rd = new Float64Array(new Resizable(d.byteLength, { maxByteLength: d.byteLength * 2 }));
    expect(() => new FrameReader(staging(), rd)).toThrow(/resizable/);
  });

  test('writeFrame / frameLength / frameBytes', () => {
    const e = enc('e');
    const wf = writeFrame as unknown as (...a: unknown[]) => number;
    const fl = frameLength as unknown as (...a: unknown[]) => number;
    const fb = frameBytes as unknown as (...a: unknown[]) => Buffer;
    expect(() => wf('3', e, e, [])).toThrow(named('TypeError'));
    expect(() => wf(-1, e, e, [])).toThrow(named('RangeError'));
    expect(() => wf(1.5, e, e, [])).toThrow(named('RangeError'));
    expect(() => wf(99999, 'x', e, [])).toThrow(/envelope must be/);
    expect(() => wf(99999, e, null, [])).toThrow(/inline must be/);
    expect(() => wf(99999, e, e, 'segs')).toThrow(/segments must be an Array/);
    expect(() => wf(99999, e, e, [e, 5])).toThrow(/segments\[1\]/);
    expect(() => fl(e, e)).toThrow(named('TypeError'));
    expect(() => fb(e, e, [], -1)).toThrow(named('RangeError'));
    expect(() => fb(e, e, [], 1000)).toThrow(/beyond/);
    expect(() => fb(e, e, [])).toThrow(named('TypeError'));
    // A closed fd: EBADF with code and errno.
    const fd = fs.openSync(os.devNull, 'r');
    fs.closeSync(fd);
    let err: (Error & { code?: string; errno?: number }) | undefined;
    try {
      writeFrame(fd, e, e, []);
    } catch (x) {
      err = x as Error;
    }
    expect(err?.code).toBe('EBADF');
    expect(err?.errno).toBe(-9);
  });

  test('writeFrame to a file (not a socket) falls back to writev; frame layout is as documented', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dts-native-'));
    const file = path.join(dir, 'frame.bin');
    const fd = fs.openSync(file, 'w');
    try {
      const segs = [new Uint16Array([0x0102, 0x0304]), new ArrayBuffer(3), new DataView(new ArrayBuffer(2))];
      const total = frameLength(enc('EE'), enc('III'), segs);
      expect(writeFrame(fd, enc('EE'), enc('III'), segs)).toBe(total);
      fs.closeSync(fd);
      const bytes = fs.readFileSync(file);
      expect(bytes.length).toBe(16 + 3 * 8 + 2 + 3 + 4 + 3 + 2);
      expect(bytes.readUInt32LE(0)).toBe(0x46535444);
      expect(bytes.subarray(0, 4).toString('latin1')).toBe('DTSF');
      expect([bytes.readUInt32LE(4), bytes.readUInt32LE(8), bytes.readUInt32LE(12)]).toEqual([2, 3, 3]);
      expect([16, 24, 32].map((o) => Number(bytes.readBigUInt64LE(o)))).toEqual([4, 3, 2]);
      expect(bytes.subarray(40, 45).toString()).toBe('EEIII');
      expect(Buffer.compare(bytes, frameBytes(enc('EE'), enc('III'), segs, 0))).toBe(0);
      expect(Buffer.compare(bytes.subarray(17), frameBytes(enc('EE'), enc('III'), segs, 17))).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('writeFrame to a socket whose peer is gone: EPIPE or ECONNRESET', async () => {
    const c = new Collector();
    const p = await socketPair(c.onread);
    try {
      p.reader.destroy();
      // Closing happens at once; write before Node sees the EOF (which would close our fd too).
      let err: (Error & { code?: string }) | undefined;
      try {
        for (let i = 0; i < 10; i++) writeFrame(p.fd, enc('x'), enc('y'), [pattern(100000, i)]);
      } catch (e) {
        err = e as Error;
      }
      expect(['EPIPE', 'ECONNRESET']).toContain(err?.code);
    } finally {
      await p.close();
    }
  });

  test('socketFd', () => {
    expect(socketFd(new net.Socket())).toBeUndefined();
  });
});

describe('large-segment memory pool', () => {
  test('a freed large segment is reused for the next one, which still arrives bit-exact', () => {
    // A child with --expose-gc, so the first segment can be collected deterministically.
    const script = `
      const { FrameReader, frameBytes, segmentPoolStats, DESCRIPTOR_FIELDS } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'src', 'native.js'))});
      const reader = new FrameReader(new ArrayBuffer(1 << 18), new Float64Array(DESCRIPTOR_FIELDS * 4));
      function receive(fill) {
        const seg = new Uint8Array(3 << 20).fill(fill);
        const bytes = frameBytes(new Uint8Array(8), new Uint8Array(0), [seg], 0);
        let off = 0, frames = 0;
        while (off < bytes.length) {
          const dst = reader.next();
          const n = Math.min(dst.length, bytes.length - off);
          dst.set(bytes.subarray(off, off + n));
          off += n;
          frames += reader.commit(n);
        }
        if (frames !== 1) throw new Error('expected one frame, got ' + frames);
        return reader.takeSegments()[0];
      }
      const before = segmentPoolStats();
      let first = receive(7);
      first = null;
      // The memory comes back when the GC has swept the ArrayBuffer (possibly on a helper thread, then
      // a finalizer on this one): collect and wait, for at most 5 s.
      (async () => {
        for (let i = 0; i < 250 && segmentPoolStats().pooledBlocks === before.pooledBlocks; i++) {
          global.gc();
          await new Promise((r) => setTimeout(r, 20));
        }
        const pooled = segmentPoolStats();
        const second = new Uint8Array(receive(9));
        const after = segmentPoolStats();
        console.log(JSON.stringify({ before, pooled, after, ok: second.every((b) => b === 9), len: second.length }));
      })();`;
    const out = require('node:child_process').execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    const r = JSON.parse(out.trim().split('\n').pop()!);
    expect(r.ok).toBe(true);
    expect(r.len).toBe(3 << 20);
    expect(r.pooled.pooledBlocks).toBe(r.before.pooledBlocks + 1);
    expect(r.after.reused).toBe(r.before.reused + 1);
    expect(r.after.mapped).toBe(r.before.mapped + 1);
  });

  test('frameBytesInto copies the rest into a given buffer and refuses one too small', () => {
    const { frameBytesInto } = require('../src/native') as typeof import('../src/native');
    const env = Buffer.from('EEEEEEEE');
    const seg = new Uint8Array(100).map((_, i) => i);
    const whole = frameBytes(env, Buffer.alloc(0), [seg], 0);
    const into = new Uint8Array(whole.length + 10);
    expect(frameBytesInto(into, env, Buffer.alloc(0), [seg], 5)).toBe(whole.length - 5);
    expect(Buffer.from(into.subarray(0, whole.length - 5)).equals(whole.subarray(5))).toBe(true);
    expect(() => frameBytesInto(new Uint8Array(3), env, Buffer.alloc(0), [seg], 0)).toThrow(/into has 3 bytes/);
    expect(() => frameBytesInto('x' as unknown as Uint8Array, env, Buffer.alloc(0), [seg], 0)).toThrow(/into must be a Uint8Array/);
  });
});

test('enableInterrupts and callBreakable validate their arguments', () => {
  const { rawAddon } = require('../src/native') as { rawAddon: Record<string, (...a: unknown[]) => unknown> };
  // Each throws before changing anything: this process keeps Node's own SIGINT handling.
  expect(() => rawAddon.enableInterrupts()).toThrow(/enableInterrupts: expects one function .*got nothing/);
  expect(() => rawAddon.enableInterrupts(1)).toThrow(/enableInterrupts: expects one function .*got/);
  expect(() => rawAddon.callBreakable(() => 1)).toThrow(/callBreakable: expects \(function, array of arguments\)/);
  expect(() => rawAddon.callBreakable(1, [])).toThrow(/callBreakable: expects/);
  expect(() => rawAddon.callBreakable(() => 1, [])).toThrow(/enableInterrupts has not been called/);
});

test('bound() gives next/commit as plain functions on the same reader state', () => {
  const c = new Collector();
  const { next, commit } = c.reader.bound();
  const frame = frameBytes(enc('ENVELOPE'), enc('inline bytes'), [], 0);
  // Half through the bound functions, the rest through the methods: one reader, one stream.
  const half = frame.length >> 1;
  next().set(frame.subarray(0, half));
  expect(commit(half)).toBe(0);
  const region = c.reader.next();
  region.set(frame.subarray(half));
  expect(c.reader.commit(frame.length - half)).toBe(1);
  const d = c.descriptors;
  expect(Buffer.from(new Uint8Array(c.staging, d[0], d[1])).toString()).toBe('ENVELOPE');
  expect(Buffer.from(new Uint8Array(c.staging, d[2], d[3])).toString()).toBe('inline bytes');
  // And they validate like the methods.
  expect(() => commit(-1)).toThrow(/commit/);
  expect(() => commit(1e12)).toThrow(/exceeds/);
});
