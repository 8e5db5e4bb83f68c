/**
 * sync (Julia's @sync) waits for every task started inside it, not only remote calls: pmap, asyncmap,
 * everywhere (its part on the caller included) and distributed with a reducer, each as one task whose
 * outcome is what sync sees; the wait does not depend on when a running task starts its next call.
 */
import { dts, sleep, teardown } from './helpers';

const { addprocs, remotecall_fetch, sync, spawnat, fetchfrom, pmap, asyncmap, everywhere, distributed, range, CompositeException, WorkerPool, Future, SharedArray, myid } = dts;

declare const globalThis: Record<string, unknown>;
jest.setTimeout(60_000);
let w: number[] = [];
beforeAll(async () => {
  w = await addprocs(2);
});
afterAll(teardown);

test('an un-awaited pmap whose next call starts late (a retry after a delay) is waited for, and its handled failure is not a sync failure', async () => {
  const failedOnce = new Future<boolean>(); // on the master: item 1 fails until it is set
  let checks = 0;
  let result: unknown;
  const value = await sync(async () => {
    // Item 1 fails on its first attempt and is retried 300 ms later: between the two, pmap has no call under way.
    void pmap(
      async (x: number, flag: InstanceType<typeof Future<boolean>>) => {
        if (x === 1 && !(await flag.isready())) {
          await flag.put(true);
          throw new Error('first attempt');
        }
        return x * 10;
      },
      [0, 1, 2],
      [failedOnce, failedOnce, failedOnce],
      { retry_delays: [0.3], retry_check: (s: unknown) => { checks++; return [s, true]; } },
    ).then((r) => (result = r));
    return 'body';
  });
  expect(value).toBe('body');
  expect(checks).toBe(1);
  expect(result).toEqual([0, 10, 20]);
});

test('awaiting a pmap with on_error inside sync: the handled item errors are not sync failures', async () => {
  const got = await sync(async () => pmap((x: number) => { if (x === 1) throw new Error('bad item'); return x; }, [0, 1, 2], { on_error: () => -1 }));
  expect(got).toEqual([0, -1, 2]);
});

test('an un-awaited asyncmap of local async work is waited for', async () => {
  const done: number[] = [];
  await sync(async () => {
    void asyncmap(async (x: number) => {
      await sleep(50 * x);
      done.push(x);
    }, [1, 2, 3], { ntasks: 1 });
  });
  expect(done).toEqual([1, 2, 3]);
});

test("an un-awaited everywhere is waited for, its part on the caller included; its failure is one CompositeException", async () => {
  globalThis.everywhereMark = undefined;
  await sync(async () => {
    void everywhere(async () => {
      if (myid() === 1) await new Promise((r) => setTimeout(r, 300)); // the caller's part ends last
      (globalThis as Record<string, unknown>).everywhereMark = myid();
    });
  });
  expect(globalThis.everywhereMark).toBe(1);
  expect(await remotecall_fetch(() => (globalThis as Record<string, unknown>).everywhereMark, w[0])).toBe(w[0]);

  const err = await sync(async () => {
    void everywhere(() => {
      if (myid() !== 1) throw new Error(`no on ${myid()}`);
    }).catch(() => undefined);
    return 'not this';
  }).catch((e: unknown) => e);
  // The block's own .catch handles everywhere's rejection, but sync still reports the failed task.
  expect(err).toBeInstanceOf(CompositeException);
  const inner = (err as InstanceType<typeof CompositeException>).exceptions;
  expect(inner).toHaveLength(1); // once: not also each worker's RemoteException on its own
  expect(inner[0]).toBeInstanceOf(CompositeException);
  expect((inner[0] as InstanceType<typeof CompositeException>).exceptions).toHaveLength(2);
});

test('an un-awaited distributed with a reducer is waited for, the reduction on the caller included; a reducer failing on the caller fails sync', async () => {
  let total: unknown;
  await sync(async () => {
    void distributed(range(0, 4), (i: number) => i, (a: number, b: number) => {
      for (const end = Date.now() + 50; Date.now() < end; );
      return a + b;
    }).then((v) => (total = v));
  });
  expect(total).toBe(6);
  const err = await sync(async () => {
    void distributed(range(0, 4), (i: number) => i, (a: number, b: number) => { if (myid() === 1) throw new Error('reducer failed'); return a + b; }).catch(() => undefined);
  }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(CompositeException);
  expect((err as InstanceType<typeof CompositeException>).exceptions.map((e) => (e as Error).message)).toEqual(['reducer failed']);
});

test('remote_do inside sync is one task (a failure is reported once); a call through a pool too', async () => {
  const err = await sync(async () => {
    dts.remote_do(() => { throw new Error('do failed'); }, w[0]);
    void remotecall_fetch(() => { throw new Error('pool call failed'); }, new WorkerPool([w[1]])).catch(() => undefined);
  }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(CompositeException);
  expect((err as InstanceType<typeof CompositeException>).exceptions.map((e) => (e as { captured: { ex: Error } }).captured.ex.message)).toEqual(['do failed', 'pool call failed']);
});

test('spawnat and fetchfrom are tasks, on this process as on a worker', async () => {
  const order: string[] = [];
  await sync(async () => {
    spawnat(1, async () => {
      await sleep(200);
      order.push('spawnat here');
    });
    void fetchfrom(1, async () => {
      await sleep(100);
      order.push('fetchfrom here');
    });
    spawnat(':any', () => sleep(50));
  });
  expect(order).toEqual(['fetchfrom here', 'spawnat here']);
});

test('SharedArray.create is one task: waited for with its init, and an init failing on every worker is one failure', async () => {
  let made: unknown;
  await sync(async () => {
    void SharedArray.create('Int32', [4], {
      init: async (S: { set(i: number, v: number): void }) => {
        await new Promise((r) => setTimeout(r, 200));
        S.set(myid() - 2, myid());
      },
      pids: w,
    }).then((S) => (made = [...dts.sdata(S)]));
  });
  expect(made).toEqual([w[0], w[1], 0, 0]);
  const err = await sync(async () => {
    void SharedArray.create('Int32', [4], { init: () => { throw new Error('init failed'); }, pids: w }).catch(() => undefined);
  }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(CompositeException);
  const inner = (err as InstanceType<typeof CompositeException>).exceptions;
  expect(inner).toHaveLength(1); // the creation's own error, not also each worker's RemoteException
  expect((inner[0] as Error).message).toMatch(/SharedArray.create: init failed on 2 of 2 processes/);
});
