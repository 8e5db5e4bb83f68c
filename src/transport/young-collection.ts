/**
 * Young collections for the ArrayBuffers over received shared-memory segments.
 *
 * Each large array that arrives through shared memory is an ArrayBuffer over a segment of the sender's
 * pool, which the sender reuses once that ArrayBuffer is collected. Counted as external memory, every
 * such ArrayBuffer of 64 MB or more would make V8 start a full (mark-compact) collection in both
 * processes, on the path of every large call: more than the copy that moved the array. So V8 does not
 * count them (native/transfer_segments.cc), and we ask for the collection they need, a young one: they
 * die young (a call's argument, a result the caller has read), and a young collection costs a fraction
 * of a millisecond. Those still alive after it are long-lived; they are then counted as external
 * memory, so V8 weighs them as it does any other.
 */
import { collectYoung, type FrameReader } from '../native';

/** A young collection runs on the next turn once this many bytes arrived since the last one... */
const BYTES_PER_COLLECTION = 16 * 1024 * 1024;
/** ...and at most this long after smaller arrivals. */
const DELAY_MS = 20;

/** Started with --expose-gc: leave it on after our collections. */
const keepExposed =
  process.execArgv.some((a) => /^--expose[-_]gc$/.test(a)) || /(^|\s)--expose[-_]gc(\s|$)/.test(process.env.NODE_OPTIONS ?? '');

/** Arrays that arrived before a collection and are alive this long after it are long-lived. */
const SURVIVOR_MS = 100;

let bytesSince = 0;
let soon: NodeJS.Immediate | undefined;
let later: NodeJS.Timeout | undefined;
/** The readers that had arrivals since the last count of survivors. */
const readers = new Set<FrameReader>();
let survivorCheck: NodeJS.Timeout | undefined;
let lastEpoch = 0;

/** `bytes` of shared-memory segments arrived on `reader`'s connection: have them collected soon. */
export function noteSharedArrival(reader: FrameReader, bytes: number): void {
  readers.add(reader);
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
  for (const r of readers) r.accountSharedSurvivors(epoch);
  if (lastEpoch === epoch) readers.clear();
  else {
    // Collections since: their arrivals are judged in turn.
    survivorCheck = setTimeout(countSurvivors, SURVIVOR_MS, lastEpoch);
    survivorCheck.unref();
  }
}
