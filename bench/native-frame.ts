/**
 * Receives an 80 MB segment over a Unix socket through the native FrameReader and reports MB/s, with
 * and without MADV_HUGEPAGE on the segment memory. Run: npx tsx bench/native-frame.ts (or compiled).
 */
import * as net from 'node:net';
import { FrameReader, writeFrame, frameLength, frameBytes, socketFd, DESCRIPTOR_FIELDS } from '../src/native';

const SIZE = 80 * 1024 * 1024;

async function once(hugePages: boolean, payload: Uint8Array): Promise<{ ms: number; faults: number }> {
  const staging = new ArrayBuffer(256 * 1024);
  const desc = new Float64Array(DESCRIPTOR_FIELDS * 64);
  const reader = new FrameReader(staging, desc, { hugePages });
  const address = `\0dts-bench-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const server = net.createServer();
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  await new Promise<void>((r) => server.listen(address, r));
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const client = net.connect({
    path: address,
    onread: {
      buffer: () => reader.next(),
      callback: (n: number) => {
        if (reader.commit(n) > 0) {
          reader.takeSegments();
          done();
        }
        return true;
      },
    },
  } as net.NetConnectOpts);
  await new Promise<void>((r) => client.once('connect', r));
  const writer = await accepted;
  const fd = socketFd(writer)!;
  const env = new Uint8Array(8);
  const segs = [payload];
  // The sender's side (a gather write, then the copied rest queued on the socket) runs before any read.
  const written = writeFrame(fd, env, env, segs);
  if (written < frameLength(env, env, segs)) writer.write(frameBytes(env, env, segs, written));
  const before = process.resourceUsage().minorPageFault;
  const t0 = process.hrtime.bigint();
  await finished;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const faults = process.resourceUsage().minorPageFault - before;
  client.destroy();
  writer.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  return { ms, faults };
}

async function main(): Promise<void> {
  const payload = new Uint8Array(SIZE).fill(7);
  for (const hugePages of [false, true, false, true]) await once(hugePages, payload); // warm up
  for (const hugePages of [false, true]) {
    const runs: number[] = [];
    let faults = 0;
    for (let i = 0; i < 8; i++) {
      const r = await once(hugePages, payload);
      runs.push(r.ms);
      faults += r.faults;
    }
    runs.sort((a, b) => a - b);
    const med = runs[runs.length >> 1];
    console.log(
      `hugePages=${hugePages}: median ${med.toFixed(1)} ms = ${((SIZE / 1e6) / (med / 1000)).toFixed(0)} MB/s ` +
        `(best ${runs[0].toFixed(1)} ms), ~${Math.round(faults / runs.length)} minor faults per run`,
    );
  }
}

void main();
