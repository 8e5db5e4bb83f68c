/**
 * Young collections for large received arrays.
 *
 * A large array that arrives (through shared memory, or read from the socket into memory of ours) is
 * an ArrayBuffer V8 does not count as external memory (see UNCOUNTED_MIN_BYTES in native.ts): counted,
 * every arrival of 64 MB or more would make V8 start a full (mark-compact) collection in both
 * processes, on the path of every large call, costing more than the copy that moved the array. They
 * die young (a call's argument, a result the caller has read), so we ask for the collection they need,
 * a young one, a fraction of a millisecond; it frees their memory (a shared segment goes back to its
 * sender). Those still alive well after one are long-lived, and are then counted as external memory,
 * so V8 weighs them as it does any other.
 */
import * as vm from 'node:vm';
import { accountSurvivors, collectYoung } from '../native';

/** A young collection runs on the next turn once this many bytes arrived since the last one... */
const BYTES_PER_COLLECTION = 16 * 1024 * 1024;
/** ...and at most this long after smaller arrivals. */
const DELAY_MS = 20;
/** Arrays that arrived before a collection and are alive this long after it are long-lived. */
const SURVIVOR_MS = 100;

/** --expose-gc was on before our first collection: leave it on after ours (undefined: not asked yet). */
let keepExposed: boolean | undefined;

function exposedAlready(): boolean {
  if (process.execArgv.some((a) => /^--expose[-_]gc$/.test(a)) || /(^|\s)--expose[-_]gc(\s|$)/.test(process.env.NODE_OPTIONS ?? '')) return true;
  // Turned on at run time (v8.setFlagsFromString): a fresh context gets `gc` then.
  try {
    return vm.runInNewContext('typeof gc') === 'function';
  } catch {
    return false;
  }
}

let bytesSince = 0;
let soon: NodeJS.Immediate | undefined;
let later: NodeJS.Timeout | undefined;
let survivorCheck: NodeJS.Timeout | undefined;
let lastEpoch = 0;

/** `bytes` of uncounted ArrayBuffers arrived: have them collected soon. */
export function noteLargeArrival(bytes: number): void {
  bytesSince += bytes;
  if (soon !== undefined) return;
  if (bytesSince >= BYTES_PER_COLLECTION) {
    // After this turn: the code the arrival woke has run, and dropped what it does not keep.
    soon = setImmediate(collect);
  } else if (later === undefined) {
    later = setTimeout(collect, DELAY_MS);
    later.unref();
  }
}

function collect(): void {
  soon = undefined;
  if (later !== undefined) clearTimeout(later);
  later = undefined;
  bytesSince = 0;
  keepExposed ??= exposedAlready();
  lastEpoch = collectYoung(keepExposed);
  // What it freed is reported by finalizers that run a little later; whatever arrived before it and is
  // alive well after is long-lived.
  if (survivorCheck === undefined) {
    survivorCheck = setTimeout(countSurvivors, SURVIVOR_MS, lastEpoch);
    survivorCheck.unref();
  }
}

function countSurvivors(epoch: number): void {
  survivorCheck = undefined;
  accountSurvivors(epoch);
  // Collections since: their arrivals are judged in turn.
  if (lastEpoch !== epoch) {
    survivorCheck = setTimeout(countSurvivors, SURVIVOR_MS, lastEpoch);
    survivorCheck.unref();
  }
}
