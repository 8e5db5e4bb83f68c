#!/usr/bin/env node
/**
 * Entry point of a local worker process (started by LocalManager): `node main.js [--transport=unix|tcp] [--bind-to=addr[:port]] [--tls]`.
 * The cookie arrives on stdin, never on the command line. (A worker started from the start-up snapshot
 * runs the same `runWorker` from the snapshot's main function instead: see worker-snapshot.ts.)
 */
import './module-pack'; // first: the modules below load from the pack the build wrote
import { runWorker } from './worker-entry';

runWorker();
