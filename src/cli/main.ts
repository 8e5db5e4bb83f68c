#!/usr/bin/env node
/**
 * The `distributed` command (Julia's `julia -p N -L file driver.jl`): starts workers, loads files on every
 * process, then runs the driver script as `node script` would (same `process.argv`, `require.main`,
 * `process.exitCode` and uncaught-error behaviour), or runs this process as a worker.
 *
 *     distributed -p 2 -L setup.ts driver.ts arg1
 *     distributed --worker            # cookie from stdin
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Module from 'node:module';
import { pathToFileURL } from 'node:url';
import { parseArgs, USAGE, type CliOptions } from './args';
import { installSelfResolution } from './self-resolve';

const TS = /\.(c|m)?tsx?$/;

/** The absolute URL of tsx's loader (a bare `--import tsx` would resolve from the cwd and fail elsewhere). */
function tsxLoader(): string {
  return pathToFileURL(require.resolve('tsx')).href;
}

function hasLoader(execArgv: readonly string[], loader: string): boolean {
  return execArgv.some((a, i) => (a === '--import' && execArgv[i + 1] === loader) || a === `--import=${loader}`);
}

/** Runs this CLI again under tsx's loader, as one child whose exit status and signals are ours. */
function reexecWithTsx(loader: string): void {
  const child = spawn(process.execPath, [...process.execArgv, '--import', loader, __filename, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => {
    if (signal !== null) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}

async function runWorker(o: CliOptions): Promise<void> {
  const { installWorkerGlobals } = await import('../worker/globals');
  const { start_worker } = await import('../worker/start-worker');
  const { enableInterrupts } = await import('../worker/interruptible');
  installWorkerGlobals();
  await start_worker({ cookie: o.worker!.cookie, transport: 'tcp', bindTo: o.bindTo, tls: o.tls });
  enableInterrupts();
}

async function runMaster(o: CliOptions): Promise<void> {
  const dts = await import('../index');
  if (o.bindTo !== undefined) (await import('../cluster/local-manager')).setBindAddress(o.bindTo);
  if (o.procs !== undefined) {
    const n = o.procs === 'auto' ? os.availableParallelism() : o.procs;
    if (n > 0) await dts.addprocs(n);
  }
  if (o.machineFile !== undefined) {
    const { parseMachineFile } = await import('../cluster/ssh-machines');
    const machines = parseMachineFile(fs.readFileSync(o.machineFile, 'utf8'), o.machineFile);
    if (machines.length > 0) await dts.addprocs(machines);
  }
  for (const file of o.load) await dts.everywhere({ import: path.resolve(file) });
  if (o.script === undefined) return;
  const script = path.resolve(o.script);
  process.argv = [process.argv[0], script, ...o.scriptArgs];
  // Node's own entry point: CommonJS or ESM as `node script` would pick, with tsx's hooks when loaded.
  (Module as unknown as { runMain(main?: string): void }).runMain(script);
}

function main(): void {
  let o: CliOptions;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`distributed: ${(e as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  if (o.help) return void process.stdout.write(`${USAGE}\n`);
  if (o.version) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return void process.stdout.write(`${(require('../../../package.json') as { version: string }).version}\n`);
  }
  const needsTs = [o.script ?? '', ...o.load].some((f) => TS.test(f));
  const loader = tsxLoader();
  if (needsTs && !hasLoader(process.execArgv, loader)) return reexecWithTsx(loader);
  installSelfResolution();
  const run = o.worker !== undefined ? runWorker(o) : runMaster(o);
  // A failure before the script ran is reported like an uncaught error of the script would be.
  run.catch((e: unknown) => {
    process.nextTick(() => {
      throw e;
    });
  });
}

main();
