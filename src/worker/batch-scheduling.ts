/**
 * Batch scheduling: a worker whose host's workers fit its cores runs its JavaScript thread under
 * Linux's SCHED_BATCH (native/batch_scheduling.h).
 *
 * Why: when process 1 calls several workers in a row (`pmap`, `distributed`, a `Promise.all` of
 * remotecalls), each send wakes a sleeping worker. Linux may wake it on the sender's CPU and let it
 * preempt the sender there and then; the sends still to make, and the workers waiting for them, then
 * wait until the scheduler moves one of the two, a tick later (2–5 ms here, in about one fan-out in
 * six). A batch thread does not preempt on waking; it still gets the same share of the CPU. While the
 * workers fit the cores, each usually finds a core of its own (or the sender's, about to sleep), so
 * waking without preempting costs nothing. With more workers than cores, a woken worker would wait for
 * one that computes, so then the policy stays Linux's default.
 *
 * `DISTRIBUTED_SCHED_BATCH` in a worker's environment (local workers inherit the master's) overrides the
 * rule: `0` keeps the default policy, `1` batch whatever the count.
 */
import * as os from 'node:os';
import { PGRP, procs } from '../cluster/process-group';
import { setBatchScheduling } from '../native';

/** The override from `DISTRIBUTED_SCHED_BATCH`: true / false, or undefined for the core-count rule. */
function override(): boolean | undefined {
  const raw = process.env.DISTRIBUTED_SCHED_BATCH;
  if (raw === undefined || raw === '') return undefined;
  if (raw === '0' || raw === '1') return raw === '1';
  throw new RangeError(`DISTRIBUTED_SCHED_BATCH must be 0 or 1, got ${JSON.stringify(raw)}`);
}

/** Whether a worker sharing its host with `workersOnHost` workers (itself included) on `cores` cores runs batch. */
export function batchWanted(workersOnHost: number, cores: number, forced: boolean | undefined = override()): boolean {
  return forced ?? workersOnHost <= cores;
}

let applied: boolean | undefined;

/**
 * On a worker: applies the rule to the membership it knows now (called when its Join arrives and on
 * every Members notice). A no-op when the policy is already the one wanted.
 */
export function updateBatchScheduling(): void {
  let want: boolean;
  try {
    want = batchWanted(procs(PGRP.id).filter((p) => p !== 1).length, os.availableParallelism());
  } catch (e) {
    if (applied === undefined) process.emitWarning(`distributed-ts: ${(e as Error).message}; keeping the default scheduling policy`);
    want = false;
  }
  if (want === applied) return;
  applied = want;
  setBatchScheduling(want);
}
