/**
 * Making a worker's computations interruptible (Julia's `interrupt`): shipped calls run inside a
 * `vm` script with `breakOnSigint`, so a SIGINT stops even a tight synchronous loop.
 *
 * `breakOnSigint` alone costs ~50 µs per run here, because Node starts and joins its SIGINT watchdog
 * thread on every run. That thread is process-wide and reference-counted, so a helper worker thread keeps
 * one breakable run open (blocked in `Atomics.wait`): the count never drops to zero, each call's run
 * costs ~1 µs, and a SIGINT that arrives while nothing runs is absorbed instead of killing the worker.
 *
 * Node hands a SIGINT only to the most recently started run. So the helper may start its run only while
 * this thread is in none (else it would take every SIGINT meant for a call's loop, and the loop would
 * never break): it waits for a go-ahead this thread gives from the event loop, where no run is active,
 * and this thread waits the few microseconds until the helper's run has begun. A SIGINT that breaks the
 * helper's run (this thread was idle or awaiting) is reported here, which fails the asynchronous calls
 * still in flight with `InterruptException` (their promises cannot be stopped; their later outcome is
 * dropped), and the helper is re-armed the same way.
 */
import * as vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import { InterruptException } from '../errors';
import { ignoreSigint, addonPath } from '../native';

/** The helper's states, in one shared cell. */
const PARKED = 0; // out of its run, waiting for a go-ahead
const GO = 1; // given the go-ahead, not yet in its run
const ARMING = 2; // claimed the go-ahead, starting its run
const ARMED = 3; // inside its run: holds the watchdog

const KEEPER = `
const vm = require('node:vm');
const { parentPort, workerData } = require('node:worker_threads');
const { ignoreSigint } = require(workerData.addon);
const ctl = workerData.ctl;
globalThis.__distributed_ts_keeper__ = () => {
  Atomics.store(ctl, 0, ${ARMED});
  Atomics.notify(ctl, 0);
  Atomics.wait(ctl, 0, ${ARMED});
};
const run = new vm.Script('__distributed_ts_keeper__()', { filename: 'distributed-ts-sigint-keeper.js' });
parentPort.postMessage('ready');
for (;;) {
  while (Atomics.compareExchange(ctl, 0, ${GO}, ${ARMING}) !== ${GO}) Atomics.wait(ctl, 0, ${PARKED});
  let broken = false;
  try { run.runInThisContext({ breakOnSigint: true }); } catch { broken = true; }
  Atomics.store(ctl, 0, ${PARKED});
  // If no other run holds the watchdog, Node has just set SIGINT back to "exit": undo that at once.
  ignoreSigint();
  parentPort.postMessage(broken ? 'sigint' : 'ready');
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
/** How long this thread waits for the helper to start its run before trying again later. */
const ARM_WAIT_MS = 2000;

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

/** The helper's state cell (undefined until it is started). */
let ctl: Int32Array | undefined;

/** Whether the helper thread holds Node's SIGINT watchdog (then no run's end resets SIGINT). */
function keeperHolds(): boolean {
  return ctl !== undefined && Atomics.load(ctl, 0) === ARMED;
}

/** Resolves once the helper thread holds the watchdog (for tests and for code that needs it at once). */
export function keeperReady(): Promise<void> {
  if (keeperUp === undefined) startKeeper();
  return keeperUp!;
}

let keeperUp: Promise<void> | undefined;

function startKeeper(): void {
  if (keeperUp !== undefined) return;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  ctl = cell;
  const keeper = new Worker(KEEPER, { eval: true, stdout: false, stderr: false, workerData: { ctl: cell, addon: addonPath } });
  keeperUp = new Promise<void>((resolve) => {
    keeper.on('message', (m) => {
      if (m === 'sigint') for (const cancel of [...inFlight]) cancel();
      const tryArm = (): void => {
        if (arm(cell)) resolve();
        else setTimeout(tryArm, KEEPER_DELAY_MS).unref();
      };
      tryArm();
    });
    keeper.once('error', () => resolve());
  });
  keeper.unref(); // after the listeners, which would otherwise keep the process alive
}

/**
 * Lets the helper start its run, and waits until it has. Called from the event loop only, so no run of
 * this thread is active and the helper's run goes below every later one. Returns false if the helper
 * did not take the go-ahead in time (it is then withdrawn).
 */
function arm(cell: Int32Array): boolean {
  if (Atomics.compareExchange(cell, 0, PARKED, GO) !== PARKED) return Atomics.load(cell, 0) === ARMED;
  Atomics.notify(cell, 0);
  const until = Date.now() + ARM_WAIT_MS;
  for (;;) {
    const state = Atomics.load(cell, 0);
    if (state === ARMED) return true;
    if (state === GO && Date.now() >= until && Atomics.compareExchange(cell, 0, GO, PARKED) === GO) return false;
    // ARMING is a few microseconds of the helper's own work: wait it out whatever the clock says.
    Atomics.wait(cell, 0, state, state === GO ? Math.max(1, until - Date.now()) : 50);
  }
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
    if (!keeperHolds()) ignoreSigint();
  }
}

/** Registers `cancel` to run when this process is interrupted; returns its disposer. */
export function onInterrupt(cancel: () => void): () => void {
  if (!enabled) return noop;
  inFlight.add(cancel);
  return () => inFlight.delete(cancel);
}

function noop(): void {}
