/**
 * Every module the package loads keeps a fast (non-dictionary) exports object. TypeScript's CommonJS output
 * turns a module that re-exports (`export { x } from …`) into a dictionary, and then every `mod.x` read
 * on the hot path (a frame sent, a call dispatched) is a generic lookup instead of an inlined load. The
 * package's face (index.js) is a plain object for the same reason, and so is the addon's table.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from './helpers';

test('the exports of every module the package loads are fast objects', () => {
  const script = `
    const dist = ${JSON.stringify(path.join(ROOT, 'dist', 'src'))};
    const pkg = require(dist + '/index.js');
    require(dist + '/worker/interruptible.js');
    const slow = [];
    for (const [file, m] of Object.entries(require.cache)) {
      if (file.startsWith(dist) && !%HasFastProperties(m.exports)) slow.push(file.slice(dist.length + 1));
    }
    if (!%HasFastProperties(pkg)) slow.push('(the package object)');
    console.log(JSON.stringify({ slow, esModule: pkg.__esModule, names: Object.keys(pkg).length, addprocs: typeof pkg.addprocs }));
  `;
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  expect(r.stderr).toBe('');
  const out = JSON.parse(r.stdout) as { slow: string[]; esModule: boolean; names: number; addprocs: string };
  expect(out.slow).toEqual([]);
  expect(out.esModule).toBe(true);
  expect(out.addprocs).toBe('function');
  expect(out.names).toBeGreaterThan(50);
});
