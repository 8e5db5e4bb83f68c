/**
 * examples/jobs.ts, the manual's jobs/results program, run as a user would (`node dist/examples/jobs.js`):
 * every job is done once, by a worker, and the master prints each result and exits.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from './helpers';

jest.setTimeout(60_000);

test('the jobs example prints one line per job, each done once by a worker, and exits cleanly', async () => {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'examples', 'jobs.js'), '2', '12'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    new Promise<number | null>((r) => child.on('exit', (c) => r(c))),
    new Promise<string>((r) => (timer = setTimeout(() => r('timeout'), 45_000))),
  ]);
  clearTimeout(timer); // leave no timer behind to hold the test runner
  if (code === 'timeout') child.kill('SIGKILL');
  expect(err).toBe('');
  expect(code).toBe(0);
  const lines = out.trim().split('\n');
  expect(lines.length).toBe(13);
  expect(lines[12]).toMatch(/^all done in \d+\.\d\d seconds$/);
  const jobs: number[] = [];
  const by = new Set<number>();
  for (const line of lines.slice(0, 12)) {
    const m = /^(\d+) finished in (\d\.\d\d) seconds on worker (\d+)$/.exec(line);
    expect(m).not.toBeNull();
    jobs.push(Number(m![1]));
    expect(Number(m![2])).toBeLessThanOrEqual(1);
    by.add(Number(m![3]));
  }
  expect(jobs.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  expect([...by].sort()).toEqual([2, 3]);
});
