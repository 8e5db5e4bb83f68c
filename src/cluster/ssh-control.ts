/**
 * Running `ssh`: one session per call, optionally through a host's shared connection (`multiplex`,
 * OpenSSH's ControlMaster), and the set of ssh clients ended when this process exits.
 */
import type { ChildProcess } from 'node:child_process';
import { endAtExit } from './end-at-exit';
import type { Machine } from './ssh-machines';

/** What running ssh needs of the `addprocs` options. */
export interface SSHRunOptions {
  sshflags?: string[];
  ssh?: string;
}

/** ssh clients still running: ended when this process exits, so their sessions (and workers) end too. */
export const clients = endAtExit('SIGTERM');

/** `ssh [sshflags] [-p port] [user@]host <command>`, with pipes for its standard streams. */
export function runSSH(machine: Machine, params: SSHRunOptions, command: string | undefined, extra: string[] = []): ChildProcess {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  const args = [...(params.sshflags ?? []), ...extra, ...(machine.port !== undefined ? ['-p', String(machine.port)] : []), '-T', destination(machine)];
  if (command !== undefined) args.push(command);
  return spawn(params.ssh ?? 'ssh', args, { stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Resolves once `child` ended, with its exit code (null when it could not run) and what it printed. */
export function outcome(child: ChildProcess): Promise<{ code: number | null; out: string; err: string }> {
  child.stdin?.end();
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve({ code, out, err }));
    child.once('error', (e) => resolve({ code: null, out, err: e.message }));
  });
}

/**
 * A long-lived `ssh` (a tunnel, a shared connection) whose remote side waits on its standard input: it
 * ends when this process does, even a killed one. `stderr` collects what it says.
 */
export function sessionTiedToThisProcess(machine: Machine, params: SSHRunOptions, extra: string[]): { child: ChildProcess; stderr: () => string } {
  const child = runSSH(machine, params, 'exec cat > /dev/null', extra);
  clients.add(child);
  child.once('exit', () => clients.delete(child));
  child.stdin!.on('error', () => undefined);
  child.stdout!.resume();
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return { child, stderr: () => err };
}

/** Lets `child` and its pipes no longer keep this process alive. */
export function detach(child: ChildProcess): void {
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr]) (s as { unref?: () => void } | null)?.unref?.();
}

function destination(machine: Machine): string {
  return machine.user === undefined ? machine.host : `${machine.user}@${machine.host}`;
}

/** One host's shared ssh connection (`multiplex`), used by every worker session and tunnel to it. */
export interface ControlMaster {
  socket: string;
  child: ChildProcess;
  ready: Promise<void>;
  users: number;
}
const masters = new Map<string, ControlMaster>();
let masterCount = 0;

function masterKey(machine: Machine, params: SSHRunOptions): string {
  return [params.ssh ?? 'ssh', destination(machine), machine.port ?? '', ...(params.sshflags ?? [])].join('\0');
}

/** The extra ssh arguments of a session that goes through `master`. */
export function through(master: ControlMaster | undefined): string[] {
  return master === undefined ? [] : ['-S', master.socket, '-o', 'ControlMaster=no'];
}

/** Runs `ssh … -O <op>` against a control master; resolves with its exit code and what it printed. */
export function controlCommand(machine: Machine, params: SSHRunOptions, master: ControlMaster, op: string[]): Promise<{ code: number | null; err: string }> {
  return outcome(runSSH(machine, params, undefined, ['-S', master.socket, ...op]));
}

/**
 * The control master for `machine`, started on first use: `ssh -M -S <socket>` whose remote side waits
 * on its standard input, so it ends when this process does. Counted per worker; the last one's
 * release closes it.
 */
export function acquireMaster(machine: Machine, params: SSHRunOptions): ControlMaster {
  const key = masterKey(machine, params);
  const known = masters.get(key);
  if (known !== undefined) {
    known.users++;
    return known;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const os = require('node:os') as typeof import('node:os');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const path = require('node:path') as typeof import('node:path');
  const socket = path.join(os.tmpdir(), `dts-ssh-${process.pid}-${++masterCount}`);
  const { child, stderr } = sessionTiedToThisProcess(machine, params, ['-M', '-S', socket, '-o', 'ControlPersist=no']);
  let exited = false;
  const master: ControlMaster = { socket, child, users: 1, ready: Promise.resolve() };
  child.once('exit', () => {
    exited = true;
    if (masters.get(key) === master) masters.delete(key);
  });
  master.ready = (async () => {
    for (let i = 0; i < 600; i++) {
      if (exited) throw new Error(`the shared ssh connection to ${machine.host} ended: ${stderr().trim() || 'no reason given'}`);
      if ((await controlCommand(machine, params, master, ['-O', 'check'])).code === 0) {
        // It serves the workers; it must not keep this process alive.
        detach(child);
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the shared ssh connection to ${machine.host} did not come up within 30 s`);
  })();
  master.ready.catch(() => undefined);
  masters.set(key, master);
  return master;
}

/** One worker is done with `master`; the last one closes it. */
export function releaseMaster(master: ControlMaster | undefined): void {
  if (master === undefined || --master.users > 0) return;
  master.child.kill('SIGTERM');
}

