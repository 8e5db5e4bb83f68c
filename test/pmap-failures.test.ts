/**
 * pmap when a worker is SIGKILLed mid-map: with retries every result is right and the dead worker leaves
 * the pool (on_error sees the ProcessExitedException); without, the error surfaces.
 */
import { dts, teardown } from './helpers';

const { addprocs, pmap, range, default_worker_pool, workers, ProcessExitedException } = dts;
declare function myid(): number;
jest.setTimeout(90_000);
afterAll(teardown);

/** Sleeps a little; on worker `victim` an item ≥ 10 kills the worker outright. */
const mapf = async (x: number, victim: number): Promise<[number, number]> => {
  await new Promise((r) => setTimeout(r, 20));
  if (myid() === victim && x >= 10) process.kill(process.pid, 'SIGKILL');
  return [x * 2, myid()];
};

test('a worker killed mid-pmap: its items are retried elsewhere, on_error sees ProcessExitedException, it leaves the pool', async () => {
  const [a, b] = await addprocs(2);
  const seen: unknown[] = [];
  for (const batch_size of [1, 3]) {
    const victim = batch_size === 1 ? a : b;
    const alive = workers();
    const r = (await pmap(mapf, range(0, 40), new Array(40).fill(victim), {
      batch_size,
      retry_delays: [0, 0, 0],
      on_error: (e: unknown) => {
        seen.push(e);
        throw e;
      },
    })) as Array<[number, number]>;
    expect(r.map((x) => x[0])).toEqual(range(0, 80, 2).toArray());
    expect(r.filter((x) => x[0] >= 20).every((x) => x[1] !== victim)).toBe(true);
    expect(workers()).not.toContain(victim);
    expect(await default_worker_pool().workers()).not.toContain(victim);
    expect(alive).toContain(victim);
    if (batch_size === 1) await addprocs(1);
  }
  expect(seen.some((e) => e instanceof ProcessExitedException)).toBe(true);
});

test('without retries a dying worker fails pmap with ProcessExitedException', async () => {
  const [victim] = await addprocs(1);
  await expect(pmap(mapf, range(0, 40), new Array(40).fill(victim))).rejects.toBeInstanceOf(ProcessExitedException);
});
