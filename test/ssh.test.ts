/**
 * Workers on "remote" machines over real ssh: a real sshd on loopback (test/ssh-server.ts), workers
 * started in its sessions, reached over TCP directly or through an ssh tunnel.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { dts, teardown, alive, eventually, ROOT, runMasterScript, exitCodeWithin } from './helpers';
import { startSSHServer, type SSHServer } from './ssh-server';

const { addprocs, rmprocs, remotecall_fetch, workers, myid, interrupt, RemoteException } = dts;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ssh = {
  ...(require(`${ROOT}/dist/src/cluster/ssh-machines.js`) as typeof import('../src/cluster/ssh-machines')),
  ...(require(`${ROOT}/dist/src/cluster/ssh-manager.js`) as typeof import('../src/cluster/ssh-manager')),
};

jest.setTimeout(90_000);

let server: SSHServer;
beforeAll(async () => {
  server = await startSSHServer();
});
afterAll(async () => {
  await teardown();
  await server?.stop();
});

/** The WorkerConfig the master keeps for worker `w`. */
function configOf(w: number): import('../src/cluster/worker-config').WorkerConfig {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(`${ROOT}/dist/src/cluster/process-group.js`) as typeof import('../src/cluster/process-group')).PGRP.get(w)!.config;
}

/** The options every test passes: this server's flags, and the test run's mark (checked by the global teardown). */
const opts = () => ({ sshflags: server.sshflags, env: { DTS_TEST_RUN: process.env.DTS_TEST_RUN ?? '' }, timeout: 30 });

/** The `ssh -L` tunnels among `parent`'s child processes: their pids and forwarded ports. */
function tunnelsOf(parent: number): Array<{ pid: number; local: number; remote: number }> {
  const out: Array<{ pid: number; local: number; remote: number }> = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'latin1');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== parent) continue;
      const args = fs.readFileSync(`/proc/${d}/cmdline`, 'latin1').split('\0');
      const at = args.indexOf('-L');
      const m = at >= 0 ? /^127\.0\.0\.1:(\d+):127\.0\.0\.1:(\d+)$/.exec(args[at + 1]) : null;
      if (m !== null && alive(Number(d))) out.push({ pid: Number(d), local: Number(m[1]), remote: Number(m[2]) });
    } catch {
      // gone while we looked
    }
  }
  return out;
}

/** The OS pid of each worker and its parent (the sshd session that runs it). */
async function remotePids(ids: number[]): Promise<Array<{ pid: number; ppid: number }>> {
  return Promise.all(ids.map((w) => remotecall_fetch(() => ({ pid: process.pid, ppid: process.ppid }), w)));
}

test('machine entries parse as Julia writes them, and bad ones are named', () => {
  expect(ssh.parseMachine('node1')).toEqual({ user: undefined, host: 'node1', port: undefined, bindAddr: undefined, bindPort: undefined, count: 1 });
  expect(ssh.parseMachine(['me@node7:2222 10.0.0.7:9000', 4])).toEqual({ user: 'me', host: 'node7', port: 2222, bindAddr: '10.0.0.7', bindPort: 9000, count: 4 });
  expect(ssh.parseMachine(['node2', 'auto']).count).toBe('auto');
  expect(() => ssh.parseMachine('a b c')).toThrow(/machine "a b c" is not/);
  expect(() => ssh.parseMachine(['node1', 0])).toThrow(/count for "node1" must be a positive integer/);
  expect(() => ssh.parseMachine('node1:99999')).toThrow(/ssh port 99999/);
  expect(ssh.shellQuote("it's $HOME")).toBe(`'it'\\''s $HOME'`);
  expect(ssh.shellQuote('/usr/bin/node')).toBe('/usr/bin/node');
});

test('a machine file lists one machine per line, with counts and comments; a bad line is named', () => {
  expect(ssh.parseMachineFile('# cluster\n2*127.0.0.1\nme@node2:2222 10.0.0.2\n\nauto*node3  # all its threads\n')).toEqual([
    ['127.0.0.1', 2],
    ['me@node2:2222 10.0.0.2', 1],
    ['node3', 'auto'],
  ]);
  expect(() => ssh.parseMachineFile('node1\n0*node2\n', 'hosts.txt')).toThrow(/hosts\.txt, line 2: the worker count for "node2"/);
});

test('the CLI starts the workers of a --machine-file over ssh before the script', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dts-machines-'));
  try {
    // ssh finds this server through a wrapper first on PATH, as a user's ssh config would set it up.
    fs.writeFileSync(path.join(dir, 'ssh'), `#!/bin/sh\nexec /usr/bin/ssh ${server.sshflags.map((f) => `'${f}'`).join(' ')} "$@"\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'machines'), '2*127.0.0.1\n');
    fs.writeFileSync(path.join(dir, 'driver.js'), `const d = require(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'index.js'))});\n(async () => { console.log('WORKERS ' + JSON.stringify(await Promise.all(d.workers().map((w) => d.remotecall_fetch(d.myid, w))))); console.log('PIDS ' + JSON.stringify(await Promise.all(d.workers().map((w) => d.remotecall_fetch(() => process.pid, w))))); })();\n`);
    const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), '--machine-file', path.join(dir, 'machines'), path.join(dir, 'driver.js')], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
    });
    expect(r.stdout).toMatch(/WORKERS \[\d+,\d+\]/);
    expect(r.status).toBe(0);
    // The driver ended with its workers attached: they went with it.
    const pids = JSON.parse(/PIDS (\[.*\])/.exec(r.stdout)![1]) as number[];
    expect(await eventually(() => pids.every((p) => !alive(p)), 10_000)).toBe(true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('addprocs over ssh: workers in sshd sessions, on TCP, calling each other; rmprocs ends them', async () => {
  const ids = await addprocs([['127.0.0.1', 2]], opts());
  expect(ids).toHaveLength(2);
  expect(workers()).toEqual(expect.arrayContaining(ids));
  expect(await Promise.all(ids.map((w) => remotecall_fetch(myid, w)))).toEqual(ids);
  const pids = await remotePids(ids);
  // Each runs under an sshd session, not as a child of this process.
  for (const { ppid } of pids) expect(ppid).not.toBe(process.pid);
  expect(fs.readFileSync(`/proc/${pids[0].ppid}/cmdline`, 'latin1')).toMatch(/sshd|bash|sh/);
  // The WorkerConfig has Julia's SSHManager fields; the manager's own data is in environ, userdata is left free.
  const config = configOf(ids[0]);
  expect(config).toMatchObject({ host: '127.0.0.1', tunnel: false, multiplex: false, bind_addr: '127.0.0.1', sshflags: server.sshflags, max_parallel: 10, count: 2 });
  expect(config.connect_at).toMatch(/^tcp:127\.0\.0\.1:\d+$/);
  expect(config.userdata).toBeUndefined();
  expect(Object.keys(config.environ ?? {})).toEqual(expect.arrayContaining(['machine', 'params']));
  // Worker to worker (all_to_all, lazy): one dials the other at the address it announced.
  expect(await remotecall_fetch((other: number) => remotecall_fetch(myid, other), ids[0], ids[1])).toBe(ids[1]);
  // Large arrays travel over the socket (no shared memory with a remote host).
  const big = new Float64Array(300_000).map((_, i) => i);
  const back = await remotecall_fetch((x: Float64Array) => x, ids[0], big);
  expect(back[299_999]).toBe(299_999);
  await rmprocs(...ids);
  expect(await eventually(() => pids.every((p) => !alive(p.pid)), 10_000)).toBe(true);
});

test("a remote worker given tsx's flags in exeflags registers them when first needed", async () => {
  const [w] = await addprocs(['127.0.0.1'], { ...opts(), exeflags: ['--import', 'tsx'] });
  expect(await remotecall_fetch(() => process.execArgv, w)).toEqual([]);
  expect((await dts.stats(w)).deferredLoaders).toEqual({ flags: ['--import', 'tsx'], state: 'pending' });
  const square = path.join(__dirname, 'fixtures', 'ts', 'square.ts');
  expect(await remotecall_fetch((p: string) => (require(p) as { square(x: number): number }).square(4), w, square)).toBe(16);
  expect((await dts.stats(w)).deferredLoaders.state).toBe('require'); // tsx's require hooks: all a require needs
  await rmprocs(w);
});

test("a worker's output comes back through its ssh session with the usual prefix", async () => {
  const m = runMasterScript(`
    const d = require('./dist/src/index.js');
    (async () => {
      const [w] = await d.addprocs(['127.0.0.1'], ${JSON.stringify(opts())});
      await d.remotecall_wait(() => console.log('hello over ssh'), w);
      await d.rmprocs(w);
      console.log('DONE');
    })();`);
  await m.line(/DONE/, 60_000);
  expect(m.output()).toMatch(/ {6}From worker \d+:\thello over ssh/);
  expect(await exitCodeWithin(m, 10_000)).toBe(0);
});

test('through an ssh tunnel: the worker listens on the remote loopback only, reached by ssh -L', async () => {
  const [w] = await addprocs(['127.0.0.1'], { ...opts(), tunnel: true });
  expect(await remotecall_fetch((a: number, b: number) => a * b, w, 6, 7)).toBe(42);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const address = (require(`${ROOT}/dist/src/cluster/addprocs.js`) as { workerAddress(p: number): string }).workerAddress(w);
  const local = Number(/^tcp:127\.0\.0\.1:(\d+)$/.exec(address)![1]);
  // This process connected to the local end of an `ssh -L local:127.0.0.1:remote` of its own.
  const tunnel = tunnelsOf(process.pid).find((t) => t.local === local);
  expect(tunnel).toBeDefined();
  expect(tunnel!.remote).not.toBe(local);
  expect(configOf(w)).toMatchObject({ tunnel: true, bind_addr: '127.0.0.1', forward: `127.0.0.1:${local}:127.0.0.1:${tunnel!.remote}`, connect_at: address });
  const [{ pid }] = await remotePids([w]);
  await rmprocs(w);
  expect(await eventually(() => !alive(pid), 10_000)).toBe(true);
  // The tunnel went with the worker.
  expect(await eventually(() => !alive(tunnel!.pid), 10_000)).toBe(true);
});

test('over ssh with tls: encrypted connections, directly and through a tunnel', async () => {
  const [direct] = await addprocs(['127.0.0.1'], { ...opts(), tls: true });
  const [tunnelled] = await addprocs(['127.0.0.1'], { ...opts(), tls: true, tunnel: true });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { workerAddress } = require(`${ROOT}/dist/src/cluster/addprocs.js`) as { workerAddress(p: number): string };
  for (const w of [direct, tunnelled]) {
    expect(workerAddress(w)).toMatch(/^tls:127\.0\.0\.1:\d+$/);
    expect(await remotecall_fetch((x: number) => x + 1, w, 41)).toBe(42);
  }
  expect((await dts.stats()).encryptedTo).toEqual(expect.arrayContaining([direct, tunnelled]));
  expect(await remotecall_fetch((other: number) => remotecall_fetch(myid, other), direct, tunnelled)).toBe(tunnelled);
  await rmprocs(direct, tunnelled);
});

/** Established TCP connections from this host to the sshd's port (each client end, read from /proc/net/tcp). */
function sshConnections(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return fs
    .readFileSync('/proc/net/tcp', 'latin1')
    .split('\n')
    .slice(1)
    .filter((l) => {
      const f = l.trim().split(/\s+/);
      return f.length > 3 && f[2].endsWith(`:${hexPort}`) && f[3] === '01';
    }).length;
}

test('multiplex: one ssh connection per host for all its workers and tunnels, closed with the last worker', async () => {
  // Connections of earlier tests (a tunnel's ssh ends just after its worker) are gone first.
  expect(await eventually(() => sshConnections(server.port) === 0, 10_000)).toBe(true);
  const plain = await addprocs([['127.0.0.1', 2]], opts());
  try {
    // Without multiplex: a connection per worker.
    expect(sshConnections(server.port)).toBe(2);
  } finally {
    await rmprocs(...plain);
  }
  expect(await eventually(() => sshConnections(server.port) === 0, 10_000)).toBe(true);

  const ids = await addprocs([['127.0.0.1', 3]], { ...opts(), multiplex: true, tunnel: true });
  try {
    expect(await Promise.all(ids.map((w) => remotecall_fetch(myid, w)))).toEqual(ids);
    expect(sshConnections(server.port)).toBe(1);
    // The tunnels are forwards on that connection: no ssh -L processes of their own.
    expect(tunnelsOf(process.pid)).toEqual([]);
    for (const w of ids) expect(configOf(w)).toMatchObject({ multiplex: true, tunnel: true, forward: expect.stringMatching(/^127\.0\.0\.1:\d+:127\.0\.0\.1:\d+$/) });
    expect(await remotecall_fetch((other: number) => remotecall_fetch(myid, other), ids[0], ids[2])).toBe(ids[2]);
  } finally {
    await rmprocs(...ids);
  }
  expect(await eventually(() => sshConnections(server.port) === 0, 10_000)).toBe(true);
});

test('interrupt reaches a remote worker over ssh', async () => {
  const [w] = await addprocs(['127.0.0.1'], opts());
  const spinning = remotecall_fetch(() => {
    for (;;) {
      /* a tight loop only an interrupt ends */
    }
  }, w);
  // Sent until the call ends: a signal that arrives before the call started is absorbed.
  let settled = false;
  const result = spinning.then(
    () => undefined,
    (e: unknown) => e,
  ).finally(() => (settled = true));
  for (let i = 0; i < 100 && !settled; i++) {
    await new Promise((r) => setTimeout(r, 200));
    if (!settled) interrupt(w);
  }
  const err = await result;
  expect(err).toBeInstanceOf(RemoteException);
  expect(String((err as Error).message)).toMatch(/Interrupt/);
  expect(await remotecall_fetch(() => 'still here', w)).toBe('still here');
  await rmprocs(w);
});

test('an unreachable host or a bad remote node fails addprocs with what ssh said; nothing is left', async () => {
  const withoutPort = server.sshflags.filter((f, i, a) => f !== '-p' && a[i - 1] !== '-p');
  const refused = await addprocs(['127.0.0.1:1'], { ...opts(), sshflags: withoutPort }).catch((e: Error) => e);
  expect(refused).toBeInstanceOf(Error);
  expect((refused as Error).message).toMatch(/failed to start[\s\S]*(refused|port 1)/i);
  const badNode = await addprocs(['127.0.0.1'], { ...opts(), exename: '/nonexistent/node' }).catch((e: Error) => e);
  expect((badNode as Error).message).toMatch(/failed to start[\s\S]*\/nonexistent\/node/);
  const noClient = await addprocs(['127.0.0.1'], { ...opts(), ssh: '/nonexistent/ssh' }).catch((e: Error) => e);
  expect((noClient as Error).message).toMatch(/failed to start[\s\S]*ENOENT/);
  // 'auto' on a host that cannot be asked fails the whole call; the workers of the good machine started
  // meanwhile are removed again.
  const partly = await addprocs([[`127.0.0.1:${server.port}`, 1], ['127.0.0.1:1', 'auto']], { ...opts(), sshflags: withoutPort }).catch((e: Error) => e);
  expect((partly as Error).message).toMatch(/cluster manager failed to launch workers: could not ask 127\.0\.0\.1 for its CPU threads/);
  expect(await eventually(() => workers().length === 1 && workers()[0] === 1, 10_000)).toBe(true);
});

test('the SSH options are checked before anything starts', async () => {
  await expect(addprocs(['127.0.0.1'], { sshflags: '-i key' as unknown as string[] })).rejects.toThrow(/sshflags must be an array of strings/);
  await expect(addprocs(['127.0.0.1'], { max_parallel: 0 })).rejects.toThrow(/max_parallel must be a positive integer/);
  await expect(addprocs(['127.0.0.1'], { shell: 'wincmd' as 'posix' })).rejects.toThrow(/shell must be 'posix'/);
  await expect(addprocs(['127.0.0.1'], { multiplex: 1 as unknown as boolean })).rejects.toThrow(/multiplex must be a boolean/);
  await expect(addprocs([42 as unknown as string])).rejects.toThrow(/a machine is/);
  await expect(addprocs(['127.0.0.1'], { ...opts(), env: { 'A;rm -rf /': '1' } })).rejects.toThrow(/env name "A;rm -rf \/" is not a shell variable name/);
  expect(workers()).toEqual([1]);
});

test("count 'auto' asks the host for its CPU threads", async () => {
  const threads = os.availableParallelism();
  expect(await ssh.remoteThreads(ssh.parseMachine(['127.0.0.1', 'auto']), { sshflags: server.sshflags })).toBe(threads);
  if (threads <= 4) {
    // Small machines only: 'auto' starts one worker per thread.
    const ids = await addprocs([['127.0.0.1', 'auto']], opts());
    expect(ids).toHaveLength(threads);
    await rmprocs(...ids);
  }
});

test('workers on a host exit when the master is killed (with and without a shared connection)', async () => {
  for (const multiplex of [false, true]) {
    const m = runMasterScript(`
      const d = require('./dist/src/index.js');
      (async () => {
        const [w] = await d.addprocs(['127.0.0.1'], ${JSON.stringify({ ...opts(), multiplex })});
        console.log('PID ' + (await d.remotecall_fetch(() => process.pid, w)));
        setInterval(() => {}, 1000);
      })();`);
    const [, pid] = await m.line(/PID (\d+)/, 60_000);
    expect(alive(Number(pid))).toBe(true);
    m.child.kill('SIGKILL');
    await m.exited;
    expect({ multiplex, gone: await eventually(() => !alive(Number(pid)), 10_000) }).toEqual({ multiplex, gone: true });
  }
});
