/**
 * Large typed arrays between local processes through shared memory (src/transport/shared-transfer.ts,
 * native/transfer_segments.cc), with real workers: bit-exact both ways for every typed-array kind,
 * capture at call time, segments a receiver still holds never reused, shared buffers kept shared,
 * /dev/shm left clean (also after a SIGKILL), the socket fallback, and TCP staying on the socket.
 */
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { randomFillSync } from 'node:crypto';
import { dts, teardown, eventually, ospids, ROOT } from './helpers';

const { addprocs, rmprocs, remotecall, remotecall_fetch, ProcessExitedException } = dts;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const native = require(path.join(ROOT, 'dist', 'src', 'native.js')) as typeof import('../src/native');

interface Counts {
  segmentsSent: number;
  bytesSent: number;
  segmentsReceived: number;
  bytesReceived: number;
  fallbacks: number;
}
interface PoolStats {
  leasedBytes: number;
  fallbacks: number;
  lastFailure: string;
}
interface Conn {
  sharedCounts: Counts;
  shared?: { poolStats(): PoolStats | undefined };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const messaging = require(path.join(ROOT, 'dist', 'src', 'messages', 'messaging.js')) as { connectionTo(pid: number): Conn };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const transfer = require(path.join(ROOT, 'dist', 'src', 'transport', 'shared-transfer.js')) as { SHARED_MIN_BYTES: number };

jest.setTimeout(60_000);

const BYTES = 4 * 1024 * 1024; // ≥ SHARED_MIN_BYTES: travels in shared memory
const echo = <T>(x: T): T => x;
const counts = (w: number): Counts => ({ ...messaging.connectionTo(w).sharedCounts });

// A collector to call here (jest's process has no --expose-gc); workers get the flag.
v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc') as () => void;
const GC_FLAGS = { exeflags: ['--expose-gc'], env: { DTS_TEST_ROOT: ROOT } };

/** Bytes of this side's segments to worker `w` that the other side still holds. */
const leasedHere = (w: number): number => messaging.connectionTo(w).shared?.poolStats()?.leasedBytes ?? 0;

/** The worker's view of its segments to the master. */
function workerPool(w: number): Promise<PoolStats> {
  return remotecall_fetch(() => {
    const req = (process as unknown as { mainModule: { require: NodeRequire } }).mainModule.require;
    const m = req(`${process.env.DTS_TEST_ROOT}/dist/src/messages/messaging.js`) as {
      connectionTo(p: number): { shared: { poolStats(): PoolStats | undefined } };
    };
    return m.connectionTo(1).shared.poolStats() ?? { leasedBytes: 0, fallbacks: 0, lastFailure: '' };
  }, w);
}

/**
 * Collects garbage on both sides until neither holds the other's segments (each collected array is
 * released back to its sender; `keptByWorker` bytes the worker keeps on purpose), so the next transfers find free segments: which arrays go through
 * shared memory is then certain, not up to when the collector happens to run.
 */
async function settle(w: number, keptByWorker = 0): Promise<void> {
  const ok = await eventually(async () => {
    collect();
    await remotecall_fetch(() => (globalThis as unknown as { gc(): void }).gc(), w);
    await new Promise((r) => setTimeout(r, 20));
    return leasedHere(w) === keptByWorker && (await workerPool(w)).leasedBytes === 0;
  }, 10_000, 20);
  if (!ok) throw new Error(`segments still held after collecting: master ${leasedHere(w)}, worker ${(await workerPool(w)).leasedBytes}`);
}

/** Names in /dev/shm created by these OS processes. */
function shmNamesOf(pids: number[]): string[] {
  return fs.readdirSync('/dev/shm').filter((n) => pids.some((p) => n.startsWith(`dts-${p}-`)));
}

/**
 * Echoes arrays of `bytes` until both directions went through shared memory: a size's first transfer
 * takes the socket while each side makes a segment for it.
 */
async function warm(w: number, bytes = BYTES): Promise<void> {
  const probe = new Uint8Array(bytes);
  const ok = await eventually(async () => {
    const before = counts(w);
    await remotecall_fetch(echo, w, probe);
    const after = counts(w);
    return after.segmentsSent > before.segmentsSent && after.segmentsReceived > before.segmentsReceived;
  }, 20_000, 50);
  if (!ok) throw new Error(`shared-memory path to worker ${w} never warmed up: ${JSON.stringify(counts(w))}`);
}

const KINDS = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
] as const;

const myPids: number[] = [process.pid];

afterAll(async () => {
  await teardown();
  // Every name these processes made is gone: the receiver unlinks at once, the sender at close.
  expect(await eventually(() => shmNamesOf(myPids).length === 0, 5000)).toBe(true);
});

describe('local worker over a Unix socket', () => {
  let w = 0;
  beforeAll(async () => {
    [w] = await addprocs(1, GC_FLAGS);
    myPids.push(...(await ospids([w])));
    expect(transfer.SHARED_MIN_BYTES).toBeLessThanOrEqual(BYTES);
    await warm(w);
  });
  afterAll(async () => {
    await rmprocs(w);
  });

  test.each(KINDS.map((K) => [K.name, K] as const))('%s arrives bit-exact both ways through shared memory', async (_name, K) => {
    const a = new K(BYTES / K.BYTES_PER_ELEMENT);
    randomFillSync(new Uint8Array(a.buffer)); // every bit pattern, NaN payloads included
    await settle(w);
    const before = counts(w);
    const back = await remotecall_fetch(echo, w, a);
    const after = counts(w);
    expect(after.segmentsSent).toBe(before.segmentsSent + 1);
    expect(after.segmentsReceived).toBe(before.segmentsReceived + 1);
    expect(after.bytesSent - before.bytesSent).toBe(BYTES);
    expect(back).toBeInstanceOf(K);
    expect(back.length).toBe(a.length);
    expect(Buffer.compare(Buffer.from(back.buffer, back.byteOffset, back.byteLength), Buffer.from(a.buffer))).toBe(0);
    // The worker saw the same bits (checked there, not only on the way back).
    const sum = await remotecall_fetch((x: Uint8Array) => x.reduce((s, v) => (s + v) % 1000003, 0), w, new Uint8Array(a.buffer));
    expect(sum).toBe(new Uint8Array(a.buffer).reduce((s, v) => (s + v) % 1000003, 0));
  });

  test('an argument mutated after remotecall returns arrives as it was at the call', async () => {
    const a = new Float64Array(BYTES / 8).fill(1);
    await settle(w);
    const before = counts(w);
    const fut = remotecall((x: Float64Array) => new Promise((r) => setTimeout(() => r(x.reduce((s, v) => s + v, 0)), 100)), w, a);
    a.fill(2);
    expect(await fut.fetch()).toBe(BYTES / 8);
    expect(counts(w).segmentsSent).toBe(before.segmentsSent + 1);
  });

  test('a segment the worker still holds is never reused for later arrays', async () => {
    await settle(w);
    const kept = new Float64Array(BYTES / 8).fill(7);
    await remotecall_fetch((x: Float64Array) => {
      (globalThis as Record<string, unknown>).keptArray = x;
      return 0;
    }, w, kept);
    const before = counts(w);
    for (let i = 0; i < 6; i++) {
      await settle(w, BYTES); // everything else released: only the kept array's segment stays leased
      await remotecall_fetch((x: Float64Array) => x.length, w, new Float64Array(BYTES / 8).fill(i));
    }
    expect(counts(w).segmentsSent).toBeGreaterThan(before.segmentsSent);
    const intact = await remotecall_fetch(() => {
      const k = (globalThis as Record<string, unknown>).keptArray as Float64Array;
      delete (globalThis as Record<string, unknown>).keptArray;
      return k.every((v) => v === 7);
    }, w);
    expect(intact).toBe(true);
  });

  test('a received array the worker writes to changes nothing on the master', async () => {
    const a = new Int32Array(BYTES / 4).fill(5);
    const back = await remotecall_fetch((x: Int32Array) => {
      x.fill(9);
      return x;
    }, w, a);
    expect(back.every((v) => v === 9)).toBe(true);
    expect(a.every((v) => v === 5)).toBe(true);
  });

  test('views of one buffer arrive sharing one buffer, both ways', async () => {
    const ab = new ArrayBuffer(BYTES);
    const whole = new Float64Array(ab);
    whole.fill(1.5);
    const part = new Uint8Array(ab, 8, 16);
    await settle(w);
    const before = counts(w);
    const [same, back] = await remotecall_fetch((v: [Float64Array, Uint8Array]) => {
      v[1][0] = 42; // written through one view, seen through the other
      return [v[0].buffer === v[1].buffer && new Uint8Array(v[0].buffer)[8] === 42, v] as const;
    }, w, [whole, part]);
    expect(same).toBe(true);
    expect(counts(w).segmentsSent).toBe(before.segmentsSent + 1);
    expect(counts(w).segmentsReceived).toBe(before.segmentsReceived + 1);
    const [w0, w1] = back as unknown as [Float64Array, Uint8Array];
    expect(w0.buffer).toBe(w1.buffer);
    expect(w1.byteOffset).toBe(8);
    expect(new Uint8Array(w0.buffer)[8]).toBe(42);
    expect(part[0]).toBe(0); // the master's own buffer is untouched
  });

  test('once segments are mapped, no name of ours is left in /dev/shm while the processes live', async () => {
    await remotecall_fetch(echo, w, new Uint8Array(BYTES));
    await settle(w);
    expect(shmNamesOf(myPids)).toEqual([]);
  });

  test('small arrays stay on the socket', async () => {
    const before = counts(w);
    const back = await remotecall_fetch(echo, w, new Float64Array(1000).fill(3));
    expect(back[999]).toBe(3);
    expect(counts(w)).toEqual(before);
  });
});

/** Counts this process's full (mark-compact) collections from now on. */
function countMajors(): () => number {
  // Shipped to the worker as source: no imports inside.
  const req = (process as unknown as { mainModule?: { require: NodeRequire } }).mainModule?.require ?? require;
  const hooks = req('node:perf_hooks') as typeof import('node:perf_hooks');
  let majors = 0;
  const obs = new hooks.PerformanceObserver((list) => {
    for (const e of list.getEntries()) if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === hooks.constants.NODE_PERFORMANCE_GC_MAJOR) majors++;
  });
  obs.observe({ entryTypes: ['gc'] });
  return () => {
    obs.disconnect();
    return majors;
  };
}

/** Runs countMajors on worker `w`; the returned function stops it there and answers the count. */
async function countMajorsOn(w: number): Promise<() => Promise<number>> {
  await remotecall_fetch(
    (src: string) => {
      (globalThis as Record<string, unknown>).stopMajors = (0, eval)(`(${src})`)();
    },
    w,
    countMajors.toString(),
  );
  return () => remotecall_fetch(() => ((globalThis as Record<string, unknown>).stopMajors as () => number)(), w);
}

describe('a stream of large arrays (worker without --expose-gc)', () => {
  const BIG = 24 * 1024 * 1024; // ≥ 16 MB: each arrival is followed by a young collection
  let w = 0;
  beforeAll(async () => {
    [w] = await addprocs(1, { env: { DTS_TEST_ROOT: ROOT } });
    myPids.push(...(await ospids([w])));
    await warm(w, BIG);
    // A steady stream: both pools have grown to the segments it keeps in flight.
    for (let i = 0; i < 8; i++) await remotecall_fetch(echo, w, new Uint8Array(BIG));
  });
  afterAll(async () => {
    await rmprocs(w);
  });

  test('arrives bit-exact: a large array (copied into its segment in parallel chunks) from end to end', async () => {
    const a = new Uint8Array(BIG + 5);
    randomFillSync(a);
    const back = await remotecall_fetch(echo, w, a);
    expect(Buffer.compare(Buffer.from(back.buffer, back.byteOffset, back.byteLength), Buffer.from(a.buffer))).toBe(0);
  });

  test('is recycled by young collections: segments come back, neither side runs full collections for them', async () => {
    const a = new Float64Array(BIG / 8).fill(0.25);
    const N = 16;
    // 16 × 24 MB each way, counted by V8 as external memory, would start a full collection every
    // 64 MB: 6 to 8 on each side.
    const stopHere = countMajors();
    const stopThere = await countMajorsOn(w);
    const before = counts(w);
    for (let i = 0; i < N; i++) {
      const back = await remotecall_fetch(echo, w, a);
      expect(back[back.length - 1]).toBe(0.25);
    }
    await new Promise((r) => setTimeout(r, 50)); // the last observer entries
    const majorsHere = stopHere();
    const majorsThere = await stopThere();
    const after = counts(w);
    // Through shared memory both ways (while a segment is on its way back an array may take the socket).
    expect(after.segmentsSent - before.segmentsSent).toBeGreaterThanOrEqual(N / 2);
    expect(after.segmentsReceived - before.segmentsReceived).toBeGreaterThanOrEqual(N / 2);
    // The worker does nothing else: any full collection there would be ours. (This jest process has
    // its own heap's reasons for some, so here the count is only bounded by what 16 arrivals started.)
    expect(majorsThere).toBeLessThanOrEqual(1);
    expect(majorsHere).toBeLessThan(N / 2);
    // The collections asked for left --expose-gc as it was: on here (this file turned it on at run
    // time), off on the worker.
    expect(vm.runInNewContext('typeof gc')).toBe('function');
    expect(await remotecall_fetch(() => ((process as unknown as { mainModule: { require: NodeRequire } }).mainModule.require('node:vm') as typeof vm).runInNewContext('typeof gc'), w)).toBe('undefined');
  });

  test('an array the worker keeps counts as external memory there once it outlived a collection; one it drops never does', async () => {
    // A worker of its own: after the stream tests above, V8 may have learnt to allocate the arrays'
    // objects straight in the old generation (allocation-site pretenuring), where no young collection
    // frees a dropped one, and this test is about what young collections do.
    const [v] = await addprocs(1, { env: { DTS_TEST_ROOT: ROOT } });
    myPids.push(...(await ospids([v])));
    // Bytes of the worker's received shared-memory arrays that count as V8 external memory.
    const accounted = (): Promise<number> =>
      remotecall_fetch(() => {
        const req = (process as unknown as { mainModule: { require: NodeRequire } }).mainModule.require;
        const m = req(`${process.env.DTS_TEST_ROOT}/dist/src/native.js`) as { uncountedStats(): { accountedBytes: number } };
        return m.uncountedStats().accountedBytes;
      }, v);
    try {
      const a = new Float64Array(BIG / 8).fill(3);
      for (let i = 0; i < 3; i++) await remotecall_fetch((x: Float64Array) => x.length, v, a);
      await new Promise((r) => setTimeout(r, 400)); // past the survivors' count
      expect(await accounted()).toBe(0);
      await remotecall_fetch((x: Float64Array) => void ((globalThis as Record<string, unknown>).keptBig = x), v, a);
      expect(await eventually(async () => (await accounted()) === BIG, 5000, 50)).toBe(true);
    } finally {
      await rmprocs(v);
    }
  });

  test("a received array's buffer is not transferred away: a transfer list copies it", async () => {
    const back = await remotecall_fetch(echo, w, new Float64Array(BIG / 8).fill(5));
    expect(counts(w).segmentsReceived).toBeGreaterThan(0);
    const clone = structuredClone(back, { transfer: [back.buffer] });
    expect(back.length).toBe(BIG / 8); // not detached
    expect(clone[0]).toBe(5);
    expect(back[back.length - 1]).toBe(5);
    expect(clone.buffer).not.toBe(back.buffer);
  });
});

test('a worker SIGKILLed mid-transfer leaves nothing in /dev/shm', async () => {
  const [w] = await addprocs(1);
  const [os] = await ospids([w]);
  myPids.push(os);
  // A size's first transfer makes a segment on each side, off the event loop, and offers it to the peer
  // (its name lives until the peer maps it): kill the worker while that is under way.
  await remotecall_fetch(echo, w, new Uint8Array(8 * BYTES));
  const pending = remotecall_fetch((x: Uint8Array) => new Promise(() => x), w, new Uint8Array(8 * BYTES));
  const big = remotecall_fetch(() => new Uint8Array(64 * 1024 * 1024).fill(1), w);
  process.kill(os, 'SIGKILL');
  await expect(pending).rejects.toBeInstanceOf(ProcessExitedException);
  await expect(big).rejects.toBeInstanceOf(ProcessExitedException);
  expect(await eventually(() => shmNamesOf([process.pid, os]).length === 0, 5000)).toBe(true);
});

test('when /dev/shm cannot hold a segment, arrays go on the socket, intact', async () => {
  // The worker must leave more of /dev/shm free than there is: every segment it would make fails.
  const [w] = await addprocs(1, { env: { DISTRIBUTED_SHM_TRANSFER_RESERVE: String(2 ** 52), DTS_TEST_ROOT: ROOT } });
  await remotecall_fetch(echo, w, new Uint8Array(16)); // connected both ways
  myPids.push(...(await ospids([w])));
  const a = new Float64Array(BYTES / 8);
  randomFillSync(new Uint8Array(a.buffer));
  for (let i = 0; i < 6; i++) {
    const back = await remotecall_fetch(echo, w, a);
    expect(Buffer.compare(Buffer.from(back.buffer, back.byteOffset, back.byteLength), Buffer.from(a.buffer))).toBe(0);
  }
  const c = counts(w);
  expect(c.segmentsReceived).toBe(0); // the worker's answers all took the socket
  expect(c.segmentsSent).toBeGreaterThan(0); // while the master's /dev/shm was fine
  const why = await workerPool(w);
  expect(why.fallbacks).toBeGreaterThan(0);
  expect(why.lastFailure).toMatch(/\/dev\/shm has \d+ bytes free/);
  await rmprocs(w);
});

test('a worker with shared memory turned off gets every array on the socket, both ways', async () => {
  const [w] = await addprocs(1, { env: { DISTRIBUTED_SHM_TRANSFER: '0' } });
  const a = new Uint16Array(BYTES / 2).fill(77);
  for (let i = 0; i < 4; i++) expect((await remotecall_fetch(echo, w, a))[12345]).toBe(77);
  const c = counts(w);
  expect(c.segmentsSent + c.segmentsReceived).toBe(0);
  await rmprocs(w);
});

test('TCP workers keep the socket path', async () => {
  const [w] = await addprocs(1, { transport: 'tcp' });
  const a = new Float32Array(BYTES / 4).fill(0.25);
  for (let i = 0; i < 4; i++) expect((await remotecall_fetch(echo, w, a))[100]).toBe(0.25);
  const c = counts(w);
  expect(c.segmentsSent + c.segmentsReceived + c.fallbacks).toBe(0);
  await rmprocs(w);
});

test('large arrays read from the socket are freed by young collections too: no full collections for a stream of them', async () => {
  const [w] = await addprocs(1, { transport: 'tcp' });
  try {
    const a = new Float64Array((24 * 1024 * 1024) / 8).fill(0.5);
    for (let i = 0; i < 4; i++) await remotecall_fetch(echo, w, a); // the receive pools fill
    const stopThere = await countMajorsOn(w);
    for (let i = 0; i < 16; i++) expect((await remotecall_fetch(echo, w, a))[0]).toBe(0.5);
    await new Promise((r) => setTimeout(r, 50));
    // Counted by V8, 16 × 24 MB arriving on the worker would start about 6 full collections there.
    expect(await stopThere()).toBeLessThanOrEqual(1);
  } finally {
    await rmprocs(w);
  }
});

describe('native pieces in one process', () => {
  function reader(): InstanceType<typeof native.FrameReader> {
    return new native.FrameReader(new ArrayBuffer(256 * 1024), new Float64Array(native.DESCRIPTOR_FIELDS * 8), { sharedMemory: true });
  }
  function frame(segments: ArrayBufferView[], shared: Uint8Array): Uint8Array {
    const env = new Uint8Array(16);
    const inl = new Uint8Array(4);
    const out = new Uint8Array(native.frameLength(env, inl, segments));
    native.frameBytesInto(out, env, inl, segments, 0, shared);
    return out;
  }
  function feed(r: InstanceType<typeof native.FrameReader>, bytes: Uint8Array): number {
    const region = r.next();
    region.set(bytes);
    return r.commit(bytes.length);
  }

  test('offer, release, stage: the reader hands out the staged bytes over the mapping', async () => {
    const offers: Buffer[] = [];
    const sender = new native.TransferSender(`/dts-${process.pid}-`, 1 << 26, 1 << 27, 0, (d) => offers.push(d));
    const r = reader();
    try {
      const data = new Uint8Array(BYTES);
      randomFillSync(data);
      expect(sender.stage(data)).toBeNull(); // cold: a segment is being made
      expect(await eventually(() => offers.length === 1, 5000)).toBe(true);
      expect(sender.stage(data)).toBeNull(); // offered, not yet accepted
      expect(await new Promise((done) => r.offerShared(offers[0], done))).toBe('');
      expect(fs.existsSync(`/dev/shm${offers[0].toString('latin1', 28)}`)).toBe(false); // the receiver removed the name
      const id = offers[0].readUInt32LE(4);
      sender.release(Float64Array.of(id));
      const desc = sender.stage(data)!;
      expect(desc).not.toBeNull();
      data.fill(0); // staged: the copy is what travels
      expect(feed(r, frame([desc], Uint8Array.of(1)))).toBe(1);
      const bufs = r.takeSegments();
      expect(Array.from(r.takeShared())).toEqual([0, id]);
      const got = new Uint8Array(bufs[0]);
      expect(got.length).toBe(BYTES);
      expect(got.some((v) => v !== 0)).toBe(true);
      expect(sender.stats.leasedBytes).toBe(BYTES);
      expect(sender.stage(new Uint8Array(BYTES))).toBeNull(); // still held by the receiver: never reused
    } finally {
      sender.close();
    }
  });

  test('a process that exits while a segment is being made (or with a probe out) leaves no name in /dev/shm', () => {
    const script = `
      const native = require(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'native.js'))});
      const fs = require('fs');
      const prefix = '/dts-' + process.pid + '-';
      const sender = new native.TransferSender(prefix, 1 << 28, 1 << 28, 0, () => {});
      const probe = native.transferProbe(prefix);
      sender.stage(new Uint8Array(64 << 20)); // the segment is made on the thread pool
      const mine = () => fs.readdirSync('/dev/shm').filter((n) => n.startsWith(prefix.slice(1)));
      const end = Date.now() + 10000;
      while (mine().length < 2 && Date.now() < end);
      console.log(JSON.stringify({ pid: process.pid, seen: mine().length }));
      process.exit(0); // no close handler runs
    `;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    const { pid, seen } = JSON.parse(r.stdout) as { pid: number; seen: number };
    expect(seen).toBe(2);
    expect(fs.readdirSync('/dev/shm').filter((n) => n.startsWith(`dts-${pid}-`))).toEqual([]);
  });

  test('a descriptor of a segment never offered is ERR_FRAME_CORRUPT, not a crash', () => {
    const r = reader();
    const desc = Buffer.alloc(28);
    desc.writeUInt32LE(0x4d535444, 0);
    desc.writeUInt32LE(99, 4);
    desc.writeBigUInt64LE(1n << 20n, 8);
    desc.writeBigUInt64LE(1n << 20n, 16);
    expect(() => feed(r, frame([desc], Uint8Array.of(1)))).toThrow(expect.objectContaining({ code: 'ERR_FRAME_CORRUPT', message: expect.stringMatching(/never offered/) }));
  });

  test('an offer naming a missing segment is refused with a reason', async () => {
    const r = reader();
    const name = `/dts-${process.pid}-0000000000000000`;
    const desc = Buffer.alloc(28 + name.length);
    desc.writeUInt32LE(0x4d535444, 0);
    desc.writeUInt32LE(5, 4);
    desc.writeBigUInt64LE(1n << 20n, 8);
    desc.writeBigUInt64LE(1n << 20n, 16);
    desc.writeUInt32LE(name.length, 24);
    desc.write(name, 28, 'latin1');
    expect(await new Promise((done) => r.offerShared(desc, done))).toMatch(/cannot open shared-memory segment/);
  });

  test('a reader without sharedMemory does not accept descriptors', () => {
    const r = new native.FrameReader(new ArrayBuffer(256 * 1024), new Float64Array(native.DESCRIPTOR_FIELDS * 8));
    const desc = Buffer.alloc(28);
    desc.writeUInt32LE(0x4d535444, 0);
    expect(() => feed(r, frame([desc], Uint8Array.of(1)))).toThrow(expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }));
  });
});
