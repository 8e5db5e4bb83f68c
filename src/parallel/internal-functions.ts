/**
 * This layer's internal functions that run on other processes (a batch runner, a pool operation, …)
 * travel by a fixed name that every process registers when it loads the package. Registration waits
 * until the package has loaded (`registerInternalFunctions`, called from index.ts), so module load
 * order (and import cycles through the function codec) cannot matter.
 */
import { registerInternalFunction } from '../serialization/functions';

const queued: Array<[string, Function]> = [];
let flushed = false;

/** Registers `fn` to travel by the name `name` on every process (each registers it at load). */
export function registerInternal(name: string, fn: Function): void {
  if (flushed) register(name, fn);
  else queued.push([name, fn]);
}

/** Registers everything queued so far (idempotent); later registrations go through at once. */
export function registerInternalFunctions(): void {
  flushed = true;
  for (const [name, fn] of queued.splice(0)) register(name, fn);
}

function register(name: string, fn: Function): void {
  registerInternalFunction(name, fn);
}
