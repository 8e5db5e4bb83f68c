/**
 * The flagship demo: the Julia manual's SharedArray advection kernel `q[i,j,t+1] = q[i,j,t] + u[i,j,t]`
 * on n×n×n arrays, in its three variants, timed side by side:
 *   serial       one process, plain Float64Arrays (`advection_serial!`)
 *   distributed  per time step, `sync` + `distributed` over the columns (`advection_parallel!`)
 *   shared       each worker its myrange chunk over all steps (`advection_shared!`)
 * and checked to produce identical arrays.
 *
 *   node dist/examples/advection.js [--n 200] [--workers W] [--reps 3]   (--n 500 is the manual's 500³)
 */
import * as os from 'node:os';
import { addprocs, finalize, rmprocs, SharedArray, sdata, workers } from '../src/index';
import { advectionParallel, advectionSerial, advectionShared, fillInputs, firstDifference, resetSteps } from './advection-kernels';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const raw = i >= 0 ? process.argv[i + 1] : process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`--${name} must be a positive integer (got ${raw})`);
  return v;
}

/** Best time over `reps` runs, ms (the first run also warms the JIT, as the manual's second @time does). */
async function best(reps: number, before: () => void, run: () => unknown): Promise<number> {
  let min = Infinity;
  for (let r = 0; r < reps; r++) {
    before();
    const t0 = performance.now();
    await run();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

async function main(): Promise<void> {
  const n = option('n', 200);
  const reps = option('reps', 3);
  const nw = option('workers', Math.max(1, Math.min(4, os.cpus().length)));
  const dims = [n, n, n];
  const mb = (n ** 3 * 8) / 1e6;
  console.log(`advection on ${n}×${n}×${n} Float64 arrays (${mb.toFixed(0)} MB each), ${nw} workers, best of ${reps}`);
  await addprocs(nw);
  try {
    // serial on plain arrays in this process
    const qs = new Float64Array(n ** 3);
    const us = new Float64Array(n ** 3);
    fillInputs(qs, us, dims);
    const tSerial = await best(reps, () => resetSteps(qs, dims), () => advectionSerial(qs, us, dims));

    // the same inputs in shared memory, mapped by every worker
    const u = await SharedArray.create('Float64', dims);
    const q = await SharedArray.create('Float64', dims);
    fillInputs(sdata(q), sdata(u), dims);

    const tParallel = await best(Math.min(reps, 2), () => resetSteps(sdata(q), dims), () => advectionParallel(q, u));
    const dParallel = firstDifference(sdata(q), qs);
    const tShared = await best(reps, () => resetSteps(sdata(q), dims), () => advectionShared(q, u));
    const dShared = firstDifference(sdata(q), qs);

    const rows = [
      ['serial (1 process, Float64Array)', tSerial, 1],
      [`distributed per time step (${nw} workers)`, tParallel, tSerial / tParallel],
      [`shared chunks along dim 2 (${nw} workers)`, tShared, tSerial / tShared],
    ] as const;
    const w = Math.max(...rows.map((r) => r[0].length));
    console.log(`\n${'variant'.padEnd(w)}  ${'time'.padStart(10)}  speed-up`);
    for (const [name, ms, s] of rows) console.log(`${name.padEnd(w)}  ${`${ms.toFixed(1)} ms`.padStart(10)}  ${s.toFixed(2)}×`);
    console.log(
      '\n(the distributed variant pays one round of messages per time step; the shared variant is bounded by\n' +
        ' what the machine gives two processes at once: free cores, the memory bandwidth they share, and on a\n' +
        ' shared virtual machine each core\'s speed of the moment; `npm run bench` measures that capacity)',
    );
    const same = dParallel < 0 && dShared < 0;
    console.log(same ? '\nall three variants produced identical arrays' : `\nMISMATCH: distributed differs at ${dParallel}, shared at ${dShared}`);
    finalize(q);
    finalize(u);
    if (!same) process.exitCode = 1;
  } finally {
    await rmprocs(...workers());
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
