/**
 * The value codec on its own (no processes): every value type of SPEC §4 round-trips with identity,
 * cycles, classes and bits kept; segments vs inline; error paths; hooks; malformed input.
 */
import { Decoder, DecodeError, Encoder, EncodeError, TypeRegistry, type Encoded, type ValueReader, type ValueWriter } from '../src/serialization/codec';

/** What the transport does: each segment arrives in its own fresh ArrayBuffer. */
function receive(segments: ArrayBufferView[]): ArrayBuffer[] {
  return segments.map((s) => {
    const ab = new ArrayBuffer(s.byteLength);
    new Uint8Array(ab).set(new Uint8Array(s.buffer, s.byteOffset, s.byteLength));
    return ab;
  });
}

function codec(registry = new TypeRegistry(), threshold?: number) {
  const enc = new Encoder(registry, threshold === undefined ? {} : { segmentThreshold: threshold });
  const dec = new Decoder(registry);
  return {
    enc,
    dec,
    rt<T>(v: T, context?: unknown): T {
      const { inline, segments } = enc.encode(v, 'value', context);
      return dec.decode(Uint8Array.from(inline), receive(segments), context) as T;
    },
  };
}

const { rt, enc } = codec();

function bytesOf(v: ArrayBufferView): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

describe('primitives', () => {
  test('numbers keep every bit: NaN, ±Infinity, -0, integers of every size, floats', () => {
    const vals = [
      0, -0, 1, 127, 128, 255, 256, -1, -32, -33, -128, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 32, 2 ** 32 + 1, 2 ** 53, -(2 ** 53), 1.5, -7.25, Math.PI,
      Number.MIN_VALUE, Number.MAX_VALUE, Number.EPSILON, NaN, Infinity, -Infinity, 1e300, -1e-300,
    ];
    const back = rt(vals);
    expect(back).toHaveLength(vals.length);
    back.forEach((v, i) => expect(Object.is(v, vals[i])).toBe(true));
  });

  test('small integers are compact', () => {
    expect(enc.encode(5).inline.length).toBe(1);
    expect(enc.encode(-3).inline.length).toBe(1);
    expect(enc.encode(1000).inline.length).toBe(3);
    expect(enc.encode(-0).inline.length).toBe(9);
  });

  test('undefined, null, booleans', () => {
    expect(rt([undefined, null, true, false])).toEqual([undefined, null, true, false]);
    expect(rt(undefined)).toBeUndefined();
  });

  test('strings: ASCII, UTF-8, astral, long, and lone surrogates bit-exact', () => {
    const vals = [
      '', 'a', 'hello', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(63), 'y'.repeat(64), 'z'.repeat(100_000),
      'héllo ✓ 𝄞', 'é', '日本語のテキスト'.repeat(50), '\u0000\u007f\u0080\u07ff\u0800\uffff',
      '\ud800', '\udc00', 'a\ud800b', 'x\udfff', '\ud83d\ude00', '\ude00\ud83d', ('ab\ud800').repeat(1000), '\u2028\u2029',
    ];
    const back = rt(vals);
    back.forEach((s, i) => {
      expect(s).toBe(vals[i]);
      expect(s.length).toBe(vals[i].length);
    });
  });

  test('BigInt of any size and sign', () => {
    const vals = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 63n, -(2n ** 63n) - 1n, 2n ** 64n, 12345678901234567890n, -(2n ** 200n), 3n ** 1000n, -(7n ** 333n)];
    expect(rt(vals)).toEqual(vals);
  });
});

describe('arrays and objects', () => {
  test('holes are kept as holes (leading, inner, trailing), undefined stays undefined', () => {
    // eslint-disable-next-line no-sparse-arrays
    const a = [, 1, , , 4, undefined, , ,];
    const back = rt(a);
    expect(back).toHaveLength(a.length);
    for (let i = 0; i < a.length; i++) expect(i in back).toBe(i in a);
    expect(back[1]).toBe(1);
    expect(back[4]).toBe(4);
    expect(5 in back).toBe(true);
  });

  test('a huge sparse array costs its elements, not its length', () => {
    const a: unknown[] = [];
    a[3] = 'x';
    a[1e9] = 'y';
    a[4e9] = 'z';
    const { inline } = enc.encode(a);
    expect(inline.length).toBeLessThan(64);
    const back = rt(a);
    expect(back.length).toBe(a.length);
    expect(back[3]).toBe('x');
    expect(back[1e9]).toBe('y');
    expect(back[4e9]).toBe('z');
    expect(Object.keys(back)).toEqual(['3', '1000000000', '4000000000']);
  });

  test('plain objects, nested; many objects of one shape; many keys', () => {
    const v = { a: 1, b: { c: [1, 2, { d: 'e' }] }, '': 0, 'with space': 1, 7: 'seven', ü: 'u' };
    expect(rt(v)).toEqual(v);
    const list = Array.from({ length: 1000 }, (_, i) => ({ id: i, name: `n${i}`, pos: { x: i / 3, y: -i }, ok: i % 2 === 0 }));
    for (let k = 0; k < 3; k++) expect(rt(list)).toEqual(list); // runs the compiled record builders too
    const wide: Record<string, number> = {};
    for (let i = 0; i < 500; i++) wide[`k${i}`] = i;
    expect(rt(wide)).toEqual(wide);
    expect(Object.keys(rt(wide))).toEqual(Object.keys(wide));
  });

  test('key order is kept', () => {
    const v = { z: 1, a: 2, m: 3, 2: 'b', 1: 'a' };
    expect(Object.keys(rt(v))).toEqual(Object.keys(v));
  });

  test('null-prototype objects stay null-prototype', () => {
    const bare = Object.create(null) as Record<string, unknown>;
    bare.k = 1;
    bare['__proto__'] = 'own';
    const back = rt(bare);
    expect(Object.getPrototypeOf(back)).toBeNull();
    expect(back.k).toBe(1);
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toBe('own');
  });

  test('an own "__proto__" key stays an own property and never sets the prototype', () => {
    const v = JSON.parse('{"a": 1, "__proto__": {"polluted": true}}') as Record<string, unknown>;
    for (let i = 0; i < 40; i++) {
      const back = rt([v, v])[0] as Record<string, unknown>;
      expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
      expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toEqual({ polluted: true });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }
  });

  test('extra non-index properties of arrays are not sent', () => {
    const a = Object.assign([1, 2], { extra: 3 });
    expect(rt(a)).toEqual([1, 2]);
  });
});

describe('identity and cycles', () => {
  test('shared references arrive as one object; cycles through objects, arrays, Map, Set', () => {
    const shared = { v: 1 };
    const node: Record<string, unknown> = { name: 'root', a: shared, b: shared };
    node.self = node;
    const arr: unknown[] = [node];
    arr.push(arr);
    const m = new Map<unknown, unknown>();
    m.set(m, m).set('node', node).set(shared, 'shared as key');
    const s = new Set<unknown>();
    s.add(s).add(shared);
    const [n2, a2, m2, s2] = rt([node, arr, m, s] as const);
    expect(n2.a).toBe(n2.b);
    expect(n2.self).toBe(n2);
    expect((a2 as unknown[])[0]).toBe(n2);
    expect((a2 as unknown[])[1]).toBe(a2);
    expect(m2.get(m2)).toBe(m2);
    expect(m2.get('node')).toBe(n2);
    expect(m2.get(n2.a)).toBe('shared as key');
    expect(s2.has(s2)).toBe(true);
    expect(s2.has(n2.a)).toBe(true);
  });

  test('cycles through many objects of one shape (compiled record builders)', () => {
    const ring = Array.from({ length: 200 }, (_, i) => ({ id: i, next: null as unknown, prev: null as unknown }));
    ring.forEach((r, i) => {
      r.next = ring[(i + 1) % ring.length];
      r.prev = ring[(i + ring.length - 1) % ring.length];
    });
    for (let k = 0; k < 3; k++) {
      const back = rt(ring);
      back.forEach((r, i) => {
        expect(r.id).toBe(i);
        expect(r.next).toBe(back[(i + 1) % back.length]);
        expect(r.prev).toBe(back[(i + back.length - 1) % back.length]);
      });
    }
  });
});

describe('built-in objects', () => {
  test('Map and Set with keys/values of any type, order kept', () => {
    const key = { k: 1 };
    const m = new Map<unknown, unknown>([[1, 'one'], ['two', 2], [key, key], [NaN, -0], [null, undefined], [10n, [1]]]);
    const s = new Set<unknown>([1, 'a', key, NaN, undefined]);
    const [m2, s2] = rt([m, s] as const);
    expect(m2).toBeInstanceOf(Map);
    expect([...m2.keys()].slice(0, 2)).toEqual([1, 'two']);
    const k2 = [...m2.keys()][2];
    expect(m2.get(k2)).toBe(k2);
    expect(Object.is(m2.get(NaN), -0)).toBe(true);
    expect(m2.get(10n)).toEqual([1]);
    expect(s2).toBeInstanceOf(Set);
    expect([...s2]).toEqual([1, 'a', { k: 1 }, NaN, undefined]);
  });

  test('Date, invalid Date, RegExp with flags and lastIndex', () => {
    const re = /a+(?<name>b)\//gimsuy;
    re.lastIndex = 3;
    const [d, bad, re2] = rt([new Date(1700000000123), new Date(NaN), re] as const);
    expect(d).toBeInstanceOf(Date);
    expect(d.getTime()).toBe(1700000000123);
    expect(Number.isNaN(bad.getTime())).toBe(true);
    expect(re2).toBeInstanceOf(RegExp);
    expect(re2.source).toBe(re.source);
    expect(re2.flags).toBe(re.flags);
    expect(re2.lastIndex).toBe(3);
  });
});

describe('typed arrays, ArrayBuffer, DataView, Buffer', () => {
  const kinds = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array];

  test.each([3, 5000])('every typed array is bit-exact (%d elements), owns an aligned buffer', (n) => {
    const arrays = kinds.map((C) => {
      const a = new C(n);
      const bytes = new Uint8Array(a.buffer);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 131 + 7) & 255;
      return a;
    });
    const f64 = arrays[8] as Float64Array;
    f64[0] = -0;
    new Uint8Array(f64.buffer, 8, 8).set([1, 2, 3, 4, 5, 6, 0xf8, 0x7f]); // a NaN with a payload
    const back = rt(arrays);
    back.forEach((b, i) => {
      expect(b.constructor).toBe(kinds[i]);
      expect(b.length).toBe(n);
      expect(bytesOf(b).equals(bytesOf(arrays[i]))).toBe(true);
      expect(b.byteOffset % kinds[i].BYTES_PER_ELEMENT).toBe(0);
      expect(b.buffer.byteLength).toBe(b.byteLength);
    });
    expect(new Set(back.map((b) => b.buffer)).size).toBe(back.length); // each its own buffer
    expect(Object.is((back[8] as Float64Array)[0], -0)).toBe(true);
    const signed = rt(new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, -1n]));
    expect([...signed]).toEqual([-(2n ** 63n), 2n ** 63n - 1n, -1n]);
  });

  test('ArrayBuffer and DataView (with an offset)', () => {
    const ab = new Uint8Array([9, 8, 7]).buffer;
    const dv = new DataView(new ArrayBuffer(16), 4, 8);
    dv.setFloat64(0, Math.PI);
    const [ab2, dv2] = rt([ab, dv] as const);
    expect(Object.prototype.toString.call(ab2)).toBe('[object ArrayBuffer]');
    expect([...new Uint8Array(ab2)]).toEqual([9, 8, 7]);
    expect(dv2).toBeInstanceOf(DataView);
    expect(dv2.byteLength).toBe(8);
    expect(dv2.getFloat64(0)).toBe(Math.PI);
    expect(rt(new ArrayBuffer(0)).byteLength).toBe(0);
    expect(rt(new Float32Array(0))).toEqual(new Float32Array(0));
  });

  test('a Node Buffer arrives as a Buffer; a Buffer in the pool slab sends only its window', () => {
    const small = Buffer.from('a node buffer');
    expect(small.buffer.byteLength).toBeGreaterThan(small.length); // lives in the pool slab
    const { inline, segments } = enc.encode(small);
    expect(segments).toHaveLength(0);
    expect(inline.length).toBeLessThan(32);
    const back = rt(small);
    expect(Buffer.isBuffer(back)).toBe(true);
    expect(back.toString()).toBe('a node buffer');
    const big = Buffer.alloc(5000, 7);
    const b2 = rt(big);
    expect(Buffer.isBuffer(b2)).toBe(true);
    expect(b2.equals(big)).toBe(true);
  });

  test('views of one buffer arrive sharing one buffer when one of them covers it', () => {
    for (const n of [10, 1000]) {
      const whole = new Float64Array(n).fill(3);
      const part = new Float64Array(whole.buffer, 8 * (n / 2), 2);
      const bytes = new Uint8Array(whole.buffer);
      const [w2, p2, ab2, b2] = rt([whole, part, whole.buffer, bytes] as const);
      expect(p2.buffer).toBe(w2.buffer);
      expect(ab2).toBe(w2.buffer);
      expect(b2.buffer).toBe(w2.buffer);
      expect(p2.byteOffset).toBe(8 * (n / 2));
      p2[0] = 42;
      expect(w2[n / 2]).toBe(42);
      const [ab3, v3] = rt([whole.buffer, part] as const);
      expect(v3.buffer).toBe(ab3);
    }
  });

  test('the same view twice arrives as one object', () => {
    const a = new Int32Array([1, 2, 3]);
    const [x, y] = rt([a, a]);
    expect(x).toBe(y);
  });

  test('segment threshold: below it inline, at or above it out-of-band', () => {
    expect(enc.encode(new Uint8Array(1023)).segments).toHaveLength(0);
    expect(enc.encode(new Uint8Array(1024)).segments).toHaveLength(1);
    const e2 = new Encoder(new TypeRegistry(), { segmentThreshold: 16 });
    expect(e2.encode(new Uint8Array(16)).segments).toHaveLength(1);
    expect(e2.encode(new Uint8Array(15)).segments).toHaveLength(0);
    const many = enc.encode([new Float64Array(200), new Float64Array(10), new Float32Array(300)]);
    expect(many.segments.map((s) => s.byteLength)).toEqual([1600, 1200]);
  });

  test('segments are views of the caller memory, not copies; a window sends only the window', () => {
    const big = new Float64Array(4096).fill(1);
    const { segments }: Encoded = enc.encode({ big });
    expect(segments).toHaveLength(1);
    expect(segments[0].buffer).toBe(big.buffer);
    big[0] = 99; // mutating after encode changes what would be written (the runtime writes before returning)
    expect(new Float64Array(segments[0].buffer, segments[0].byteOffset, 1)[0]).toBe(99);
    const window = big.subarray(1024, 2048);
    const w = enc.encode(window);
    expect(w.segments).toHaveLength(1);
    expect(w.segments[0].byteOffset).toBe(1024 * 8);
    expect(w.segments[0].byteLength).toBe(1024 * 8);
    expect(w.segments[0].buffer).toBe(big.buffer);
    const back = rt(window);
    expect(back.byteOffset).toBe(0);
    expect(back.buffer.byteLength).toBe(1024 * 8);
    expect(bytesOf(back).equals(bytesOf(window))).toBe(true);
  });

  test('a 10^6-element Float64Array travels as one segment', () => {
    const a = new Float64Array(1_000_000).map((_, i) => Math.sin(i));
    const { inline, segments } = enc.encode(a);
    expect(inline.length).toBeLessThan(16);
    expect(segments).toHaveLength(1);
    const back = rt(a);
    expect(bytesOf(back).equals(bytesOf(a))).toBe(true);
  });

  test('a typed array over a SharedArrayBuffer is sent as a copy; a raw SharedArrayBuffer is refused', () => {
    const sab = new SharedArrayBuffer(64);
    const v = new Int32Array(sab);
    v[3] = 5;
    const back = rt(v);
    expect(back).toBeInstanceOf(Int32Array);
    expect(back[3]).toBe(5);
    expect(() => enc.encode({ sab }, 'args')).toThrow(/cannot send args\.sab: a SharedArrayBuffer/);
  });
});

describe('errors', () => {
  test('built-in error classes are rebuilt as themselves with message, stack, cause, fields', () => {
    const cause = new Error('root cause');
    const e = Object.assign(new TypeError('outer', { cause }), { code: 'E_X', extra: { n: 1 } });
    const all = [new Error('e'), new EvalError('ev'), new RangeError('r'), new ReferenceError('rf'), new SyntaxError('s'), e, new URIError('u')];
    const back = rt(all);
    back.forEach((b, i) => {
      expect(b.constructor).toBe(all[i].constructor);
      expect(b).toBeInstanceOf(Error);
      expect(b.message).toBe(all[i].message);
      expect(b.stack).toBe(all[i].stack);
      expect(b.name).toBe(all[i].name);
      expect(Object.prototype.toString.call(b)).toBe('[object Error]');
    });
    const e2 = back[5] as typeof e;
    expect(e2.cause).toBeInstanceOf(Error);
    expect((e2.cause as Error).message).toBe('root cause');
    expect(e2.code).toBe('E_X');
    expect(e2.extra).toEqual({ n: 1 });
    expect(Object.keys(e2)).toEqual(['code', 'extra']);
    expect(Object.getOwnPropertyDescriptor(e2, 'cause')?.enumerable).toBe(false);
  });

  test('AggregateError keeps its errors', () => {
    const agg = new AggregateError([new RangeError('r1'), new SyntaxError('s1'), 'plain'], 'many');
    const back = rt(agg);
    expect(back).toBeInstanceOf(AggregateError);
    expect(back.message).toBe('many');
    expect(back.errors[0]).toBeInstanceOf(RangeError);
    expect(back.errors[1]).toBeInstanceOf(SyntaxError);
    expect(back.errors[2]).toBe('plain');
  });

  test('an unknown error class arrives as its nearest built-in class with its name; never fails', () => {
    class CustomError extends Error {
      constructor(m: string) {
        super(m);
        this.name = 'CustomError';
      }
    }
    class MyTypeError extends TypeError {}
    MyTypeError.prototype.name = 'MyTypeError';
    const [c, t] = rt([new CustomError('mine'), new MyTypeError('typed')] as const);
    expect(c.constructor).toBe(Error);
    expect(c.name).toBe('CustomError');
    expect(c.message).toBe('mine');
    expect(t).toBeInstanceOf(TypeError);
    expect(t.name).toBe('MyTypeError');
  });

  test('errors in cycles and shared', () => {
    const e = new Error('self') as Error & { self?: unknown };
    e.self = e;
    const back = rt([e, e]);
    expect(back[0]).toBe(back[1]);
    expect(back[0].self).toBe(back[0]);
  });
});

describe('registered classes', () => {
  class Point {
    constructor(
      public x = 0,
      public y = 0,
    ) {}
    norm(): number {
      return Math.hypot(this.x, this.y);
    }
  }

  test('travel as fields and arrive with their prototype; identity and cycles through fields', () => {
    const reg = new TypeRegistry();
    reg.registerClass(Point);
    const { rt: rt2 } = codec(reg);
    const p = new Point(3, 4);
    const back = rt2([p, p, new Point(6, 8)]);
    expect(back[0]).toBeInstanceOf(Point);
    expect(back[0].norm()).toBe(5);
    expect(back[0]).toBe(back[1]);
    expect(back[2].norm()).toBe(10);
    class Node2 {
      next: Node2 | null = null;
      constructor(public v: number) {}
    }
    reg.registerClass(Node2, { name: 'test.Node' });
    const a = new Node2(1);
    const b = new Node2(2);
    a.next = b;
    b.next = a;
    const a2 = rt2(a);
    expect(a2).toBeInstanceOf(Node2);
    expect(a2.next!.next).toBe(a2);
    expect(a2.next!.v).toBe(2);
  });

  test('custom encode/decode (Julia custom serialize)', () => {
    class Celsius {
      constructor(public degrees: number) {}
    }
    const reg = new TypeRegistry();
    reg.registerClass(Celsius, { encode: (c) => `${(c as Celsius).degrees}C`, decode: (s) => new Celsius(parseFloat(String(s))) });
    const { rt: rt2 } = codec(reg);
    const c = new Celsius(21.5);
    const back = rt2({ a: c, b: c, list: [new Celsius(-3)] });
    expect(back.a).toBeInstanceOf(Celsius);
    expect(back.a.degrees).toBe(21.5);
    expect(back.b).toBe(back.a);
    expect(back.list[0].degrees).toBe(-3);
  });

  test('a registered Error subclass arrives as that class', () => {
    class AppError extends RangeError {
      constructor(
        m: string,
        public code = 7,
      ) {
        super(m);
      }
    }
    AppError.prototype.name = 'AppError';
    const reg = new TypeRegistry();
    reg.registerClass(AppError);
    const { rt: rt2 } = codec(reg);
    const e = new AppError('bad app', 9);
    const back = rt2(e);
    expect(back).toBeInstanceOf(AppError);
    expect(back).toBeInstanceOf(RangeError);
    expect(back.message).toBe('bad app');
    expect(back.code).toBe(9);
    expect(back.stack).toBe(e.stack);
    expect(back.name).toBe('AppError');
  });

  test('an unknown class name fails decoding with a DecodeError naming it', () => {
    class Foo {
      a = 1;
    }
    const sender = new TypeRegistry();
    sender.registerClass(Foo);
    const { inline, segments } = new Encoder(sender).encode({ x: new Foo() });
    const dec = new Decoder(new TypeRegistry());
    expect(() => dec.decode(inline, receive(segments))).toThrow(DecodeError);
    expect(() => dec.decode(inline, receive(segments))).toThrow(/unknown class Foo: register it/);
    expect(dec.decode(new Encoder(new TypeRegistry()).encode([1, 'ok']).inline, [])).toEqual([1, 'ok']); // still usable
  });

  test('a subclass of a registered class is not silently sent as its parent', () => {
    const reg = new TypeRegistry();
    reg.registerClass(Point);
    class Point3 extends Point {
      z = 1;
    }
    expect(() => new Encoder(reg).encode([new Point3()], 'args')).toThrow(/cannot send args\[0\]: a Point3 \(an instance of a class that is not registered/);
  });

  test('registration errors: builtin subclass without encode/decode, half a serializer, no name', () => {
    const reg = new TypeRegistry();
    class MyMap extends Map<unknown, unknown> {}
    expect(() => reg.registerClass(MyMap)).toThrow(/extends Map/);
    expect(() => reg.registerClass(Point, { encode: () => 1 })).toThrow(/both/);
    reg.registerClass(MyMap, { encode: (m) => [...(m as MyMap)], decode: (d) => new MyMap(d as [unknown, unknown][]) });
    const { rt: rt2 } = codec(reg);
    const back = rt2(new MyMap([[1, 2]]));
    expect(back).toBeInstanceOf(MyMap);
    expect(back.get(1)).toBe(2);
  });
});

describe('hooks', () => {
  class Handle {
    constructor(
      public id: number,
      public where: string,
      public meta: unknown,
    ) {}
  }
  class SubHandle extends Handle {}

  function withHandles() {
    const reg = new TypeRegistry();
    const seen: unknown[] = [];
    reg.registerExtension<Handle>({
      tag: 3,
      ctor: Handle,
      encode(v: Handle, w: ValueWriter, context: unknown) {
        seen.push(context);
        w.uint(v.id);
        w.string(v.where);
        w.number(v.id / 2);
        w.value(v.meta, '.meta');
      },
      decode(r: ValueReader, context: unknown) {
        seen.push(context);
        const id = r.uint();
        const where = r.string();
        expect(r.number()).toBe(id / 2);
        return new Handle(id, where, r.value());
      },
    });
    return { reg, seen };
  }

  test('extension round trip: writer/reader, context, identity, subclasses', () => {
    const { reg, seen } = withHandles();
    const { rt: rt2 } = codec(reg);
    const h = new Handle(12, 'w2', { deep: [1, 2n] });
    const back = rt2({ h, again: h, sub: new SubHandle(5, 'x', null) }, 'ctx');
    expect(back.h).toBeInstanceOf(Handle);
    expect(back.h.id).toBe(12);
    expect(back.h.where).toBe('w2');
    expect(back.h.meta).toEqual({ deep: [1, 2n] });
    expect(back.again).toBe(back.h);
    expect(back.sub.id).toBe(5);
    expect(seen).toEqual(['ctx', 'ctx', 'ctx', 'ctx']);
  });

  test('an unknown extension tag fails decoding with a DecodeError', () => {
    const { reg } = withHandles();
    const { inline } = new Encoder(reg).encode(new Handle(1, 'a', null));
    expect(() => new Decoder(new TypeRegistry()).decode(inline, [])).toThrow(/unknown extension tag 3/);
  });

  test('errors inside an extension value name the path through the hook', () => {
    const { reg } = withHandles();
    expect(() => new Encoder(reg).encode({ list: [new Handle(1, 'a', { bad: Symbol('s') })] }, 'args')).toThrow(
      'cannot send args.list[0].meta.bad: a symbol (Symbol(s)) (symbols cannot be sent)',
    );
  });

  test('a hook that throws fails the encode with the path and the hook error as cause; decode errors of hooks pass through', () => {
    const reg = new TypeRegistry();
    class Closed {}
    const boom = new Error('this handle was closed');
    reg.registerExtension({
      tag: 1,
      ctor: Closed,
      encode: () => {
        throw boom;
      },
      decode: () => new Closed(),
    });
    let err: unknown;
    try {
      new Encoder(reg).encode([0, { c: new Closed() }], 'args');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EncodeError);
    expect((err as EncodeError).message).toBe('cannot send args[1].c: this handle was closed');
    expect((err as EncodeError).path).toBe('args[1].c');
    expect((err as Error).cause).toBe(boom);

    const reg2 = new TypeRegistry();
    const refused = new ReferenceError('x is not defined on this process');
    reg2.registerExtension({ tag: 1, ctor: Closed, encode: () => undefined, decode: () => { throw refused; } });
    const { inline } = new Encoder(reg2).encode(new Closed());
    const dec = new Decoder(reg2);
    expect(() => dec.decode(inline, [])).toThrow(refused);
    expect(dec.decode(new Encoder(reg2).encode('fine').inline, [])).toBe('fine');
  });

  test('function hook round trip, with identity; without a codec functions fail with their path', () => {
    const table = new Map<string, Function>();
    const reg = new TypeRegistry();
    reg.setFunctionCodec({
      encode(fn, w, context) {
        expect(context).toBe('peer');
        if (fn.name === 'secret') throw new TypeError('a native or bound function (secret) that is not reachable by a global path');
        table.set(fn.name, fn);
        w.string(fn.name);
      },
      decode(r, context) {
        expect(context).toBe('peer');
        const name = r.string();
        const fn = table.get(name);
        if (fn === undefined) throw new ReferenceError(`${name} is not defined`);
        return fn;
      },
    });
    const { rt: rt2 } = codec(reg);
    function double(x: number) {
      return 2 * x;
    }
    const back = rt2({ f: double, g: double, arrow: (x: number) => x }, 'peer');
    expect(back.f).toBe(double);
    expect(back.g).toBe(back.f);
    function secret() {}
    expect(() => new Encoder(reg).encode([secret], 'args', 'peer')).toThrow(
      'cannot send args[0]: a native or bound function (secret) that is not reachable by a global path',
    );
    expect(() => enc.encode({ run: double }, 'args')).toThrow('cannot send args.run: a function (double) (no function codec is set, so functions cannot be sent)');
  });

  test('a hook may encode and decode other messages re-entrantly', () => {
    const reg = new TypeRegistry();
    class Boxed {
      constructor(public inner: unknown) {}
    }
    const inner = { enc: new Encoder(reg), dec: new Decoder(reg) };
    reg.registerExtension<Boxed>({
      tag: 9,
      ctor: Boxed,
      encode(v, w) {
        const e = outer.enc.encode(v.inner); // the same encoder, re-entered
        w.value(Uint8Array.from(e.inline));
      },
      decode(r) {
        const bytes = r.value() as Uint8Array;
        return new Boxed(outer.dec.decode(bytes, []));
      },
    });
    const outer = { enc: new Encoder(reg), dec: new Decoder(reg) };
    void inner;
    const { inline } = outer.enc.encode({ a: 1, b: new Boxed({ deep: 'x' }), c: [2] });
    const back = outer.dec.decode(Uint8Array.from(inline), []) as { a: number; b: Boxed; c: number[] };
    expect(back.a).toBe(1);
    expect(back.b.inner).toEqual({ deep: 'x' });
    expect(back.c).toEqual([2]);
  });
});

describe('values that cannot be sent', () => {
  class Socket {
    fd = 3;
  }
  function* gen() {
    yield 1;
  }
  const cases: [unknown, string][] = [
    [new Socket(), 'a Socket (an instance of a class that is not registered: call registerType(Socket) on every process)'],
    [Symbol('tok'), 'a symbol (Symbol(tok)) (symbols cannot be sent)'],
    [Promise.resolve(1), 'a Promise (await it and send its value)'],
    [new WeakMap(), 'a WeakMap (weak collections cannot be sent)'],
    [new WeakSet(), 'a WeakSet (weak collections cannot be sent)'],
    [new WeakRef({}), 'a WeakRef (this built-in type cannot be sent)'],
    [gen(), 'a generator object (iterators cannot be sent; send an array of its values)'],
    [new (class Inventory extends Map {})(), 'an Inventory (an instance of a class that is not registered: call registerType(Inventory) on every process)'],
    [Object.create({ proto: 1 }), 'an object with a custom prototype (send a plain object, or register its class with registerType on every process)'],
  ];
  test.each(cases)('%p fails at the encoder with its path and kind', (value, what) => {
    let err: unknown;
    try {
      enc.encode([1, { conn: value }], 'args');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EncodeError);
    expect((err as EncodeError).message).toBe(`cannot send args[1].conn: ${what}`);
    expect((err as EncodeError).path).toBe('args[1].conn');
    expect(rt({ after: 'error' })).toEqual({ after: 'error' }); // the encoder is still usable
  });

  test('paths through Maps, Sets, odd keys, errors and registered classes', () => {
    const bad = Symbol('x');
    expect(() => enc.encode({ 'odd key': new Map([['k', bad]]) }, 'args')).toThrow('cannot send args["odd key"].get("k"): a symbol');
    expect(() => enc.encode([new Set([1, bad])], 'result')).toThrow('cannot send result[0]{element #1}: a symbol');
    expect(() => enc.encode(new Map([[bad, 1]]), 'v')).toThrow('cannot send v{key #0}: a symbol');
    expect(() => enc.encode(Object.assign(new Error('e'), { extra: [bad] }), 'error')).toThrow('cannot send error.extra[0]: a symbol');
    expect(() => enc.encode(new Error('e', { cause: bad }), 'error')).toThrow('cannot send error.cause: a symbol');
    const reg = new TypeRegistry();
    class Holder {
      constructor(public inner: unknown) {}
    }
    reg.registerClass(Holder);
    expect(() => new Encoder(reg).encode({ h: new Holder({ p: Promise.resolve() }) }, 'args')).toThrow('cannot send args.h.inner.p: a Promise');
  });

  test('a throwing getter fails the encode with the path and the error as cause', () => {
    const boom = new Error('getter boom');
    const v = {
      get x(): number {
        throw boom;
      },
    };
    let err: unknown;
    try {
      enc.encode({ v }, 'args');
    } catch (e) {
      err = e;
    }
    expect((err as EncodeError).message).toBe('cannot send args.v.x: getter boom');
    expect((err as Error).cause).toBe(boom);
  });

  test('deep nesting fails cleanly (no crash), with a readable path', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = { d: deep };
    let err: unknown;
    try {
      enc.encode(deep, 'args');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EncodeError);
    expect((err as Error).message).toMatch(/^cannot send args\.d\.d.*nested too deeply/);
    expect((err as Error).message.length).toBeLessThan(1000);
    expect(rt([1])).toEqual([1]);
  });
});

describe('malformed input', () => {
  class Pt {
    x = 1;
  }
  const reg = new TypeRegistry();
  reg.registerClass(Pt);
  const encoder = new Encoder(reg, { segmentThreshold: 64 });
  const decoder = new Decoder(reg);
  const samples: unknown[] = (() => {
    const shared = { s: 1 };
    const cyc: Record<string, unknown> = { shared };
    cyc.self = cyc;
    // eslint-disable-next-line no-sparse-arrays
    return [
      { a: 1, b: 'two', c: [1, 2, 3, , 5], d: { e: null, f: undefined, g: true } },
      [shared, shared, cyc, new Map<unknown, unknown>([[shared, 'x'], ['k', cyc]]), new Set([1, 'a', shared])],
      [new Date(5), /re+/g, 2n ** 100n, -5n, 1.5, -0, NaN, 'héllo', '\ud800', 'x'.repeat(300)],
      [new Float64Array(20), new Int16Array(3), Buffer.from('abc'), new DataView(new ArrayBuffer(8)), new ArrayBuffer(4)],
      [new Error('e', { cause: 1 }), new AggregateError([new TypeError('t')]), new Pt(), new Pt()],
      Array.from({ length: 40 }, (_, i) => ({ id: i, name: `n${i}`, tags: ['a'], pos: { x: i / 2 } })),
    ];
  })();
  const encoded = samples.map((s) => {
    const e = encoder.encode(s);
    return { inline: Uint8Array.from(e.inline), segments: receive(e.segments) };
  });

  function attempt(inline: Uint8Array, segments: ArrayBuffer[]): void {
    try {
      decoder.decode(inline, segments);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw new Error(`not a DecodeError: ${String(e)} for [${Array.from(inline).join(',')}]`);
    }
  }

  test('the samples themselves decode', () => {
    encoded.forEach((e, i) => expect(() => decoder.decode(e.inline, e.segments)).not.toThrow(), samples.length);
    expect(encoded.some((e) => e.segments.length > 0)).toBe(true);
  });

  test('truncations of every length are DecodeErrors', () => {
    for (const e of encoded) {
      for (let n = 0; n < e.inline.length; n++) {
        expect(() => decoder.decode(e.inline.subarray(0, n), e.segments)).toThrow(DecodeError);
      }
    }
  });

  test('thousands of random and mutated inputs only ever throw DecodeError', () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const t0 = Date.now();
    for (let i = 0; i < 6000; i++) {
      const len = rand(64);
      const bytes = new Uint8Array(len);
      for (let j = 0; j < len; j++) bytes[j] = rand(4) === 0 ? 0xc0 + rand(32) : rand(256);
      attempt(bytes, rand(3) === 0 ? [new ArrayBuffer(rand(100))] : []);
    }
    for (let i = 0; i < 20000; i++) {
      const e = encoded[rand(encoded.length)];
      const bytes = Uint8Array.from(e.inline);
      const edits = 1 + rand(4);
      for (let k = 0; k < edits; k++) {
        const at = rand(bytes.length);
        switch (rand(4)) {
          case 0:
            bytes[at] ^= 1 << rand(8);
            break;
          case 1:
            bytes[at] = rand(256);
            break;
          case 2:
            bytes[at] = 0xc0 + rand(32);
            break;
          default:
            bytes[at] = [0x7f, 0xff, 0x80, 0][rand(4)];
        }
      }
      const segs = rand(5) === 0 ? e.segments.slice(0, Math.max(0, e.segments.length - 1)) : e.segments;
      attempt(rand(10) === 0 ? bytes.subarray(0, rand(bytes.length + 1)) : bytes, segs);
    }
    expect(Date.now() - t0).toBeLessThan(20_000);
    // still usable
    expect(decoder.decode(encoded[0].inline, encoded[0].segments)).toEqual(samples[0]);
  });

  test('hand-made hostile inputs', () => {
    const bad: number[][] = [
      [0xcb, 0], // reference to an object never seen
      [0xcc, 0xff, 0xff, 0xff, 0xff, 0x0f], // an array claiming 2^32-1 elements
      [0xcc, 0xff, 0xff, 0xff, 0xff, 0x7f], // an array longer than any array
      [0xcd, 1], // a hole outside an array
      [0xb2, 0xcd, 0], // an empty hole run
      [0xb2, 0xcd, 5], // a hole run past the end
      [0xd6, 8, 1, 0], // a segment that does not exist
      [0xd6, 0xff, 0xff, 0xff, 0xff, 0x0f, 0], // a huge inline ArrayBuffer
      [0xd7, 9, 0xd6, 3, 0, 1, 2, 3, 0, 1], // a misaligned Float64Array
      [0xd7, 13, 0xd6, 0, 0, 0, 0], // an unknown view kind
      [0xca, 0, 0xff, 0xff, 0xff, 0xff, 0x0f], // a BigInt of 4 GB
      [0xc7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], // a string of 2^56 bytes
      [0xc7, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1], // an endless varint
      [0xd5, 0x81, 0x28, 0x80, 0], // an invalid RegExp
      [0xd2, 0xff, 0xff, 0xff, 0x0f], // a Map of 2^28 entries with no bytes
      [0xd8, 200], // an unknown error class
      [0xd9, 5, 0], // a class reference never defined
      [0xcf, 3], // a shape never defined
      [0x01, 0x02], // trailing bytes
      [],
    ];
    for (const b of bad) expect(() => decoder.decode(Uint8Array.from(b), [])).toThrow(DecodeError);
    const ab = new ArrayBuffer(8);
    expect(() => decoder.decode(Uint8Array.from([0xb2, 0xd6, 8, 1, 0, 0xd6, 8, 1, 0]), [ab])).toThrow(/used twice/);
    expect(() => decoder.decode(Uint8Array.from([0xd6, 9, 1, 0]), [ab])).toThrow(/not an ArrayBuffer of 9 bytes/);
  });
});

test('a list of root names names the elements of an array payload', () => {
  class NotRegistered {
    b = 2;
  }
  const f = (): void => undefined;
  expect(() => enc.encode([1, [{ inner: [new NotRegistered()] }]], ['f', 'args'])).toThrow(
    /^cannot send args\[0\]\.inner\[0\]: a NotRegistered/,
  );
  expect(() => enc.encode([f, []], ['f', 'args'])).toThrow(/^cannot send f: a function/);
  expect(() => enc.encode(Symbol('top'), ['f', 'args'])).toThrow(/^cannot send value: a symbol/);
});
