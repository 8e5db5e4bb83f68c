/**
 * This layer's internal functions that run on other processes (a batch runner, a pool operation, …)
 * travel by a fixed name that every process registers when it loads the module defining them.
 */
import { registerPackageExports } from '../serialization/functions';

/**
 * Registers `fn` to travel by the name `name` on every process (each registers it at load).
 * Once function shipping offers `registerInternalFunction(name, fn)` (issue 3), this should call it.
 */
export function registerInternal(name: string, fn: Function): void {
  registerPackageExports({ [`__${name}`]: fn });
}
