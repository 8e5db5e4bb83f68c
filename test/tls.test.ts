/**
 * Encrypted connections (`addprocs(…, { tls: true })`, src/transport/tls-psk.ts): TLS keyed by the
 * cluster cookie between the master and its workers and between workers; what crosses the wire is
 * ciphertext (seen by a relay in the middle); connections without TLS, or with another cookie, are
 * dropped with the worker unharmed.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { dts, teardown, alive, eventually, ospids, ROOT } from './helpers';

const { addprocs, rmprocs, remotecall_fetch, stats, myid, workers, cluster_cookie, ClusterManager } = dts;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const internals = require(path.join(ROOT, 'dist', 'src', 'cluster', 'addprocs.js')) as { workerAddress(pid: number): string | undefined };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const psk = require(path.join(ROOT, 'dist', 'src', 'transport', 'tls-psk.js')) as typeof import('../src/transport/tls-psk');

jest.setTimeout(60_000);
afterAll(teardown);

function closedWithin(sock: net.Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    sock.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
    sock.on('error', () => undefined);
  });
}

test('tls workers: values both ways, worker to worker, large arrays; every connection encrypted', async () => {
  const ids = await addprocs(2, { tls: true });
  for (const w of ids) expect(internals.workerAddress(w)).toMatch(/^tls:127\.0\.0\.1:\d+$/);
  expect(await remotecall_fetch((s: string, n: bigint) => `${s}:${n * 2n}`, ids[0], 'x', 21n)).toBe('x:42');
  const big = new Float64Array(500_000).map((_, i) => i * 0.25);
  const back = await remotecall_fetch((a: Float64Array) => a, ids[1], big);
  expect(Buffer.compare(Buffer.from(back.buffer, back.byteOffset, back.byteLength), Buffer.from(big.buffer))).toBe(0);
  expect(await remotecall_fetch((other: number) => remotecall_fetch(myid, other), ids[0], ids[1])).toBe(ids[1]);
  const here = await stats();
  expect(here.encryptedTo).toEqual(expect.arrayContaining(ids));
  expect((await stats(ids[0])).encryptedTo).toEqual([1, ids[1]].sort((a, b) => a - b));
  const os = await ospids(ids);
  await rmprocs(...ids);
  expect(await eventually(() => os.every((p) => !alive(p)), 5000)).toBe(true);
});

test('a tls worker drops a connection without TLS, and a TLS one with another cookie; it stays unharmed', async () => {
  const [w] = await addprocs(1, { tls: true });
  const m = /^tls:(.*):(\d+)$/.exec(internals.workerAddress(w)!)!;
  const port = Number(m[2]);
  // A plain peer that has the cookie: its hello is not a TLS ClientHello.
  const plain = net.connect(port, '127.0.0.1');
  const plainClosed = closedWithin(plain, 5000);
  plain.write(Buffer.concat([Buffer.from(cluster_cookie().padEnd(16, '\0')), Buffer.from('dts1/0.1.0'.padEnd(16, '\0'))]));
  expect(await plainClosed).toBe(true);
  // A TLS peer whose key comes from another cookie: the handshake fails.
  let secured = false;
  const wrong = psk.tlsConnect({ host: '127.0.0.1', port }, 'not-the-cookie', { buffer: Buffer.alloc(1024), callback: () => true });
  wrong.once('secureConnect', () => (secured = true));
  expect(await closedWithin(wrong, 5000)).toBe(true);
  expect(secured).toBe(false);
  expect(await remotecall_fetch(() => 'unharmed', w)).toBe('unharmed');
  await rmprocs(w);
});

test('what crosses the wire is ciphertext (a relay in the middle sees no plaintext; without tls it does)', async () => {
  const secret = 'TOP-SECRET-PAYLOAD-7f3a91';
  const seen = async (tls: boolean): Promise<boolean> => {
    // A worker started by hand, reached through a relay that records every byte in both directions.
    const worker = spawn(process.execPath, [path.join(ROOT, 'dist', 'src', 'worker', 'main.js'), '--transport=tcp', ...(tls ? ['--tls'] : [])], {
      env: { ...process.env, DISTRIBUTED_TS_WORKER: '1' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    worker.stdin!.write(`${cluster_cookie()}\n`);
    const announced = await new Promise<string>((resolve) => {
      let out = '';
      worker.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n')[0];
        if (out.includes('\n')) resolve(line);
      });
    });
    const target = Number(/:(\d+)$/.exec(announced)![1]);
    const recorded: Buffer[] = [];
    const relay = net.createServer((client) => {
      const upstream = net.connect(target, '127.0.0.1');
      client.on('data', (d: Buffer) => (recorded.push(Buffer.from(d)), upstream.write(d)));
      upstream.on('data', (d: Buffer) => (recorded.push(Buffer.from(d)), client.write(d)));
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('error', () => undefined);
      upstream.on('error', () => undefined);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
    const relayPort = (relay.address() as net.AddressInfo).port;
    class ViaRelay extends ClusterManager {
      async launch(_p: unknown, launched: Array<Record<string, unknown>>, notify: () => void): Promise<void> {
        const io = new PassThrough();
        io.write(`${announced.replace(/:\d+$/, `:${relayPort}`)}\n`);
        launched.push({ io, host: '127.0.0.1' });
        notify();
      }
      async manage(): Promise<void> {}
    }
    try {
      const [w] = await addprocs(new ViaRelay());
      expect(await remotecall_fetch((s: string) => `${s}!`, w, secret)).toBe(`${secret}!`);
      await rmprocs(w);
    } finally {
      relay.close();
      if (alive(worker.pid!)) worker.kill('SIGKILL');
    }
    expect(await eventually(() => !alive(worker.pid!), 5000)).toBe(true);
    return Buffer.concat(recorded).includes(secret);
  };
  expect(await seen(false)).toBe(true); // the check can see plaintext when there is any
  expect(await seen(true)).toBe(false);
  expect(workers()).toEqual([1]);
});

test('tls is checked: a boolean, and over TCP only', async () => {
  await expect(addprocs(1, { tls: 'yes' as unknown as boolean })).rejects.toThrow(/tls must be a boolean/);
  await expect(addprocs(1, { tls: true, transport: 'unix' })).rejects.toThrow(/tls runs over TCP/);
  expect(workers()).toEqual([1]);
});
