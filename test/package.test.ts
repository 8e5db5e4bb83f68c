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
