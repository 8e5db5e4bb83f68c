/**
 * Peer process for the baselines (run via child_process.fork by peer-control.ts; config as JSON in
 * argv[2]). It only talks over loopback TCP / abstract Unix sockets and its IPC channel, and exits when
 * the parent disconnects, says 'exit', or its lifetime runs out.
 */
import * as net from 'node:net';
import { cpuWork } from '../lib/cpu';
import type { Address, PeerConfig, ToParent, ToPeer } from './protocol';

const config = JSON.parse(process.argv[2] ?? '{}') as PeerConfig;
const sockets = new Set<net.Socket>();
let server: net.Server | undefined;

function send(msg: ToParent): void {
  if (process.connected) process.send!(msg);
}

function shutdown(code: number): void {
  for (const s of sockets) s.destroy();
  server?.close();
  process.exit(code);
}

function fail(err: unknown): void {
  send({ type: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) });
  setTimeout(() => shutdown(1), 50).unref();
}

setTimeout(() => shutdown(3), config.lifetimeMs ?? 120_000).unref();
process.on('disconnect', () => shutdown(0));
process.on('message', (m: ToPeer) => {
  if (m.type === 'exit') shutdown(0);
  else if (m.type === 'go') {
    const start = process.hrtime.bigint();
    const result = cpuWork(m.n);
    const end = process.hrtime.bigint();
    send({ type: 'cpu', start: start.toString(), end: end.toString(), result });
  }
});
process.on('uncaughtException', fail);

function track(s: net.Socket): net.Socket {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
  s.on('error', fail);
  if (config.transport === 'tcp') s.setNoDelay(true);
  return s;
}

function listen(): Promise<Address> {
  return new Promise((resolve, reject) => {
    server = net.createServer();
    server.once('error', reject);
    if (config.transport === 'unix') {
      const path = `\0dts-bench-${process.pid}-${Math.random().toString(36).slice(2)}`;
      server.listen(path, () => resolve({ path }));
    } else {
      server.listen(0, '127.0.0.1', () => {
        const a = server!.address() as net.AddressInfo;
        resolve({ host: '127.0.0.1', port: a.port });
      });
    }
  });
}

function connect(address: Address, onread?: net.OnReadOpts): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ ...address, onread } as net.NetConnectOpts);
    s.once('error', reject);
    s.once('connect', () => resolve(track(s)));
  });
}

/** Keeps the loop turning: each turn polls the sockets with a zero timeout instead of sleeping. */
function pollForever(): void {
  setImmediate(pollForever);
}

async function main(): Promise<void> {
  if (config.poll) pollForever();
  if (config.mode === 'cpu') {
    cpuWork(2_000_000); // let the JIT settle before the timed runs
    send({ type: 'ready' });
    return;
  }

  const address = await listen();
  // The socket the parent connects to: the peer writes replies on it (and, in echo-data, reads too).
  let replySocket: net.Socket | undefined;
  server!.on('connection', (s) => {
    track(s);
    replySocket = s;
    if (config.mode === 'echo-data') s.on('data', (chunk) => s.write(chunk));
    send({ type: 'accepted' });
  });

  if (config.mode === 'echo-onread') {
    // One message in flight at a time, so the reply has left this buffer before the next read reuses it.
    const buf = Buffer.alloc(64 * 1024);
    await connect(config.parentAddress!, {
      buffer: buf,
      callback: (n, b) => {
        replySocket!.write((b as Buffer).subarray(0, n));
        return true;
      },
    });
  } else if (config.mode === 'bulk') {
    const bytes = config.bytes!;
    let round = 0;
    const onComplete = (data: Buffer) => {
      const t = process.hrtime.bigint();
      replySocket!.write(data);
      send({ type: 'received', round: round++, t: t.toString() });
    };
    if (config.receiver === 'data') {
      let chunks: Buffer[] = [];
      let got = 0;
      const s = await connect(config.parentAddress!);
      s.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        got += chunk.length;
        if (got >= bytes) {
          const data = Buffer.concat(chunks, got);
          chunks = [];
          got = 0;
          onComplete(data);
        }
      });
    } else {
      // Reads land in place: the buffer function hands out the unfilled tail of one full-size buffer.
      // The parent sends the next round only after the whole echo arrived, so resetting `filled` at
      // completion never overwrites bytes still being written back.
      const recv = Buffer.alloc(bytes);
      let filled = 0;
      await connect(config.parentAddress!, {
        buffer: () => recv.subarray(filled),
        callback: (n) => {
          filled += n;
          if (filled >= bytes) {
            filled = 0;
            onComplete(recv);
          }
          return true;
        },
      });
    }
  } else if (config.mode !== 'echo-data') {
    throw new Error(`unknown mode ${String(config.mode)}`);
  }
  send({ type: 'listening', address });
}

main().catch(fail);
