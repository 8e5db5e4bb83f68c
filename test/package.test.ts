/** The package is importable both ways, by its name, from the compiled output. */
import { execFileSync } from 'node:child_process';
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
  const fs = require('node:fs') as typeof import('node:fs');
  const os = require('node:os') as typeof import('node:os');
  const path = require('node:path') as typeof import('node:path');
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
