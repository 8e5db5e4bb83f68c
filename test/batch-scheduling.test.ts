/**
 * Batch scheduling (src/worker/batch-scheduling.ts, native/batch_scheduling.cc): a worker runs under
 * Linux's SCHED_BATCH while its host's workers fit its cores, under the default policy otherwise, and
 * follows the cluster as workers come and go. The policy is read from the kernel (/proc/<pid>/stat).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { dts, teardown, alive, eventually, exitCodeWithin, ospids, procStatField, ROOT, runMasterScript } from './helpers';

const { addprocs, rmprocs, stats, workers } = dts;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const batch = require(path.join(ROOT, 'dist', 'src', 'worker', 'batch-scheduling.js')) as typeof import('../src/worker/batch-scheduling');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const native = require(path.join(ROOT, 'dist', 'src', 'native.js')) as typeof import('../src/native');

jest.setTimeout(60_000);
afterAll(teardown);

const SCHED_OTHER = 0;
const SCHED_BATCH = 3;

/** The scheduling policy of a process's main thread, as the kernel reports it. */
const policyOf = (ospid: number): number => procStatField(ospid, 41);

/** Workers started under `taskset -c 0`: each sees one core, whatever the machine has. */
const onOneCore = { exename: 'taskset', exeflags: ['-c', '0', process.execPath] };

test('batch while the workers fit the cores; an override in the environment wins', () => {
  expect(batch.batchWanted(1, 1)).toBe(true);
  expect(batch.batchWanted(2, 2)).toBe(true);
  expect(batch.batchWanted(3, 2)).toBe(false);
  expect(batch.batchWanted(3, 2, true)).toBe(true);
  expect(batch.batchWanted(1, 8, false)).toBe(false);
});

test('the native setting takes a boolean, and this process can switch policy and back', () => {
  expect(() => native.setBatchScheduling(1 as unknown as boolean)).toThrow(/setBatchScheduling\(on\): on must be a boolean, got number/);
  expect(() => (native.setBatchScheduling as unknown as () => boolean)()).toThrow(/on must be a boolean, got undefined/);
  expect(policyOf(process.pid)).toBe(SCHED_OTHER);
  try {
    expect(native.setBatchScheduling(true)).toBe(true);
    expect(native.batchScheduling()).toBe(true);
    expect(policyOf(process.pid)).toBe(SCHED_BATCH);
  } finally {
    expect(native.setBatchScheduling(false)).toBe(true);
  }
  expect(policyOf(process.pid)).toBe(SCHED_OTHER);
  expect(native.batchScheduling()).toBe(false);
});

test('two local workers on a machine of two or more cores run batch; the master keeps its policy', async () => {
  const ids = await addprocs(2);
  const os_ = await ospids(ids);
  const want = 2 <= os.availableParallelism() ? SCHED_BATCH : SCHED_OTHER;
  expect(os_.map(policyOf)).toEqual([want, want]);
  expect(await Promise.all(ids.map(async (p) => (await stats(p)).batchScheduling))).toEqual([want === SCHED_BATCH, want === SCHED_BATCH]);
  expect(policyOf(process.pid)).toBe(SCHED_OTHER);
  expect((await stats()).batchScheduling).toBe(false);
  await rmprocs(...ids);
  expect(await eventually(() => os_.every((p) => !alive(p)), 5000)).toBe(true);
});

test('the policy follows the cluster: a second worker on one core turns it off for both, and its removal back on', async () => {
  const [a] = await addprocs(1, onOneCore);
  const [osA] = await ospids([a]);
  expect(policyOf(osA)).toBe(SCHED_BATCH);
  const [b] = await addprocs(1, onOneCore);
  const [osB] = await ospids([b]);
  expect(await eventually(() => policyOf(osA) === SCHED_OTHER && policyOf(osB) === SCHED_OTHER, 5000)).toBe(true);
  expect((await stats(a)).batchScheduling).toBe(false);
  await rmprocs(b);
  expect(await eventually(() => !alive(osB), 5000)).toBe(true);
  expect(await eventually(() => policyOf(osA) === SCHED_BATCH, 5000)).toBe(true);
  await rmprocs(a);
  expect(await eventually(() => !alive(osA), 5000)).toBe(true);
  expect(workers()).toEqual([1]);
});

test('DISTRIBUTED_SCHED_BATCH=0 keeps the default policy, and 1 batch whatever the count', async () => {
  const [off] = await addprocs(1, { env: { DISTRIBUTED_SCHED_BATCH: '0' } });
  const forced = await addprocs(2, { ...onOneCore, env: { DISTRIBUTED_SCHED_BATCH: '1' } });
  const all = [off, ...forced];
  const pids = await ospids(all);
  expect(pids.map(policyOf)).toEqual([SCHED_OTHER, SCHED_BATCH, SCHED_BATCH]);
  await rmprocs(...all);
  expect(await eventually(() => pids.every((p) => !alive(p)), 5000)).toBe(true);
});

test('a malformed DISTRIBUTED_SCHED_BATCH is named in the worker\'s output, and the worker keeps the default policy', async () => {
  const m = runMasterScript(
    `const d = require('./dist/src/index.js');
    (async () => {
      const [w] = await d.addprocs(1, { env: { DISTRIBUTED_SCHED_BATCH: 'yes' } });
      console.log('PID ' + (await d.remotecall_fetch(() => process.pid, w)) + ' BATCH ' + (await d.stats(w)).batchScheduling);
      setTimeout(() => d.rmprocs(w), 300); // time for the worker's warning to reach this output
    })();`,
  );
  const [, pid, on] = await m.line(/PID (\d+) BATCH (\w+)/, 20_000);
  expect(on).toBe('false');
  expect(await exitCodeWithin(m, 10_000)).toBe(0);
  expect(m.output()).toMatch(/DISTRIBUTED_SCHED_BATCH must be 0 or 1, got "yes"; keeping the default scheduling policy/);
  expect(await eventually(() => !alive(Number(pid)), 5000)).toBe(true);
});
