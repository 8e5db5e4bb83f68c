/**
 * The flagship demo's kernels (examples/advection-kernels.ts, compiled): the serial, distributed-per-step
 * and shared-chunk variants produce identical arrays, on real workers and real shared memory.
 */
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { dts, teardown, ROOT } from './helpers';
import type * as Kernels from '../examples/advection-kernels';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const k: typeof Kernels = require(path.join(ROOT, 'dist', 'examples', 'advection-kernels.js'));
const { addprocs, SharedArray, sdata, finalize } = dts;

jest.setTimeout(60_000);
let w: number[] = [];
beforeAll(async () => {
  w = await addprocs(2);
});
afterAll(teardown);

test.each([
  [[24, 24, 24]],
  [[17, 13, 9]],
  [[5, 1, 4]],
])('the three variants agree element for element on %j', async (dims) => {
  const len = dims[0] * dims[1] * dims[2];
  const qs = new Float64Array(len);
  const us = new Float64Array(len);
  k.fillInputs(qs, us, dims);
  k.advectionSerial(qs, us, dims);
  // the kernel really ran: the last time step is the first plus every u before it
  const [n1, n2, n3] = dims;
  const plane = n1 * n2;
  for (let x = 0; x < plane; x++) {
    let expected = qs[x];
    for (let t = 0; t < n3 - 1; t++) expected += us[t * plane + x];
    expect(qs[(n3 - 1) * plane + x]).toBe(expected);
  }

  const q = await SharedArray.create('Float64', dims);
  const u = await SharedArray.create('Float64', dims);
  k.fillInputs(sdata(q), sdata(u), dims);
  await k.advectionParallel(q, u);
  expect(k.firstDifference(sdata(q), qs)).toBe(-1);

  k.resetSteps(sdata(q), dims);
  expect(k.firstDifference(sdata(q), qs)).toBeGreaterThanOrEqual(0);
  await k.advectionShared(q, u);
  expect(k.firstDifference(sdata(q), qs)).toBe(-1);
  finalize(q);
  finalize(u);
});

test('the demo prints its table and confirms identical arrays', () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'examples', 'advection.js'), '--n', '40', '--workers', '2', '--reps', '1'], {
    encoding: 'utf8',
    timeout: 40_000,
  });
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/serial \(1 process, Float64Array\)\s+[\d.]+ ms\s+1\.00×/);
  expect(r.stdout).toMatch(/distributed per time step \(2 workers\)\s+[\d.]+ ms\s+[\d.]+×/);
  expect(r.stdout).toMatch(/shared chunks along dim 2 \(2 workers\)\s+[\d.]+ ms\s+[\d.]+×/);
  expect(r.stdout).toContain('all three variants produced identical arrays');
});
