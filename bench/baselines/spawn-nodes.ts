/** Baseline 3: starting n bare `node -e 0` processes at once and waiting for all of them to exit. */
import { spawn, ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { median } from '../lib/stats';

export interface SpawnNodesResult {
  n: number;
  /** Median over runs of: spawn all n at once → the last one exited, ms. */
  ms: number;
  samplesMs: number[];
}

function exitOf(c: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('error', reject);
    c.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`node -e 0 exited with code ${code}, signal ${signal}`)),
    );
  });
}

async function once(n: number, timeoutMs: number, env: NodeJS.ProcessEnv | undefined): Promise<number> {
  const children: ChildProcess[] = [];
  const closed: Array<Promise<void>> = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const c = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore', env });
      closed.push(new Promise((r) => c.once('close', () => r())));
      children.push(c);
    }
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`spawnNodes: not all ${n} exited within ${timeoutMs} ms`)), timeoutMs);
    });
    await Promise.race([Promise.all(children.map(exitOf)), timeout]);
    return performance.now() - t0;
  } finally {
    clearTimeout(timer);
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    // Not timed: let every child's handle close so nothing of it remains in this process.
    let t2: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise((r) => (t2 = setTimeout(r, 5000)))]);
    clearTimeout(t2);
  }
}

/**
 * Spawns n (default 4) `node -e 0` at once and waits for all to exit; `runs` (default 7) times after one
 * untimed run; returns the median. `env` replaces the children's environment (default: this process's).
 */
export async function spawnNodes(n = 4, runs = 7, env?: NodeJS.ProcessEnv): Promise<SpawnNodesResult> {
  const count = Math.max(1, Math.min(Math.floor(n), 256));
  const r = Math.max(1, Math.min(Math.floor(runs), 100));
  await once(count, 30_000, env); // warm the page cache / binary
  const samples: number[] = [];
  for (let i = 0; i < r; i++) samples.push(await once(count, 30_000, env));
  await new Promise((res) => setTimeout(res, 1)); // libuv finishes closing the exited children's handles
  return { n: count, ms: median(samples), samplesMs: samples };
}
