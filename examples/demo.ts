/**
 * The demo `npm start` runs: a local cluster, remote calls of each kind, and a small table of timings.
 */
import { addprocs, remotecall, remotecall_fetch, remotecall_wait, rmprocs, workers, myid, nworkers, stats, RemoteException } from '../src/index';

function fmt(n: number, unit: string): string {
  return `${n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0)} ${unit}`;
}

async function main(): Promise<void> {
  const rows: Array<[string, string]> = [];
  let t = performance.now();
  const ids = await addprocs(2);
  rows.push(['addprocs(2)', fmt(performance.now() - t, 'ms')]);
  console.log(`master is process ${myid()}; workers ${JSON.stringify(workers())} (nworkers() = ${nworkers()})`);

  // Each worker reports who it is.
  for (const w of ids) console.log(`worker ${w}: pid ${await remotecall_fetch(() => process.pid, w)}, myid() = ${await remotecall_fetch(myid, w)}`);

  // remotecall returns a Future at once; fetch waits for the value.
  const f = remotecall((n: number) => { let s = 0; for (let i = 0; i < n; i++) s += Math.sqrt(i); return s; }, ids[0], 1e6);
  console.log(`sum of sqrt(0..1e6) on worker ${ids[0]}: ${(await f.fetch()).toFixed(1)}`);
  await remotecall_wait(() => console.log('hello from a worker (its output is forwarded)'), ids[1]);

  // Errors come back as RemoteException with the remote stack.
  try {
    await remotecall_fetch(() => { throw new RangeError('out of range'); }, ids[1]);
  } catch (e) {
    if (e instanceof RemoteException) console.log(`caught: ${e.message.split('\n').slice(0, 2).join(' | ')}`);
  }

  // Timings.
  const n = 2000;
  for (let i = 0; i < 200; i++) await remotecall_fetch(Math.abs, ids[0], -1);
  t = performance.now();
  for (let i = 0; i < n; i++) await remotecall_fetch(Math.abs, ids[0], -i);
  const rt = ((performance.now() - t) / n) * 1000;
  // Idle polling is on only while every process has a core of its own (README: idle polling).
  const polling = (await stats()).idleSpin.windowMicros;
  rows.push([`remotecall_fetch round trip (tiny; idle polling ${polling > 0 ? `${polling} µs` : 'off'})`, fmt(rt, 'µs')]);

  const big = new Float64Array(1e7).map((_, i) => i);
  // Untimed transfers first: the first ones go on the socket while each side makes the shared-memory
  // segments that large arrays then move through. Then the best of three.
  for (let i = 0; i < 4; i++) await remotecall_fetch((x: Float64Array) => x, ids[0], big);
  let ms = Infinity;
  for (let i = 0; i < 3; i++) {
    t = performance.now();
    const back = await remotecall_fetch((x: Float64Array) => x, ids[0], big);
    ms = Math.min(ms, performance.now() - t);
    if (back[12345] !== 12345 || back.length !== big.length) throw new Error('large array came back wrong');
  }
  rows.push(['80 MB Float64Array, there and back (best of 3)', `${fmt(ms, 'ms')} (${fmt((2 * big.byteLength) / ms / 1e3, 'MB/s')})`]);

  t = performance.now();
  await rmprocs(...ids);
  rows.push(['rmprocs(2 workers)', fmt(performance.now() - t, 'ms')]);

  const w = Math.max(...rows.map((r) => r[0].length));
  console.log('\n' + rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n'));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
