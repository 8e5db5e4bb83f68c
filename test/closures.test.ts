/**
 * Closures over local variables (SPEC §3a): captured variables are read through the inspector at each
 * send and travel with the call, each again only after it changed; helpers they call travel too.
 */
import { dts, teardown } from './helpers';

const { addprocs, remotecall_fetch, stats, RemoteException } = dts;

jest.setTimeout(60_000);
let w: number[] = [];
beforeAll(async () => {
  w = await addprocs(1);
});
afterAll(teardown);

const SCALE = 3;
const OFFSET = 100;
function helper(x: number): number {
  return x * SCALE + OFFSET; // a module-local function that itself captures module constants
}

async function counters() {
  return (await stats()).shipping[w[0]];
}

test('a module-level const and a module-local function are captured', async () => {
  const spy = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  try {
    expect(await remotecall_fetch((x: number) => x * SCALE, w[0], 2)).toBe(6);
    expect(await remotecall_fetch((x: number) => x * SCALE, w[0], 3)).toBe(9);
    const ours = spy.mock.calls.filter((c) => (c[1] as { code?: string } | undefined)?.code === 'DISTRIBUTED_TS_CLOSURE_CAPTURE');
    expect(ours).toHaveLength(1); // once per function source: it names the variables and the faster ways
    expect(String(ours[0][0])).toContain('SCALE');
    expect(String(ours[0][0])).toContain('pass them as arguments');
  } finally {
    spy.mockRestore();
  }
  expect(await remotecall_fetch((x: number) => helper(x), w[0], 2)).toBe(106);
});

test('a reassigned let travels with its value at each send of the same function', async () => {
  let k = 1;
  const f = () => k * 10;
  expect(await remotecall_fetch(f, w[0])).toBe(10);
  k = 2;
  expect(await remotecall_fetch(f, w[0])).toBe(20);
  const results: number[] = [];
  for (const i of [1, 2, 3]) results.push(await remotecall_fetch(() => i * i + k, w[0]));
  expect(results).toEqual([3, 6, 11]);
});

test('a large captured array crosses the wire once; a new one is sent again', async () => {
  let table = new Float64Array(1 << 20).fill(0.5); // 8 MB
  const f = (i: number) => table[i] + table.length;
  const c0 = await counters();
  for (let i = 0; i < 5; i++) expect(await remotecall_fetch(f, w[0], i)).toBe(0.5 + (1 << 20));
  const c1 = await counters();
  expect(c1.capturedValues - c0.capturedValues).toBe(1);
  expect(c1.bytesSent - c0.bytesSent).toBeLessThan((1 << 20) * 8 * 1.05);
  table = new Float64Array(4).fill(2);
  expect(await remotecall_fetch(f, w[0], 0)).toBe(6);
  expect((await counters()).capturedValues).toBe(c1.capturedValues + 1);
});

test('captured values that cannot travel fail at the caller, naming them', async () => {
  const cell = new WeakMap<object, number>();
  await expect(remotecall_fetch(() => cell.has({}), w[0])).rejects.toThrow(/cannot send f\(captured cell\)/);
});

test('a name defined nowhere still fails on the target with the fix in its message', async () => {
  const err = await remotecall_fetch(() => (globalThis as Record<string, unknown>).x ?? definedNowhere, w[0]).catch((e: unknown) => e);
  expect(((err as InstanceType<typeof RemoteException>).captured.ex as Error).message).toContain('definedNowhere is not defined on this process');
});

declare const definedNowhere: number;

test('a captured RemoteChannel used only through its methods is the channel, not an import binding', async () => {
  const spy = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  try {
    // `rc` is used only as rc.put / rc.take: member names that are also package exports. Only names a
    // compiler gives import bindings (distributed_ts_1, import_x) may be bound to the package.
    const rc = new dts.RemoteChannel(() => new dts.Channel(4));
    await remotecall_fetch(async () => {
      await rc.put(41);
    }, w[0]);
    expect(await rc.take()).toBe(41);
    dts.finalize(rc);
  } finally {
    spy.mockRestore();
  }
});
