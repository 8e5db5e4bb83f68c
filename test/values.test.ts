/**
 * Every value type of SPEC §4 travels to a real worker and back (x => x), keeping identity, cycles,
 * classes and bits.
 */
import { dts, teardown } from './helpers';

const { addprocs, remotecall_fetch, registerType } = dts;

jest.setTimeout(60_000);
let w = 0;
beforeAll(async () => {
  [w] = await addprocs(1);
});
afterAll(teardown);

const echo = <T>(v: T): Promise<T> => remotecall_fetch((x: T) => x, w, v);

test('primitives, including NaN, ±Infinity, -0 and BigInt', async () => {
  const vals = [undefined, null, true, false, 0, -0, 1.5, -7, 2 ** 53, NaN, Infinity, -Infinity, '', 'héllo ✓ 𝄞', 'x'.repeat(100_000), 12345678901234567890n, -(2n ** 200n)];
  const back = await echo(vals);
  expect(back).toHaveLength(vals.length);
  back.forEach((v, i) => expect(Object.is(v, vals[i])).toBe(true));
  expect(await echo('\ud800 lone surrogate')).toBe('\ud800 lone surrogate');
});

test('arrays with holes, plain and null-prototype objects, nested', async () => {
  // eslint-disable-next-line no-sparse-arrays
  const holes = [1, , 3, , , 6];
  const back = await echo({ holes, nested: { a: [{ b: { c: [1, 2, { d: 'e' }] } }] } });
  expect(back.holes).toHaveLength(6);
  expect(1 in back.holes).toBe(false);
  expect(back.holes[2]).toBe(3);
  expect(back.nested).toEqual({ a: [{ b: { c: [1, 2, { d: 'e' }] } }] });
  const bare = Object.assign(Object.create(null) as Record<string, number>, { k: 1 });
  const b2 = await echo(bare);
  expect(Object.getPrototypeOf(b2)).toBeNull();
  expect(b2.k).toBe(1);
});

test('Map, Set, Date, RegExp', async () => {
  const key = { k: 1 };
  const m = new Map<unknown, unknown>([[1, 'one'], ['two', 2], [key, key]]);
  const s = new Set<unknown>([1, 'a', key]);
  const re = /a+b/gi;
  re.lastIndex = 3;
  const [m2, s2, d2, bad2, re2] = await echo([m, s, new Date(1700000000123), new Date(NaN), re] as const);
  expect(m2).toBeInstanceOf(Map);
  expect(m2.get(1)).toBe('one');
  const k2 = [...(m2 as Map<unknown, unknown>).keys()][2];
  expect(m2.get(k2)).toBe(k2); // identity inside the map
  expect(s2).toBeInstanceOf(Set);
  expect([...(s2 as Set<unknown>)].slice(0, 2)).toEqual([1, 'a']);
  expect(d2).toEqual(new Date(1700000000123));
  expect(Number.isNaN((bad2 as Date).getTime())).toBe(true);
  expect(re2).toBeInstanceOf(RegExp);
  expect((re2 as RegExp).source).toBe('a+b');
  expect((re2 as RegExp).flags).toBe('gi');
  expect((re2 as RegExp).lastIndex).toBe(3);
});

test('identity and cycles are kept within one message', async () => {
  const shared = { v: 1 };
  const node: Record<string, unknown> = { name: 'root', a: shared, b: shared };
  node.self = node;
  const arr: unknown[] = [node];
  arr.push(arr);
  const [n2, a2] = await echo([node, arr] as const);
  expect(n2.a).toBe(n2.b);
  expect(n2.self).toBe(n2);
  expect((a2 as unknown[])[0]).toBe(n2);
  expect((a2 as unknown[])[1]).toBe(a2);
});

test('every typed array, bit-exact, small and large; ArrayBuffer; DataView; Buffer', async () => {
  const n = 5000;
  const f64 = new Float64Array(n).map((_, i) => Math.sin(i) * 1e300);
  f64[0] = -0;
  f64[1] = NaN;
  const nanPayload = new Uint8Array(f64.buffer, 8, 8);
  nanPayload.set([1, 2, 3, 4, 5, 6, 0xf8, 0x7f]); // a NaN with a payload
  const arrays = [
    new Int8Array([-128, 0, 127]),
    new Uint8Array(n).map((_, i) => i),
    new Uint8ClampedArray([0, 255, 128]),
    new Int16Array([-32768, 32767]),
    new Uint16Array(n).map((_, i) => i * 7),
    new Int32Array([-(2 ** 31), 2 ** 31 - 1]),
    new Uint32Array(n).map((_, i) => i * 65537),
    new Float32Array([1.5, -0, NaN, Infinity]),
    f64,
    new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]),
    new BigUint64Array(n).map((_, i) => BigInt(i) * 2n ** 40n),
  ];
  const back = await echo(arrays);
  back.forEach((b, i) => {
    expect(b.constructor).toBe(arrays[i].constructor);
    expect(Buffer.from(b.buffer, b.byteOffset, b.byteLength).equals(Buffer.from(arrays[i].buffer, arrays[i].byteOffset, arrays[i].byteLength))).toBe(true);
    expect(b.byteOffset % (arrays[i] as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT).toBe(0);
  });
  const ab = new Uint8Array([9, 8, 7]).buffer;
  const dv = new DataView(new ArrayBuffer(16), 4, 8);
  dv.setFloat64(0, Math.PI);
  const [ab2, dv2, buf2] = await echo([ab, dv, Buffer.from('a node buffer')] as const);
  expect(ab2).toBeInstanceOf(ArrayBuffer);
  expect([...new Uint8Array(ab2 as ArrayBuffer)]).toEqual([9, 8, 7]);
  expect(dv2).toBeInstanceOf(DataView);
  expect((dv2 as DataView).getFloat64(0)).toBe(Math.PI);
  expect(Buffer.isBuffer(buf2)).toBe(true);
  expect(String(buf2)).toBe('a node buffer');
  // two views of one buffer arrive sharing one buffer
  const whole = new Float64Array(1000).fill(3);
  const part = new Float64Array(whole.buffer, 800, 10);
  const [w2, p2] = await echo([whole, part] as const);
  expect((p2 as Float64Array).buffer).toBe((w2 as Float64Array).buffer);
});

test('errors keep their class, message, stack, cause and own fields', async () => {
  const cause = new Error('root cause');
  const e = Object.assign(new TypeError('outer', { cause }), { code: 'E_X', extra: { n: 1 } });
  const agg = new AggregateError([new RangeError('r1'), new SyntaxError('s1')], 'many');
  class CustomError extends Error {
    constructor(m: string) {
      super(m);
      this.name = 'CustomError';
    }
  }
  const [e2, agg2, c2] = await echo([e, agg, new CustomError('mine')] as const);
  expect(e2).toBeInstanceOf(TypeError);
  expect((e2 as Error).message).toBe('outer');
  expect((e2 as Error).stack).toBe(e.stack);
  expect(((e2 as Error).cause as Error).message).toBe('root cause');
  expect((e2 as typeof e).code).toBe('E_X');
  expect((e2 as typeof e).extra).toEqual({ n: 1 });
  expect(agg2).toBeInstanceOf(AggregateError);
  expect((agg2 as AggregateError).errors[0]).toBeInstanceOf(RangeError);
  expect((agg2 as AggregateError).errors[1]).toBeInstanceOf(SyntaxError);
  expect((c2 as Error).name).toBe('CustomError'); // an unknown error class arrives as an Error with its name
  expect((c2 as Error).message).toBe('mine');
});

test('instances of classes registered on both sides arrive with their class', async () => {
  class Point {
    constructor(public x = 0, public y = 0) {}
    norm() {
      return Math.hypot(this.x, this.y);
    }
  }
  registerType(Point);
  await remotecall_fetch(() => {
    class Point {
      constructor(public x = 0, public y = 0) {}
      norm() {
        return Math.hypot(this.x, this.y);
      }
    }
    registerType(Point);
  }, w);
  expect(await remotecall_fetch((p: Point) => `${p.constructor.name}:${p.norm()}`, w, new Point(3, 4))).toBe('Point:5');
  const back = await echo(new Point(6, 8));
  expect(back).toBeInstanceOf(Point);
  expect(back.norm()).toBe(10);
});

test('a registered class with its own serializer', async () => {
  class Celsius {
    constructor(public degrees: number) {}
  }
  const ser = { encode: (c: Celsius) => `${c.degrees}C`, decode: (s: unknown) => new Celsius(parseFloat(String(s))) };
  registerType(Celsius, ser);
  await remotecall_fetch(() => {
    class Celsius {
      constructor(public degrees: number) {}
    }
    registerType(Celsius, { encode: (c: Celsius) => `${c.degrees}C`, decode: (s: unknown) => new Celsius(parseFloat(String(s))) });
  }, w);
  const back = await echo(new Celsius(21.5));
  expect(back).toBeInstanceOf(Celsius);
  expect(back.degrees).toBe(21.5);
});

test('an instance of a class the receiver does not know fails that call naming the class', async () => {
  class NotOnWorker {
    a = 1;
  }
  registerType(NotOnWorker);
  await expect(echo(new NotOnWorker())).rejects.toThrow(/NotOnWorker/);
  class NotRegistered {
    b = 2;
  }
  await expect(echo({ inner: [new NotRegistered()] })).rejects.toThrow(/args\[0\]\.inner\[0\].*NotRegistered/);
});
