/**
 * A real OpenSSH server for the SSH tests: `sshd` from the openssh-server package (.ci/run installs it
 * when missing), started in the foreground on a free loopback port with a host key, a client key and a
 * config of its own in a temporary directory, and accepting only that key for the user running the
 * tests. `stop()` ends it and removes the directory.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { ROOT } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { freePort, accepts } = require(path.join(ROOT, 'dist', 'src', 'cluster', 'ssh-manager.js')) as typeof import('../src/cluster/ssh-manager');

export const SSHD = '/usr/sbin/sshd';

export interface SSHServer {
  port: number;
  /** `ssh` flags that reach it without prompts (the test key, no host-key checks, quiet). */
  sshflags: string[];
  /** Ends the server and removes its directory. */
  stop(): Promise<void>;
  process: ChildProcess;
}

/** Starts sshd; rejects with a message naming what is missing when it cannot. */
export async function startSSHServer(): Promise<SSHServer> {
  if (!fs.existsSync(SSHD)) throw new Error(`${SSHD} is missing: install the openssh-server package (apt-get install openssh-server); .ci/run does`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dts-sshd-'));
  fs.chmodSync(dir, 0o700);
  const key = (name: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, name)], { stdio: 'ignore' });
  key('host_key');
  key('client_key');
  fs.copyFileSync(path.join(dir, 'client_key.pub'), path.join(dir, 'authorized_keys'));
  fs.chmodSync(path.join(dir, 'authorized_keys'), 0o600);
  const port = await freePort();
  const root = process.getuid?.() === 0;
  // sshd run as root separates privileges into this directory (Debian's package makes it at boot).
  if (root) fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  fs.writeFileSync(
    path.join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      root ? 'PermitRootLogin prohibit-password' : '',
      'PermitUserEnvironment no',
      'AllowTcpForwarding yes',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const child = spawn(SSHD, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  let up = false;
  for (let i = 0; i < 100 && !up && child.exitCode === null; i++) {
    up = await accepts(port);
    if (!up) await new Promise((r) => setTimeout(r, 50));
  }
  if (!up) {
    child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`sshd did not start on port ${port}: ${err.trim()}`);
  }
  const sshflags = [
    '-i', path.join(dir, 'client_key'),
    '-o', 'IdentitiesOnly=yes',
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'BatchMode=yes',
    '-o', 'LogLevel=ERROR',
    '-p', String(port),
  ];
  return {
    port,
    sshflags,
    process: child,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
