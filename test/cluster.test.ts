/**
 * Cluster membership: ids and roles, addprocs/rmprocs semantics, start-up failures, transports.
 */
import { dts, teardown, alive, eventually, ospids } from './helpers';

const { addprocs, rmprocs, workers, procs, nprocs, nworkers, myid, remotecall_fetch, remote_do, RemoteException } = dts;

jest.setTimeout(60_000);
afterAll(teardown);

test('the master alone: id 1, workers() is [1]', () => {
  expect(myid()).toBe(1);
  expect(procs()).toEqual([1]);
  expect(workers()).toEqual([1]);
  expect(nprocs()).toBe(1);
  expect(nworkers()).toBe(1);
});

test('addprocs(2) gives ids 2 and 3, and each worker knows who it is', async () => {
  const ids = await addprocs(2);
  expect(ids).toEqual([2, 3]);
  expect(workers()).toEqual([2, 3]);
  expect(procs()).toEqual([1, 2, 3]);
  expect(procs(2)).toEqual([1, 2, 3]);
  expect(nprocs()).toBe(3);
  expect(nworkers()).toBe(2);
  expect(await remotecall_fetch(() => myid(), 2)).toBe(2);
  expect(await remotecall_fetch(() => myid(), 3)).toBe(3);
  // Started together, each worker still knows the other, whichever joined first.
  for (const w of [2, 3]) expect(await remotecall_fetch(() => [procs(), workers(), nprocs(), nworkers()], w)).toEqual([[1, 2, 3], [2, 3], 3, 2]);
  const pids = await ospids(ids);
  expect(new Set(pids).size).toBe(2);
  expect(pids).not.toContain(process.pid);
});

test('only process 1 may add or remove workers', async () => {
  const err = await remotecall_fetch(() => addprocs(1), 2).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RemoteException);
  expect((err as InstanceType<typeof RemoteException>).message).toMatch(/addprocs: only process 1 can add or remove workers \(this is process 2\)/);
  await expect(remotecall_fetch(() => rmprocs(3), 2)).rejects.toThrow(/rmprocs: only process 1/);
  expect(workers()).toEqual([2, 3]);
});

test('rmprocs waits for the process to exit; ids are never reused', async () => {
  const [os2] = await ospids([2]);
  await rmprocs(2);
  expect(workers()).toEqual([3]);
  expect(alive(os2)).toBe(false);
  const [id] = await addprocs(1);
  expect(id).toBe(4);
  expect(workers()).toEqual([3, 4]);
});

test('workers hear of workers added and removed after them', async () => {
  const before = workers();
  const [a] = await addprocs(1);
  const [b] = await addprocs(1);
  expect(await remotecall_fetch(() => workers(), a)).toEqual([...before, a, b]);
  await rmprocs(b);
  expect(await eventually(async () => JSON.stringify(await remotecall_fetch(() => workers(), a)) === JSON.stringify([...before, a]), 5000)).toBe(true);
  await rmprocs(a);
});

test('rmprocs with waitfor 0 returns at once and the removal completes', async () => {
  const [os4] = await ospids([4]);
  const t = Date.now();
  await rmprocs(4, { waitfor: 0 });
  expect(Date.now() - t).toBeLessThan(200);
  expect(await eventually(() => !workers().includes(4) && !alive(os4), 5000)).toBe(true);
});

test('rmprocs with an expired waitfor rejects, and the worker still leaves later', async () => {
  const [id] = await addprocs(1);
  const [os] = await ospids([id]);
  remote_do(() => {
    const end = Date.now() + 2500;
    while (Date.now() < end);
  }, id);
  await expect(rmprocs(id, { waitfor: 0.3 })).rejects.toThrow(new RegExp(`rmprocs: pids \\[${id}\\] not terminated after 0.3 seconds`));
  // The OS process may be gone a moment before the master has read its connection's close.
  expect(await eventually(() => !alive(os) && !workers().includes(id), 10_000)).toBe(true);
});

test('rmprocs validates its arguments', async () => {
  await expect(rmprocs(3, { waitfor: -1 })).rejects.toThrow(/waitfor must be a non-negative number/);
  await expect(rmprocs('x' as unknown as number)).rejects.toThrow(/process ids must be integers/);
});

test('addprocs() with no count starts one worker per CPU thread', async () => {
  const before = workers().filter((p) => p !== 1);
  const ids = await addprocs();
  expect(ids.length).toBe(require('node:os').availableParallelism());
  await rmprocs(...ids);
  expect(workers().filter((p) => p !== 1)).toEqual(before);
});

test('a bad exename fails clearly and leaves the cluster as it was', async () => {
  const before = workers();
  await expect(addprocs(1, { exename: '/nonexistent/node', timeout: 5 })).rejects.toThrow(/failed to start.*ENOENT/s);
  expect(workers()).toEqual(before);
});

test('a worker that never announces itself fails within the timeout, and is killed', async () => {
  const before = workers();
  const t = Date.now();
  await expect(addprocs(1, { exeflags: ['-e', 'console.log("not a worker"); setTimeout(() => {}, 60000)'], timeout: 1 })).rejects.toThrow(
    /did not announce its address within 1 s.*not a worker/s,
  );
  expect(Date.now() - t).toBeLessThan(5000);
  expect(workers()).toEqual(before);
});

test('bad addprocs arguments are clear errors', async () => {
  await expect(addprocs(-1)).rejects.toThrow(/non-negative integer/);
  await expect(addprocs(1, { exeflags: 'x' as unknown as string[] })).rejects.toThrow(/exeflags must be an array of strings/);
  await expect(addprocs(1, { transport: 'udp' as 'tcp' })).rejects.toThrow(/transport must be/);
});

test('TCP transport works as well as Unix sockets', async () => {
  const [id] = await addprocs(1, { transport: 'tcp' });
  expect(await remotecall_fetch((a: number, b: number) => a * b, id, 6, 7)).toBe(42);
  await rmprocs(id);
});

test('addprocs passes env, exeflags and dir to workers', async () => {
  const [id] = await addprocs(1, { env: { DTS_DEMO_VAR: 'hello' }, exeflags: ['--max-old-space-size=256'], dir: '/tmp' });
  expect(await remotecall_fetch(() => [process.env.DTS_DEMO_VAR, process.cwd(), process.execArgv.join(' ')], id)).toEqual([
    'hello',
    '/tmp',
    '--max-old-space-size=256',
  ]);
  await rmprocs(id);
});
