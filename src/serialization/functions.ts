/**
 * How functions travel (SPEC §3), in order of preference:
 * 1. a global function (`globalThis[fn.name] === fn`) travels by name: the target uses its own;
 * 2. a built-in (`Math.sqrt`, `JSON.parse`, …) or one of this package's exports travels by its path;
 * 3. any other function travels as source text, sent once per peer and cached by content hash there.
 * Free variables inside shipped source are resolved in the target's global scope.
 */
import * as vm from 'node:vm';
import type { FunctionCodec, ValueReader, ValueWriter } from './codec';

/** Per-connection memory of what has been sent: functions by hash. */
export interface PeerCodecState {
  readonly sentFunctions: Set<string>;
  /** Hashes marked sent by the frame being encoded: undone if that frame is never sent. */
  readonly journal: string[];
}

/** A fresh per-peer state. */
export function newPeerCodecState(): PeerCodecState {
  return { sentFunctions: new Set(), journal: [] };
}

/** The frame being encoded was not sent: forget what it marked as sent. */
export function rollbackPeerState(s: PeerCodecState): void {
  for (const h of s.journal) s.sentFunctions.delete(h);
  s.journal.length = 0;
}

const enum How {
  Global = 0,
  Path = 1,
  Source = 2,
  SourceRef = 3,
}

/** Functions reachable by a fixed path, both ways. */
const pathOf = new Map<Function, string>();
const byPath = new Map<string, Function>();

function addPath(path: string, fn: unknown): void {
  if (typeof fn !== 'function' || pathOf.has(fn)) return;
  pathOf.set(fn, path);
  byPath.set(path, fn);
}

const NAMESPACES = ['Math', 'JSON', 'Reflect', 'Atomics', 'Object', 'Array', 'Number', 'String', 'Promise', 'Date', 'BigInt', 'Symbol', 'ArrayBuffer', 'Intl'];
function indexBuiltins(): void {
  // Data properties only: Node defines some globals (fetch, WebSocket, …) as lazy getters whose first
  // read loads a whole module (undici); a function behind one still travels by its global name.
  for (const name of Object.getOwnPropertyNames(globalThis)) {
    const v = Object.getOwnPropertyDescriptor(globalThis, name)?.value;
    if (typeof v === 'function') addPath(name, v);
  }
  for (const ns of NAMESPACES) {
    const obj = (globalThis as Record<string, unknown>)[ns] as Record<string, unknown> | undefined;
    if (obj == null) continue;
    for (const key of Object.getOwnPropertyNames(obj)) {
      if (key === 'prototype' || key === 'caller' || key === 'arguments' || key === 'constructor') continue;
      let v: unknown;
      try {
        v = obj[key];
      } catch {
        continue;
      }
      addPath(`${ns}.${key}`, v);
    }
  }
}
indexBuiltins();

/**
 * Makes this package's exported functions travel by name (`distributed-ts:myid`), so
 * `remotecall_fetch(myid, 2)` runs the worker's own `myid`.
 */
export function registerPackageExports(exports: Record<string, unknown>): void {
  for (const [name, v] of Object.entries(exports)) {
    if (typeof v === 'function' && !pathOf.has(v)) addPath(`distributed-ts:${name}`, v);
  }
}

interface Shipped {
  hash: string;
  source: string;
}
const shippedCache = new WeakMap<Function, Shipped>();
const compiled = new Map<string, Function>();

function shippable(fn: Function): Shipped {
  let s = shippedCache.get(fn);
  if (s !== undefined) return s;
  const source = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    throw new TypeError(
      `a native or bound function${fn.name ? ` (${fn.name})` : ''} that is not reachable by a global path; pass a global function or an arrow function`,
    );
  }
  if (/^class\b/.test(source)) throw new TypeError(`a class (${fn.name}) is not a callable function`);
  // node:crypto is loaded on the first function sent as source, not at start-up (workers rarely need it).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  s = { hash: createHash('sha1').update(source).digest('base64'), source };
  shippedCache.set(fn, s);
  return s;
}

/** Compiles shipped source in this process's global scope. Method shorthand (`f(x) {…}`) is accepted too. */
function compile(source: string, hash: string): Function {
  const filename = `shipped-function-${hash.replace(/[^A-Za-z0-9]/g, '').slice(0, 12)}.js`;
  let fn: unknown;
  try {
    fn = vm.runInThisContext(`(${source}\n)`, { filename });
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    const holder = vm.runInThisContext(`({${source}\n})`, { filename }) as Record<string, unknown>;
    const key = Reflect.ownKeys(holder)[0];
    const desc = key === undefined ? undefined : Object.getOwnPropertyDescriptor(holder, key);
    fn = desc?.value ?? desc?.get;
  }
  if (typeof fn !== 'function') throw new TypeError(`shipped source did not evaluate to a function: ${source.slice(0, 80)}`);
  return fn;
}

/** A ReferenceError in the words of SPEC §3 (Julia's UndefVarError). */
function undefinedName(name: string): ReferenceError {
  return new ReferenceError(
    `${name} is not defined on this process: pass it as an argument, or define it on every process with everywhere()`,
  );
}

/** The function codec the runtime installs in the type registry. */
export const functionCodec: FunctionCodec = {
  encode(fn: Function, w: ValueWriter, context: unknown): void {
    const name = fn.name;
    if (name && (globalThis as Record<string, unknown>)[name] === fn) {
      w.uint(How.Global);
      w.string(name);
      return;
    }
    const p = pathOf.get(fn);
    if (p !== undefined) {
      w.uint(How.Path);
      w.string(p);
      return;
    }
    const s = shippable(fn);
    const peer = context as PeerCodecState | undefined;
    const sent = peer?.sentFunctions;
    if (sent !== undefined && sent.has(s.hash)) {
      w.uint(How.SourceRef);
      w.string(s.hash);
      return;
    }
    w.uint(How.Source);
    w.string(s.hash);
    w.string(s.source);
    if (peer !== undefined) {
      peer.sentFunctions.add(s.hash);
      peer.journal.push(s.hash);
    }
  },

  decode(r: ValueReader): Function {
    const how = r.uint();
    switch (how) {
      case How.Global: {
        const name = r.string();
        const fn = (globalThis as Record<string, unknown>)[name];
        if (typeof fn !== 'function') throw undefinedName(name);
        return fn;
      }
      case How.Path: {
        const p = r.string();
        const fn = byPath.get(p);
        if (fn === undefined) throw undefinedName(p.replace(/^distributed-ts:/, ''));
        return fn;
      }
      case How.Source: {
        const hash = r.string();
        const source = r.string();
        let fn = compiled.get(hash);
        if (fn === undefined) {
          fn = compile(source, hash);
          compiled.set(hash, fn);
        }
        return fn;
      }
      case How.SourceRef: {
        const hash = r.string();
        const fn = compiled.get(hash);
        if (fn === undefined) throw new Error(`shipped function ${hash} is not in this process's cache`);
        return fn;
      }
      default:
        throw new Error(`unknown function encoding ${how}`);
    }
  },
};
