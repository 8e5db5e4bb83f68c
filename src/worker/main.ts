#!/usr/bin/env node
/**
 * Entry point of a local worker process (started by LocalManager): `node main.js [--transport=unix|tcp] [--bind-to=addr[:port]] [--tls]`.
 * The cookie arrives on stdin, never on the command line.
 */
import './module-pack'; // first: the modules below load from the pack the build wrote
import { start_worker } from './start-worker';
import { installWorkerGlobals } from './globals';
import { enableInterrupts } from './interruptible';
import { installSelfResolution } from '../cli/self-resolve';

function flag(name: string): string | undefined {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a?.slice(name.length + 3);
}

installWorkerGlobals();
installSelfResolution(false);
start_worker({ transport: flag('transport') === 'tcp' ? 'tcp' : 'unix', bindTo: flag('bind-to'), tls: process.argv.includes('--tls') }).then(enableInterrupts).catch((e: Error) => {
  process.stderr.write(`distributed-ts worker failed to start: ${e.message}\n`);
  process.exit(1);
});
