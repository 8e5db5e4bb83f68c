/**
 * Baseline: the advection kernel in C -O2 (bench/baselines/advection.c), compiled with the machine's C
 * compiler (`$CC`, else `cc`) into build/bench/ and driven one command at a time, so that each of its
 * measurements sits in the same round as the Node ones it is compared with:
 *   - the serial whole (SPEC §6 names C -O2 serial as the advection figure's second baseline);
 *   - half the columns in one process, and both halves at once in two processes on the same shared
 *     arrays: 2 × one / two is the box's 2-process capacity for this kernel, free of Node's JIT.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withTimeout } from '../lib/async';
import { projectRoot } from '../lib/results';

/** One running C baseline process (and the child it forked). */
export interface AdvectionC {
  /** The whole kernel in one process, ms. */
  serial(): Promise<number>;
  /** Half the columns in one process, ms. */
  one(): Promise<number>;
  /** Both halves at once in two processes, first start to last end, ms. */
  two(): Promise<number>;
  /** The sum of q's last time step (to check the C kernel against the Node one). */
  sum(): Promise<number>;
  /** Ends both processes. */
  stop(): Promise<void>;
}

/** Compiles advection.c (once per source change) and returns the executable's path. */
function compile(): string {
  const root = projectRoot();
  const source = path.join(root, 'bench', 'baselines', 'advection.c');
  const out = path.join(root, 'build', 'bench', 'advection');
  if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= fs.statSync(source).mtimeMs) return out;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const cc = process.env.CC !== undefined && process.env.CC !== '' ? process.env.CC : 'cc';
  try {
    execFileSync(cc, ['-O2', '-std=gnu11', '-o', out, source], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = (e as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`the C baseline did not compile with ${cc}: ${err !== undefined && err !== '' ? err : (e as Error).message}`);
  }
  return out;
}

/**
 * Starts the C baseline on n×n×n arrays (the same inputs as the Node variants), warmed: every command
 * has run once in both processes before this resolves.
 *
 * ```ts
 * const c = await startAdvectionC(220);
 * const capacity = (2 * (await c.one())) / (await c.two());
 * await c.stop();
 * ```
 */
export async function startAdvectionC(n: number): Promise<AdvectionC> {
  const exe = compile();
  const child: ChildProcessWithoutNullStreams = spawn(exe, [String(n)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let buffered = '';
  const waiting: Array<{ resolve: (line: string) => void; reject: (e: Error) => void }> = [];
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      waiting.shift()?.resolve(line);
    }
  });
  void exited.then(() => {
    for (const w of waiting.splice(0)) w.reject(new Error(`the C baseline exited${stderr !== '' ? `: ${stderr.trim()}` : ''}`));
  });
  const ask = async (command: string): Promise<number> => {
    const line = new Promise<string>((resolve, reject) => waiting.push({ resolve, reject }));
    child.stdin.write(`${command}\n`);
    const text = await withTimeout(line, 120_000, `the C baseline's answer to ${command}`);
    const v = Number(text);
    if (!Number.isFinite(v)) throw new Error(`the C baseline answered ${JSON.stringify(text)} to ${command}`);
    return v;
  };
  const c: AdvectionC = {
    serial: () => ask('serial'),
    one: () => ask('one'),
    two: () => ask('two'),
    sum: () => ask('sum'),
    stop: async () => {
      child.stdin.end();
      await withTimeout(exited, 10_000, 'the C baseline to exit').catch(async () => {
        child.kill('SIGKILL');
        await exited;
      });
    },
  };
  try {
    await c.serial();
    await c.two();
    await c.one();
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return c;
}
