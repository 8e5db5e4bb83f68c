/**
 * `LocalManager`: workers as child processes on this machine (Julia's `LocalManager`).
 */
import * as path from 'node:path';
import { ClusterManager, inheritedLoaderFlags, type AddprocsOptions } from './cluster-manager';
import type { WorkerConfig } from './worker-config';
import { endAtExit } from './end-at-exit';
import { splitBindAddress } from '../transport/connection';
import { workerSnapshotFlags } from './worker-snapshot';
import { deferrableLoaderFlags } from './deferred-loaders';
import { DEFERRED_LOADERS_VARIABLE } from '../worker/deferred-loaders';

/** The worker entry script (compiled), next to this module's directory. */
export const WORKER_SCRIPT = path.join(__dirname, '..', 'worker', 'main.js');

/**
 * This process's bind address (Julia's `LPROC.bind_addr`): the CLI's `--bind-to` on the master sets it.
 * Local workers started with `restrict: false` listen on it, as Julia's LocalManager binds them to
 * `LPROC.bind_addr`; unset, on every interface. (The master itself listens on nothing: it connects to
 * its workers, and workers connect to each other.)
 */
let bindAddress: string | undefined;

/**
 * @internal Sets the address local workers started with `restrict: false` listen on (the CLI's
 * `--bind-to` on the master); `undefined` restores every interface.
 *
 * ```ts
 * setBindAddress('10.0.0.5'); await addprocs(2, { restrict: false }); // both listen on 10.0.0.5
 * ```
 */
export function setBindAddress(addr: string | undefined): void {
  if (addr === undefined) {
    bindAddress = undefined;
    return;
  }
  if (typeof addr !== 'string' || addr === '' || /\s/.test(addr) || splitBindAddress(addr).port !== 0) {
    throw new TypeError(`setBindAddress: expected an address without a port (an IPv6 one bare or in brackets), got ${JSON.stringify(addr)}`);
  }
  bindAddress = splitBindAddress(addr).host;
}

/** Children still alive: killed when this process exits, so none outlives it. */
const children = endAtExit('SIGKILL');

/**
 * Launches `np` workers on this machine, in parallel. The cookie goes to each worker on its stdin,
 * never on its command line.
 *
 * ```ts
 * await addprocs(new LocalManager(2));
 * ```
 */
export class LocalManager extends ClusterManager {
  constructor(
    /** How many workers to start. */
    readonly np: number,
    /** The cluster cookie to hand each worker. @internal set by addprocs */
    public cookie = '',
  ) {
    super();
    if (!Number.isInteger(np) || np < 0) throw new RangeError(`LocalManager: the number of workers must be a non-negative integer, got ${np}`);
  }

  async launch(params: AddprocsOptions, launched: WorkerConfig[], notify: () => void): Promise<void> {
    const exename = params.exename ?? process.execPath;
    const transport = params.transport ?? 'unix';
    // tsx's flags are registered by the worker when first needed (deferred-loaders.ts); others go on its command line.
    const flags = params.exeflags ?? inheritedLoaderFlags();
    const deferred = deferrableLoaderFlags(flags, params.env);
    const startFlags = deferred === undefined ? flags : [];
    // From the start-up snapshot when it changes nothing else (worker-snapshot.ts), else as a plain script.
    const args = [...(workerSnapshotFlags(params, startFlags) ?? startFlags), WORKER_SCRIPT, `--transport=${transport}`];
    const env: NodeJS.ProcessEnv = { ...process.env, ...params.env, DISTRIBUTED_TS_WORKER: '1' };
    if (deferred !== undefined) env[DEFERRED_LOADERS_VARIABLE] = JSON.stringify(deferred);
    if (params.restrict === false) args.push(`--bind-to=${bindAddress ?? '0.0.0.0'}`);
    if (params.tls === true) args.push('--tls');
    for (let i = 0; i < this.np; i++) {
      // Required here, not at the top: workers load this module too and never spawn (start-up time).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { spawn } = require('node:child_process') as typeof import('node:child_process');
      const child = spawn(exename, args, {
        cwd: params.dir,
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      children.add(child);
      child.once('exit', () => children.delete(child));
      child.once('error', () => children.delete(child));
      child.stdin!.on('error', () => undefined);
      child.stdin!.write(`${this.cookie}\n`);
      launched.push({ io: child.stdout!, stderr: child.stderr!, process: child, ospid: child.pid, host: 'localhost', exename, exeflags: params.exeflags, env: params.env, dir: params.dir });
      notify();
    }
  }

  /** `'interrupt'` sends the worker SIGINT (Julia's LocalManager does the same); other events need nothing. */
  override manage(_id: number, config: WorkerConfig, op: 'register' | 'deregister' | 'interrupt' | 'finalize'): void {
    if (op === 'interrupt') config.process?.kill('SIGINT');
  }

  override kill(_pid: number, config: WorkerConfig): void {
    config.process?.kill('SIGTERM');
  }
}
