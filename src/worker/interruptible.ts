/**
 * Making a worker's computations interruptible (Julia's `interrupt`): shipped calls run inside a
 * `vm` script with `breakOnSigint`, so a SIGINT stops even a tight synchronous loop.
 *
 * `breakOnSigint` alone costs ~50 µs per run here, because Node starts and joins its SIGINT watchdog
 * thread on every run. That thread is process-wide and reference-counted, so a helper worker thread keeps
 * one breakable run open for the process's life (blocked in `Atomics.wait`): the count never drops to
 * zero, each call's run costs ~1 µs, and a SIGINT that arrives while nothing runs is absorbed instead
 * of killing the worker. The helper's own run is broken by each SIGINT too; it tells this thread, which
 * fails the asynchronous calls still in flight with `InterruptException` (their promises cannot be
 * stopped, and their later outcome is dropped).
 */
import * as vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import { InterruptException } from '../errors';
import { ignoreSigint } from '../native';

const KEEPER = `
const vm = require('node:vm');
const { parentPort } = require('node:worker_threads');
const cell = new Int32Array(new SharedArrayBuffer(4));
globalThis.__distributed_ts_keeper__ = () => Atomics.wait(cell, 0, 0);
const run = new vm.Script('__distributed_ts_keeper__()', { filename: 'distributed-ts-sigint-keeper.js' });
parentPort.postMessage('up');
for (;;) {
  try { run.runInThisContext({ breakOnSigint: true }); } catch { parentPort.postMessage('sigint'); }
}
`;

let enabled = false;
const SLOT = '__distributed_ts_call__';
const callScript = new vm.Script(`${SLOT}()`, { filename: 'distributed-ts-call.js' });
const RUN = { breakOnSigint: true } as const;
/** Cancellers of the asynchronous calls in flight. */
const inFlight = new Set<() => void>();

/** How long after start a worker boots the helper thread (kept off the start-up path: `addprocs` waits less). */
const KEEPER_DELAY_MS = 100;

/**
 * Makes this process's calls interruptible by SIGINT (workers call it once at start). Calls are breakable
 * at once; the helper thread that makes that cheap starts shortly after (until then each call pays
 * Node's own per-run watchdog). An idle worker survives SIGINT from the start: SIGINT is ignored while
 * no breakable run holds the watchdog.
 */
export function enableInterrupts(): void {
  if (enabled) return;
  enabled = true;
  // Until the helper holds the watchdog, an interrupt that finds the worker idle must not end it.
  ignoreSigint();
  setTimeout(startKeeper, KEEPER_DELAY_MS).unref();
}

/** Whether the helper thread holds Node's SIGINT watchdog (from then on no run's end resets SIGINT). */
let keeperHolds = false;

/** Resolves once the helper thread holds the watchdog (for tests and for code that needs it at once). */
export function keeperReady(): Promise<void> {
  if (keeperUp === undefined) startKeeper();
  return keeperUp!;
}

let keeperUp: Promise<void> | undefined;

function startKeeper(): void {
  if (keeperUp !== undefined) return;
  const keeper = new Worker(KEEPER, { eval: true, stdout: false, stderr: false });
  keeperUp = new Promise<void>((resolve) => {
    keeper.on('message', (m) => {
      if (m === 'up') {
        keeperHolds = true;
        return resolve();
      }
      for (const cancel of [...inFlight]) cancel();
    });
    keeper.once('error', () => resolve());
  });
  keeper.unref(); // after the listeners, which would otherwise keep the process alive
}

/** Calls `f(...args)`; when interrupts are enabled, a SIGINT breaks it with an `InterruptException`. */
export function callBreakable(f: Function, args: unknown[]): unknown {
  if (!enabled) return f(...args);
  const g = globalThis as Record<string, unknown>;
  const outer = g[SLOT];
  g[SLOT] = () => f(...args);
  try {
    return callScript.runInThisContext(RUN);
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED') throw new InterruptException();
    throw e;
  } finally {
    g[SLOT] = outer;
    // Node's watchdog set SIGINT back to "exit" as this run ended (no helper run keeps it alive yet).
    if (!keeperHolds) ignoreSigint();
  }
}

/** Registers `cancel` to run when this process is interrupted; returns its disposer. */
export function onInterrupt(cancel: () => void): () => void {
  if (!enabled) return noop;
  inFlight.add(cancel);
  return () => inFlight.delete(cancel);
}

function noop(): void {}
