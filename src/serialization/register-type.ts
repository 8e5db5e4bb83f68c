/** `registerType`: let a class travel, optionally with its own serializer (Julia's custom serialize/deserialize). */
import { registry } from './wire-codec';

/** How a registered class is turned into data and back. */
export interface TypeSerializer<T> {
  /** Name it travels under (default: the class name); must be the same on every process. */
  name?: string;
  /** Turns an instance into a value that travels (default: its own enumerable fields). */
  encode?: (value: T) => unknown;
  /** Rebuilds an instance from what `encode` produced. */
  decode?: (data: unknown) => T;
}

/**
 * Registers a class so its instances travel (call it on every process, e.g. in a module every process
 * loads). Without `encode`/`decode`, an instance travels as its own fields and arrives with its prototype.
 *
 * ```ts
 * class Point { constructor(public x = 0, public y = 0) {} }
 * registerType(Point);
 * await remotecall_fetch((p: Point) => p.x, 2, new Point(1, 2)); // 1 (Point registered on worker 2 too)
 * ```
 */
export function registerType<T extends object>(cls: new (...args: never[]) => T, serializer: TypeSerializer<T> = {}): void {
  if (typeof cls !== 'function') throw new TypeError('registerType: the first argument must be a class');
  registry.registerClass(cls, serializer as { name?: string; encode?: (v: object) => unknown; decode?: (d: unknown) => object });
}
