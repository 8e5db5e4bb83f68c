/**
 * interrupt: a tight synchronous loop on a worker is stopped, the call fails with RemoteException wrapping
 * InterruptException, and the worker serves the next call; awaiting calls fail too; no args = all workers.
 */
import { dts, sleep, teardown, alive } from './helpers';

const { addprocs, remotecall, remotecall_fetch, interrupt, workers, myid } = dts;
const { RemoteException, InterruptException } = dts;

jest.setTimeout(60_000);
let w: number[] = [];
beforeAll(async () => {
  w = await addprocs(2);
});
afterAll(teardown);

/** Interrupts `pids` until every promise settled (a signal sent before the call started is absorbed). */
async function interruptUntilSettled(pids: number[], ps: Promise<unknown>[]): Promise<PromiseSettledResult<unknown>[]> {
  let done = false;
  const all = Promise.allSettled(ps).finally(() => (done = true));
  await sleep(100);
  for (let i = 0; i < 200 && !done; i++) {
    if (pids.length === 0) interrupt();
    else interrupt(...pids);
    await sleep(100);
  }
  return all;
}

function expectInterrupted(r: PromiseSettledResult<unknown>, pid: number): void {
  expect(r.status).toBe('rejected');
  const e = (r as PromiseRejectedResult).reason;
  expect(e).toBeInstanceOf(RemoteException);
  expect((e as InstanceType<typeof RemoteException>).pid).toBe(pid);
  expect((e as InstanceType<typeof RemoteException>).captured.ex).toBeInstanceOf(InterruptException);
}

test('interrupt stops while(true){} on a worker; the worker serves the next call', async () => {
  const ospid = await remotecall_fetch(() => process.pid, w[0]);
  const spinning = remotecall_fetch(() => {
    // eslint-disable-next-line no-constant-condition
    while (true) {
      /* spin */
    }
  }, w[0]);
  const [r] = await interruptUntilSettled([w[0]], [spinning]);
  expectInterrupted(r, w[0]);
  expect(await remotecall_fetch(() => myid(), w[0])).toBe(w[0]);
  expect(await remotecall_fetch((a: number, b: number) => a * b, w[0], 6, 7)).toBe(42);
  expect(workers()).toContain(w[0]);
  expect(alive(ospid)).toBe(true);
});

test('a loop started the moment a worker joined is broken, and nested breakable calls unwind to the innermost', async () => {
  const [fresh] = await addprocs(1);
  const spinning = remotecall_fetch(() => {
    for (;;) {
      /* spin */
    }
  }, fresh);
  const [r] = await interruptUntilSettled([fresh], [spinning]);
  expectInterrupted(r, fresh);
  // A call that itself makes a local (breakable) call spinning inside: the interrupt surfaces in the
  // inner call, whose rejection the outer call catches, and the outer call goes on.
  const nested = remotecall_fetch(async () => {
    const inner = await remotecall_fetch(() => {
      for (;;) {
        /* spin */
      }
    }, myid()).catch((e: Error) => `caught: ${/InterruptException/.test(e.message)}`);
    return `outer went on, inner ${String(inner)}`;
  }, fresh);
  const [n] = await interruptUntilSettled([fresh], [nested]);
  expect(n).toEqual({ status: 'fulfilled', value: 'outer went on, inner caught: true' });
  expect(await remotecall_fetch(() => 'served', fresh)).toBe('served');
  await dts.rmprocs(fresh);
});

test('a Future of an interrupted call holds the InterruptException', async () => {
  const f = remotecall(() => {
    for (;;) Math.sqrt(2);
  }, w[1]);
  const [r] = await interruptUntilSettled([w[1]], [f.fetch()]);
  expectInterrupted(r, w[1]);
  expect(await remotecall_fetch(() => 'still here', w[1])).toBe('still here');
});

test('an awaiting call is failed by interrupt too', async () => {
  const waiting = remotecall_fetch(() => new Promise(() => undefined), w[0]);
  const [r] = await interruptUntilSettled([w[0]], [waiting]);
  expectInterrupted(r, w[0]);
  expect(await remotecall_fetch(async () => 5, w[0])).toBe(5);
});

test('with no arguments every worker is interrupted', async () => {
  const loops = w.map((p) =>
    remotecall_fetch(() => {
      for (;;) {
        /* spin */
      }
    }, p),
  );
  const rs = await interruptUntilSettled([], loops);
  rs.forEach((r, i) => expectInterrupted(r, w[i]));
  expect(await Promise.all(w.map((p) => remotecall_fetch(() => myid(), p)))).toEqual(w);
});

test('an idle worker survives interrupt and serves the next call', async () => {
  const ospid = await remotecall_fetch(() => process.pid, w[1]);
  interrupt(w[1]);
  interrupt(w[1]);
  await sleep(200);
  expect(alive(ospid)).toBe(true);
  expect(await remotecall_fetch(() => myid(), w[1])).toBe(w[1]);
});

test('a worker interrupted right after it joined survives', async () => {
  const [fresh] = await addprocs(1);
  const ospid = await remotecall_fetch(() => process.pid, fresh);
  interrupt(fresh);
  interrupt(fresh);
  await sleep(200);
  expect(alive(ospid)).toBe(true);
  expect(await remotecall_fetch(() => myid(), fresh)).toBe(fresh);
  await dts.rmprocs(fresh);
});

test('interrupt of an unknown process is a clear error', () => {
  expect(() => interrupt(99)).toThrow(/no worker with id 99/);
  expect(() => interrupt(1)).toThrow(/not a worker id/);
});
