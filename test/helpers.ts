/**
 * Test helpers: the library under test is the compiled package (dist/), exactly what workers run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import type * as Api from '../src/index';

export const ROOT = path.join(__dirname, '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const dts: typeof Api = require(path.join(ROOT, 'dist', 'src', 'index.js'));

/** Whether an OS process is alive (and not a zombie). */
export function alive(ospid: number): boolean {
  try {
    process.kill(ospid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${ospid}/stat`, 'latin1');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/**
 * Field `n` of a process's (or one of its threads') /proc stat line, numbered as in proc(5): 3 is the
 * state, 14/15 utime/stime in clock ticks, 41 the scheduling policy. Counted after the command name,
 * which may hold spaces.
 */
export function procStatField(ospid: number, n: number, tid?: number): number {
  const stat = fs.readFileSync(tid === undefined ? `/proc/${ospid}/stat` : `/proc/${ospid}/task/${tid}/stat`, 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[n - 3]);
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` until true or `ms` pass; returns whether it became true. */
export async function eventually(cond: () => boolean | Promise<boolean>, ms = 5000, every = 20): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, every));
  }
}

/** The OS pids of the given workers (asked of the workers themselves). */
export async function ospids(ids: number[]): Promise<number[]> {
  return Promise.all(ids.map((id) => dts.remotecall_fetch(() => process.pid, id)));
}

/** Removes every worker and checks their OS processes are gone. */
/** The OS pids of this process's live worker children, read from /proc (a busy worker need not answer). */
export function childWorkers(): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'latin1').includes('worker/main.js') && alive(Number(entry))) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

export async function teardown(): Promise<void> {
  const ids = dts.workers().filter((p) => p !== 1);
  if (ids.length === 0) return;
  // Not asked of the workers: one still spinning in a failed test would never answer.
  const os = childWorkers();
  await dts.rmprocs(...ids, { waitfor: 20 });
  const gone = await eventually(() => os.every((p) => !alive(p)), 5000);
  if (!gone) throw new Error(`worker processes still alive after rmprocs: ${os.filter(alive).join(', ')}`);
}

/** Runs `code` as a master script (`node -e`) in the package root; `line(re, ms)` waits for a line of its output. */
export function runMasterScript(code: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['-e', code], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const line = (re: RegExp, ms: number) =>
    eventually(() => re.test(out), ms).then((ok) => {
      if (!ok) throw new Error(`master script did not print ${re}; stdout: ${out}; stderr: ${err}`);
      return re.exec(out)!;
    });
  return { child, exited, line, output: () => out + err };
}

/** The script's exit code, or 'still running' (and the script killed) after `ms`; leaves no timer behind. */
export async function exitCodeWithin(m: ReturnType<typeof runMasterScript>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([m.exited, new Promise((r) => (timer = setTimeout(() => r('still running'), ms)))]);
  clearTimeout(timer);
  if (code === 'still running') m.child.kill('SIGKILL');
  return code;
}
