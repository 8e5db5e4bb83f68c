/** The package is importable both ways, by its name, from the compiled output. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from './helpers';

jest.setTimeout(30_000);

test("require('distributed-ts') works", () => {
  const out = execFileSync(process.execPath, ['-e', "const d = require('distributed-ts'); console.log(typeof d.addprocs, d.myid(), typeof d.Future)"], { cwd: ROOT });
  expect(out.toString().trim()).toBe('function 1 function');
});

test("import { addprocs } from 'distributed-ts' works", () => {
  const code = "import { addprocs, myid, RemoteException } from 'distributed-ts'; console.log(typeof addprocs, myid(), RemoteException.name)";
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT });
  expect(out.toString().trim()).toBe('function 1 RemoteException');
});

test('loading the package stays light: no node:crypto, undici, child_process or piscina until needed', () => {
  // A script file, not `node -e` (eval mode loads node:crypto itself).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dts-load-'));
  const script = path.join(dir, 'load.js');
  try {
    fs.writeFileSync(
      script,
      `require(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'index.js'))});
       console.log(JSON.stringify([
         ...process.moduleLoadList.filter((m) => /^NativeModule (crypto|child_process|internal\\/deps\\/undici)/.test(m)),
         ...Object.keys(require.cache).filter((k) => /node_modules[\\/](piscina|acorn|eslint-scope|tsx)[\\/]/.test(k)),
       ]));`,
    );
    expect(JSON.parse(execFileSync(process.execPath, [script]).toString())).toEqual([]);
    // ...and the cookie, made on first use, is still 16 random characters.
    const cookie = execFileSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'index.js'))}).cluster_cookie())`]).toString().trim();
    expect(cookie).toMatch(/^[A-Za-z0-9]{16}$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('an installed copy of the package (npm pack\'s files, with the times npm gives them)', () => {
  /** What npm pack would put in the tarball (without running prepare). */
  const packed = (): string[] => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path);
  };
  /** A master script run in the copy: how its workers start, from the snapshot or through the pack. */
  const probe = `
    const d = require('distributed-ts');
    const snapshot = require(require.resolve('distributed-ts').replace(/index\\.js$/, 'cluster/worker-snapshot.js'));
    (async () => {
      const [w] = await d.addprocs(1);
      const unused = snapshot.snapshotUnusedBecause;
      const blob = await d.remotecall_fetch(() => { const i = process.execArgv.indexOf('--snapshot-blob'); return i < 0 ? '' : process.execArgv[i + 1]; }, w);
      const [p] = await d.addprocs(1, { env: { DISTRIBUTED_TS_WORKER_SNAPSHOT: '0' } });
      const fromPack = await d.remotecall_fetch(() => {
        const main = process.mainModule;
        return main.require(main.filename.replace(/main\\.js$/, 'module-pack.js')).packStats.fromPack;
      }, p);
      const answers = [await d.remotecall_fetch((x) => x + 1, w, 1), await d.remotecall_fetch((x) => x + 1, p, 1)];
      await d.rmprocs(w, p);
      console.log(JSON.stringify({ unused, blob, fromPack, answers }));
    })();`;

  test('ships no pack or snapshot built elsewhere, and writes both at install, so its workers start from them', () => {
    const files = packed();
    expect(files).toEqual(expect.arrayContaining(['dist/src/index.js', 'scripts/after-install.js', 'scripts/write-worker-pack.js', 'scripts/write-worker-snapshot.js']));
    expect(files.filter((f) => /worker-(pack|snapshot)\.(bin|blob|json)$/.test(f))).toEqual([]);
    expect(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.install).toMatch(/cmake-js compile && node scripts\/after-install\.js$/);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dts-installed-'));
    const pkg = path.join(dir, 'node_modules', 'distributed-ts');
    const npmTime = new Date('1985-10-26T08:15:00Z'); // what npm sets on every file it unpacks
    const env = { ...process.env, NODE_OPTIONS: '', NODE_V8_COVERAGE: '' };
    try {
      for (const f of files) {
        fs.mkdirSync(path.dirname(path.join(pkg, f)), { recursive: true });
        fs.copyFileSync(path.join(ROOT, f), path.join(pkg, f));
        fs.utimesSync(path.join(pkg, f), npmTime, npmTime);
      }
      // What the install's `cmake-js compile` builds, and the dependencies npm installs beside it.
      fs.mkdirSync(path.join(pkg, 'build', 'Release'), { recursive: true });
      fs.copyFileSync(path.join(ROOT, 'build', 'Release', 'distributed_native.node'), path.join(pkg, 'build', 'Release', 'distributed_native.node'));
      fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'));
      fs.writeFileSync(path.join(dir, 'probe.js'), probe);
      const run = (): { unused: string; blob: string; fromPack: number; answers: number[] } =>
        JSON.parse(execFileSync(process.execPath, ['probe.js'], { cwd: dir, env, encoding: 'utf8', timeout: 30_000 }).trim().split('\n').pop()!);

      // Before the install step: workers work, from the files.
      const before = run();
      expect(before).toMatchObject({ unused: expect.stringMatching(/no snapshot/), blob: '', fromPack: 0, answers: [2, 2] });

      // The install step after the compile, as npm runs it: in the package's directory.
      execFileSync(process.execPath, ['scripts/after-install.js'], { cwd: pkg, env, stdio: 'ignore', timeout: 120_000 });
      for (const f of ['worker-pack.bin', 'worker-snapshot.blob', 'worker-snapshot.json']) expect(fs.existsSync(path.join(pkg, 'dist', f))).toBe(true);
      const after = run();
      expect(after).toMatchObject({ unused: '', blob: path.join(fs.realpathSync(pkg), 'dist', 'worker-snapshot.blob'), answers: [2, 2] });
      expect(after.fromPack).toBeGreaterThan(20);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  test('in a source checkout the install step leaves the build to prepare', () => {
    const blob = path.join(ROOT, 'dist', 'worker-snapshot.blob');
    const before = fs.existsSync(blob) ? fs.statSync(blob).mtimeMs : -1;
    const out = execFileSync(process.execPath, ['scripts/after-install.js'], { cwd: ROOT, encoding: 'utf8' });
    expect(out).toBe('');
    expect(fs.existsSync(blob) ? fs.statSync(blob).mtimeMs : -1).toBe(before);
  });
});
