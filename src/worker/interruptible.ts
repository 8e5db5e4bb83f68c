/**
 * Making a worker's computations interruptible (Julia's `interrupt`). Shipped calls run through the
 * addon's `callBreakable` (native/interrupts.h): a SIGINT handler of the addon's own has a helper thread
 * ask V8 to terminate the running call, which then fails with `InterruptException`; even a tight
 * synchronous loop is broken. A SIGINT that finds no call running never ends the worker: it fails the
 * asynchronous calls still in flight with `InterruptException` (their promises cannot be stopped; their
 * later outcome is dropped).
 *
 * Why not `vm` with `breakOnSigint`: each such run builds a script function, registers a watchdog and
 * resets SIGINT to "exit" when it ends. Measured with callgrind, that was a quarter of a worker's
 * instructions per tiny remote call; the native call costs one transition and two uncontended locks.
 */
import { InterruptException } from '../errors';
import { enableNativeInterrupts, callBreakableNative } from '../native';

let enabled = false;
/** Cancellers of the asynchronous calls in flight. */
const inFlight = new Set<() => void>();

/**
 * Makes this process's calls interruptible by SIGINT (workers call it once at start); from then on an
 * idle worker survives SIGINT too.
 *
 * ```ts
 * enableInterrupts();
 * callBreakable(() => { for (;;) {} }, []); // a SIGINT now throws InterruptException here
 * ```
 */
export function enableInterrupts(): void {
  if (enabled) return;
  enabled = true;
  enableNativeInterrupts(() => {
    for (const cancel of [...inFlight]) cancel();
  });
}

/** Calls `f(...args)`; when interrupts are enabled, a SIGINT breaks it with an `InterruptException`. */
export function callBreakable(f: Function, args: unknown[]): unknown {
  if (!enabled) return f(...args);
  try {
    return callBreakableNative(f, args);
  } catch (e) {
    if (e !== null && typeof e === 'object' && (e as { code?: unknown }).code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED') throw new InterruptException();
    throw e;
  }
}

/** Registers `cancel` to run when this process is interrupted while no call runs; returns its disposer. */
export function onInterrupt(cancel: () => void): () => void {
  if (!enabled) return noop;
  inFlight.add(cancel);
  return () => inFlight.delete(cancel);
}

function noop(): void {}
