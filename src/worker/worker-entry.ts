/**
 * What a local worker process runs once its modules are loaded: the package's globals, `distributed-ts`
 * resolving to this copy, then `start_worker` with the options on its command line
 * (`[--transport=unix|tcp] [--bind-to=addr[:port]] [--tls]`). Called by the worker entry (main.ts) and,
 * for a worker started from the start-up snapshot, by the snapshot's main function
 * (scripts/worker-snapshot-entry.js), which has these modules already loaded.
 */
import { start_worker } from './start-worker';
import { installWorkerGlobals } from './globals';
import { enableInterrupts } from './interruptible';
import { installSelfResolution } from '../cli/self-resolve';

function flag(name: string): string | undefined {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a?.slice(name.length + 3);
}

/**
 * Makes this process a local worker: reads the cookie from stdin, listens, prints its address.
 *
 * ```ts
 * runWorker(); // in a process started as `node dist/src/worker/main.js --transport=unix`
 * ```
 */
export function runWorker(): void {
  installWorkerGlobals();
  installSelfResolution(false);
  start_worker({ transport: flag('transport') === 'tcp' ? 'tcp' : 'unix', bindTo: flag('bind-to'), tls: process.argv.includes('--tls') }).then(enableInterrupts).catch((e: Error) => {
    process.stderr.write(`distributed-ts worker failed to start: ${e.message}\n`);
    process.exit(1);
  });
}
