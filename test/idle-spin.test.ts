/**
 * Idle polling (src/transport/idle-spin.ts, native/idle_spin.cc): after frame traffic a process polls
 * for a short window instead of sleeping — only while the cluster's processes fit the machine's cores,
 * decided by process 1 for every process — and polling never keeps a process alive or running idle.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { dts, teardown, alive, eventually, ospids, procStatField, ROOT, runMasterScript, exitCodeWithin } from './helpers';

const { addprocs, rmprocs, remotecall_fetch, stats } = dts;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const spin = require(path.join(ROOT, 'dist', 'src', 'transport', 'idle-spin.js')) as typeof import('../src/transport/idle-spin');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const native = require(path.join(ROOT, 'dist', 'src', 'native.js')) as typeof import('../src/native');

jest.setTimeout(60_000);
afterAll(teardown);

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const cores = os.availableParallelism();
/** CPU ms a process's main thread has used (utime + stime, in clock ticks of 10 ms). */
const mainThreadCpuMs = (ospid: number): number => (procStatField(ospid, 14, ospid) + procStatField(ospid, 15, ospid)) * 10;
/** The window a cluster of `processes` processes gets on this machine (the default window). */
const expected = (processes: number): number => (processes <= cores ? spin.DEFAULT_IDLE_SPIN_MICROS : 0);

async function roundTrips(w: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) expect(await remotecall_fetch(Math.abs, w, -i)).toBe(i);
}

test('the window is on only while every process can have a core', () => {
  expect(spin.spinWindowFor(2, 2, 100)).toBe(100);
  expect(spin.spinWindowFor(3, 2, 100)).toBe(0);
  expect(spin.spinWindowFor(5, 8, 250)).toBe(250);
  expect(spin.spinWindowFor(2, 2, 0)).toBe(0);
  // A window the user set holds whatever the count.
  expect(spin.spinWindowFor(3, 2, 50, true)).toBe(50);
  expect(spin.spinWindowFor(3, 2, 0, true)).toBe(0);
});

test('DISTRIBUTED_IDLE_SPIN_US on the master sets every process\'s window, whatever the core count', async () => {
  // More processes than cores on a small machine (a cluster of at most 3 workers elsewhere).
  const n = Math.min(cores + 1, 3);
  const m = runMasterScript(
    `const d = require('./dist/src/index.js');
    (async () => {
      const ids = await d.addprocs(${n});
      const w = await Promise.all([1, ...ids].map(async (p) => (await d.stats(p)).idleSpin.windowMicros));
      console.log('WINDOWS ' + JSON.stringify(w));
      await d.rmprocs(...ids);
    })();`,
    { DISTRIBUTED_IDLE_SPIN_US: '50' },
  );
  const [, windows] = await m.line(/WINDOWS (\[.*\])/, 30_000);
  expect(JSON.parse(windows)).toEqual(new Array(n + 1).fill(50));
  expect(await exitCodeWithin(m, 10_000)).toBe(0);
});

/** The name and message of what `f` throws (the addon's errors come from another realm than jest's). */
function thrown(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
  return 'nothing thrown';
}

test('the native setting rejects what is not a whole number of microseconds up to 100 ms', () => {
  for (const bad of [-1, 1.5, 100_001, Number.NaN]) expect(thrown(() => native.setIdleSpin(bad))).toMatch(/^RangeError: setIdleSpin: windowMicros/);
  expect(thrown(() => native.setIdleSpin('100' as unknown as number))).toMatch(/^TypeError: setIdleSpin: windowMicros/);
  expect(thrown(() => spin.setIdleSpinMicros(-5))).toMatch(/^RangeError: .*whole number of microseconds/);
});

test('after round trips both sides polled; idle, polling stops and costs no CPU; the window follows the cluster size', async () => {
  const [a] = await addprocs(1);
  const windows = async (ids: number[]) => Promise.all([1, ...ids].map(async (p) => (await stats(p)).idleSpin.windowMicros));
  expect(await windows([a])).toEqual([expected(2), expected(2)]);
  const before = [(await stats()).idleSpin.polls, (await stats(a)).idleSpin.polls];
  await roundTrips(a, 300);
  const after = [(await stats()).idleSpin.polls, (await stats(a)).idleSpin.polls];
  if (expected(2) > 0) {
    // Each side's loop turned without sleeping while it waited for the other.
    expect(after[0]).toBeGreaterThan(before[0]);
    expect(after[1]).toBeGreaterThan(before[1]);
  }

  // Idle: the windows close by themselves, and neither process runs on. Measured on each process's
  // main thread (the one that polls), after a full collection here: this jest process may have garbage
  // of earlier test files to collect, on helper threads too, which is not polling.
  expect(await eventually(async () => !(await stats()).idleSpin.active, 2000)).toBe(true);
  gc();
  const [osA] = await ospids([a]);
  await new Promise((r) => setTimeout(r, 50)); // the last answer's window closes
  const polls0 = native.idleSpinStats().polls;
  const cpu0 = [mainThreadCpuMs(process.pid), mainThreadCpuMs(osA)];
  await new Promise((r) => setTimeout(r, 400));
  const cpu = [mainThreadCpuMs(process.pid) - cpu0[0], mainThreadCpuMs(osA) - cpu0[1]];
  // This loop did not poll meanwhile; 400 ms of polling would be ~400 ms of CPU, an idle thread uses a few.
  expect(native.idleSpinStats().polls).toBe(polls0);
  expect(cpu[0]).toBeLessThan(150);
  expect(cpu[1]).toBeLessThan(150);

  // One more worker: process 1 decides for all three, the first worker included.
  const [b] = await addprocs(1);
  expect(await windows([a, b])).toEqual([expected(3), expected(3), expected(3)]);
  if (expected(3) === 0) {
    const polls = [(await stats()).idleSpin.polls, (await stats(a)).idleSpin.polls, (await stats(b)).idleSpin.polls];
    await roundTrips(a, 100);
    await roundTrips(b, 100);
    expect([(await stats()).idleSpin.polls, (await stats(a)).idleSpin.polls, (await stats(b)).idleSpin.polls]).toEqual(polls);
  }
  const [osB] = await ospids([b]);
  await rmprocs(b);
  expect(await eventually(() => !alive(osB), 5000)).toBe(true);
  expect(await windows([a])).toEqual([expected(2), expected(2)]);
  await rmprocs(a);
});

test('polling works the same over TCP', async () => {
  const [a] = await addprocs(1, { transport: 'tcp' });
  const before = [(await stats()).idleSpin.polls, (await stats(a)).idleSpin.polls];
  await roundTrips(a, 300);
  const after = [(await stats()).idleSpin, (await stats(a)).idleSpin];
  expect(after.map((x) => x.windowMicros)).toEqual([expected(2), expected(2)]);
  if (expected(2) > 0) {
    expect(after[0].polls).toBeGreaterThan(before[0]);
    expect(after[1].polls).toBeGreaterThan(before[1]);
  }
  await rmprocs(a);
});

test('a window of 0 turns polling off on every process', async () => {
  spin.setIdleSpinMicros(0);
  try {
    const [a] = await addprocs(1);
    const polls = [(await stats()).idleSpin.polls, (await stats(a)).idleSpin.polls];
    await roundTrips(a, 200);
    const now = [await stats(), await stats(a)];
    expect(now.map((s) => s.idleSpin.windowMicros)).toEqual([0, 0]);
    expect(now.map((s) => s.idleSpin.polls)).toEqual(polls);
    await rmprocs(a);
  } finally {
    spin.setIdleSpinMicros(spin.DEFAULT_IDLE_SPIN_MICROS);
  }
});

test('a malformed DISTRIBUTED_IDLE_SPIN_US fails addprocs before any worker starts', async () => {
  const m = runMasterScript(
    `const d = require('./dist/src/index.js');
    d.addprocs(1).then(() => console.log('STARTED'), (e) => console.log('FAILED ' + e.message + ' WORKERS ' + d.workers()));`,
    { DISTRIBUTED_IDLE_SPIN_US: 'fast' },
  );
  const [, message] = await m.line(/FAILED (.*)/, 20_000);
  expect(message).toMatch(/DISTRIBUTED_IDLE_SPIN_US must be a whole number of microseconds.*"fast".*WORKERS 1$/);
  expect(await exitCodeWithin(m, 10_000)).toBe(0);
});

test('a master script that ends during a polling window exits at once and takes its worker down', async () => {
  const m = runMasterScript(`
    const d = require('./dist/src/index.js');
    (async () => {
      const [w] = await d.addprocs(1);
      const pid = await d.remotecall_fetch(() => process.pid, w);
      for (let i = 0; i < 200; i++) await d.remotecall_fetch(Math.abs, w, -i);
      const s = await d.stats();
      console.log('PID ' + pid + ' WINDOW ' + s.idleSpin.windowMicros + ' ACTIVE ' + s.idleSpin.active);
    })();`);
  const [, pid, window] = await m.line(/PID (\d+) WINDOW (\d+) ACTIVE/, 20_000);
  expect(Number(window)).toBe(expected(2));
  expect(await exitCodeWithin(m, 10_000)).toBe(0);
  expect(await eventually(() => !alive(Number(pid)), 5000)).toBe(true);
});
