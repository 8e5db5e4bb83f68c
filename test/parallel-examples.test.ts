/** examples/count_heads.ts and examples/pmap-matrices.ts, run as a user would, print correct results and exit. */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from './helpers';

jest.setTimeout(60_000);

const run = (name: string, args: string[]) =>
  spawnSync(process.execPath, [path.join(ROOT, 'dist', 'examples', `${name}.js`), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 45_000 });

test('count_heads counts about half of the flips, across the workers', () => {
  const r = run('count_heads', ['2', '1000000']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const m = /^(\d+) heads in 1000000 flips \(([\d.]+)%\) on 2 workers in [\d.]+ seconds\n$/.exec(r.stdout);
  expect(m).not.toBeNull();
  expect(Math.abs(Number(m![1]) - 500_000)).toBeLessThan(5_000);
});

test('pmap-matrices finds every matrix\'s largest eigenvalue, in order', () => {
  const r = run('pmap-matrices', ['2', '5']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines.length).toBe(5);
  lines.forEach((l, k) => expect(l).toBe(`matrix ${k}: largest eigenvalue ${(11 + k).toFixed(6)} (expected ${(11 + k).toFixed(6)})`));
});
