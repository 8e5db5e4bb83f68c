/**
 * Idle polling: for a short window after each frame read or written, a process polls its sockets
 * instead of sleeping, so the peer's next frame finds it awake (native/idle_spin.h: on a virtual
 * machine, waking a sleeping process is most of the cost of a small round trip).
 *
 * By default it is on only while the cluster's processes fit this machine's cores, so that polling
 * takes no CPU from a process with work to do. Process 1 decides for the whole cluster (it knows every
 * process, those still starting included) and tells each worker in its Join record and in Members
 * notices. `DISTRIBUTED_IDLE_SPIN_US` on process 1 sets the window in microseconds for every process
 * whatever the core count (0 turns polling off); unset, the window is 100 µs under the core-count rule.
 */
import * as os from 'node:os';
import { setIdleSpin } from '../native';

/** The window when `DISTRIBUTED_IDLE_SPIN_US` is not set, in microseconds. */
export const DEFAULT_IDLE_SPIN_MICROS = 100;
const MAX_IDLE_SPIN_MICROS = 100_000;

let configured: number | undefined;
/** The window was set by `DISTRIBUTED_IDLE_SPIN_US`: the user's choice, kept whatever the core count. */
let explicit = false;
let applied = -1;

/** The configured window in microseconds (`DISTRIBUTED_IDLE_SPIN_US`); throws on a malformed value. */
export function idleSpinMicros(): number {
  if (configured !== undefined) return configured;
  const raw = process.env.DISTRIBUTED_IDLE_SPIN_US;
  if (raw === undefined || raw === '') return (configured = DEFAULT_IDLE_SPIN_MICROS);
  const us = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(us) || us > MAX_IDLE_SPIN_MICROS) {
    throw new RangeError(`DISTRIBUTED_IDLE_SPIN_US must be a whole number of microseconds from 0 to ${MAX_IDLE_SPIN_MICROS}, got ${JSON.stringify(raw)}`);
  }
  explicit = true;
  return (configured = us);
}

/**
 * @internal Replaces the configured window (benchmarks and tests compare both settings in one run); the
 * core-count rule still applies to it.
 */
export function setIdleSpinMicros(us: number): void {
  if (!Number.isInteger(us) || us < 0 || us > MAX_IDLE_SPIN_MICROS) {
    throw new RangeError(`idle spin window must be a whole number of microseconds from 0 to ${MAX_IDLE_SPIN_MICROS}, got ${String(us)}`);
  }
  idleSpinMicros(); // a malformed environment value still fails
  configured = us;
  explicit = false;
}

/**
 * The window for a cluster of `processes` processes on a machine of `cores` cores: the configured one
 * while every process can have a core of its own, else 0 — unless `DISTRIBUTED_IDLE_SPIN_US` set it,
 * which holds whatever the count (`force`).
 */
export function spinWindowFor(processes: number, cores: number = os.availableParallelism(), window: number = idleSpinMicros(), force: boolean = explicit): number {
  return force || processes <= cores ? window : 0;
}

/** Sets this process's window (microseconds, 0 = off); a no-op when it is already that. */
export function applyIdleSpin(us: number): void {
  if (us === applied) return;
  setIdleSpin(us);
  applied = us;
}

/** This process's window now (microseconds; 0 before one was applied). */
export function appliedIdleSpin(): number {
  return Math.max(applied, 0);
}
