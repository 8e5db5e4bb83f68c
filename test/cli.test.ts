/**
 * The `distributed` CLI: a TypeScript driver with -p 2 -L file.ts, exit codes and uncaught errors as with
 * `node script`, bad options, --worker mode joined by a master, and the examples.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { dts, ROOT, teardown, alive, eventually } from './helpers';

jest.setTimeout(120_000);
const { myid } = dts;
afterAll(teardown);

const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const FIX = path.join(__dirname, 'fixtures', 'cli');

function run(args: string[], cwd = ROOT): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 90_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('a .ts driver with -p 2 -L lib.ts: lib loaded everywhere first, exports and classes travel, exitCode kept', () => {
  const r = run(['-p', '2', '-L', path.join(FIX, 'lib.ts'), path.join(FIX, 'driver.ts'), 'a', 'b c']);
  expect(r.stderr).toBe('');
  const out = r.stdout;
  expect(out).toContain('lib loaded on 1');
  expect(out).toMatch(/From worker 2:\tlib loaded on 2/);
  expect(out).toMatch(/From worker 3:\tlib loaded on 3/);
  expect(out.indexOf('lib loaded on 1')).toBeLessThan(out.indexOf('args'));
  expect(out).toContain('args ["a","b c"] nworkers 2 workers [2,3]');
  expect(out).toContain('sq on worker: 49');
  expect(out).toContain('myid on worker: 3');
  expect(out).toContain('Pt back: true 6');
  expect(r.status).toBe(3);
});

test('an uncaught error in an .mjs driver prints it and exits 1, as node does', () => {
  const r = run(['-p', '1', path.join(FIX, 'throws.mjs')]);
  expect(r.stdout).toContain('esm driver sees 1 worker(s)');
  expect(r.stderr).toContain('Error: uncaught in the driver');
  expect(r.status).toBe(1);
});

test('bad options are reported with exit code 2', () => {
  const r = run(['-p', 'many', 'x.js']);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain("-p takes a number of workers or 'auto', got 'many'");
  expect(run(['--frobnicate']).stderr).toContain('unknown option --frobnicate');
  expect(run(['--bind-to', '1.2.3.4:9000', 'x.js']).stderr).toContain("--bind-to on the master takes an address without a port, got '1.2.3.4:9000': the master does not listen");
  expect(run(['--bind-to', 'a b', 'x.js']).stderr).toContain("--bind-to takes addr[:port], got 'a b'");
  expect(run(['--tls', 'x.js']).stderr).toContain('--tls applies with --worker');
  expect(run(['--help']).stdout).toContain('usage: distributed');
});

test("--bind-to on the master: local workers added with restrict: false listen on that address (Julia's LPROC.bind_addr)", async () => {
  const r = run(['--bind-to', '127.0.0.2', path.join(FIX, 'bind-to.js')]);
  expect(r.stderr).toBe('');
  expect(r.stdout).toContain('worker restrict false: --bind-to=127.0.0.2 tcp:127.0.0.2:PORT');
  expect(r.stdout).toMatch(/worker restricted: no --bind-to unix:/);
  expect(r.status).toBe(0);
  const ospids = /ospids (\d+) (\d+)/.exec(r.stdout)!.slice(1).map(Number);
  expect(await eventually(() => ospids.every((p) => !alive(p)), 5000)).toBe(true);
});

test('--bind-to values: IPv6 bare or in brackets, with or without a port, as the listener takes them', () => {
  const { splitBindAddress } = require(path.join(ROOT, 'dist', 'src', 'transport', 'connection.js')) as {
    splitBindAddress(s: string): { host: string; port: number };
  };
  expect(splitBindAddress('127.0.0.2')).toEqual({ host: '127.0.0.2', port: 0 });
  expect(splitBindAddress('10.0.0.5:9000')).toEqual({ host: '10.0.0.5', port: 9000 });
  expect(splitBindAddress('[::1]')).toEqual({ host: '::1', port: 0 });
  expect(splitBindAddress('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
  expect(splitBindAddress('::1')).toEqual({ host: '::1', port: 0 });
  const { setBindAddress } = require(path.join(ROOT, 'dist', 'src', 'cluster', 'local-manager.js')) as { setBindAddress(a: string | undefined): void };
  expect(() => setBindAddress('[::1]:9000')).toThrow(/expected an address without a port/);
  expect(() => setBindAddress('[::1]')).not.toThrow();
  setBindAddress(undefined);
});

test('npx distributed runs the package bin', () => {
  const r = spawnSync('npx', ['--no-install', 'distributed', '--version'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(r.stdout.trim()).toBe((require(path.join(ROOT, 'package.json')) as { version: string }).version);
});

test('--worker: a worker started by the CLI (cookie on stdin or as --worker=cookie) joins a master', async () => {
  class ManualManager extends dts.ClusterManager {
    constructor(readonly port: number) {
      super();
    }
    async launch(_p: unknown, launched: { host: string; port: number }[], notify: () => void): Promise<void> {
      launched.push({ host: '127.0.0.1', port: this.port });
      notify();
    }
    manage(): void {}
  }
  const cookie = dts.cluster_cookie();
  for (const viaStdin of [true, false]) {
    const args = [CLI, viaStdin ? '--worker' : `--worker=${cookie}`, '--bind-to', '127.0.0.1'];
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, DISTRIBUTED_TS_WORKER: '1' } });
    if (viaStdin) child.stdin.write(`${cookie}\n`);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    expect(await eventually(() => /tcp:127\.0\.0\.1:\d+/.test(out), 20_000)).toBe(true);
    const port = Number(/tcp:127\.0\.0\.1:(\d+)/.exec(out)![1]);
    const [id] = await dts.addprocs(new ManualManager(port) as unknown as InstanceType<typeof dts.ClusterManager>);
    try {
      expect(await dts.remotecall_fetch(() => myid(), id)).toBe(id);
    } finally {
      await dts.rmprocs(id, { waitfor: 10 });
    }
    expect(await eventually(() => !alive(child.pid!), 10_000)).toBe(true);
    child.stdin.end();
  }
});

describe('examples run with the CLI', () => {
  test('rand2: fails remotely, works after everywhere', () => {
    const r = run(['-p', '2', 'examples/cli/rand2.ts']);
    expect(r.stdout).toMatch(/remote call failed on worker \d: rand2 is not defined on this process: pass it as an argument, or define it on every process with everywhere\(\)/);
    expect(r.stdout).toContain('after everywhere, remote rand2(2, 2): 4 numbers, all in [0, 2): true');
    expect(r.status).toBe(0);
  });

  test('DummyModule: loaded everywhere, its class travels both ways', () => {
    const r = run(['-p', '2', 'examples/cli/dummy-module.ts']);
    expect(r.stdout).toMatch(/From worker 2:\tloaded/);
    expect(r.stdout).toContain('fetchfrom(2, () => new MyType(7)): MyType { a: 7 } true');
    expect(r.stdout).toContain('it came back as a MyType: true');
    expect(r.stdout).toContain('remotecall_fetch(f, 2, 3) = 10');
    expect(r.status).toBe(0);
  });

  test('count_heads: two spawnat(:any) summed', () => {
    const r = run(['-p', '2', '-L', 'examples/cli/count_heads.ts', 'examples/cli/count-heads.ts', '100000']);
    const m = /workers (\d) and (\d) flipped 200000 coins: (\d+) heads/.exec(r.stdout);
    expect(m).not.toBeNull();
    expect(new Set([m![1], m![2]])).toEqual(new Set(['2', '3']));
    expect(Number(m![3])).toBeGreaterThan(90_000);
    expect(Number(m![3])).toBeLessThan(110_000);
    expect(r.status).toBe(0);
  });
});
