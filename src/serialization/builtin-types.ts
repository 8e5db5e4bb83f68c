/**
 * This package's own error types travel as themselves (a RemoteException raised by a nested remote call
 * arrives as a RemoteException, with its pid and captured exception).
 */
import { CapturedException, CompositeException, InterruptException, InvalidStateException, ProcessExitedException, RemoteException } from '../errors';
import { registry } from './wire-codec';

let done = false;

/** Registers the package's error classes with the codec (idempotent). */
export function registerBuiltinTypes(): void {
  if (done) return;
  done = true;
  const withStack = <T extends Error>(e: T, stack: unknown): T => {
    if (typeof stack === 'string') e.stack = stack;
    return e;
  };
  registry.registerClass(RemoteException, {
    name: 'distributed-ts.RemoteException',
    encode: (e) => [(e as RemoteException).pid, (e as RemoteException).captured, (e as Error).stack],
    decode: (d) => {
      const [pid, captured, stack] = d as [number, CapturedException, string];
      return withStack(new RemoteException(pid, captured), stack);
    },
  });
  registry.registerClass(CapturedException, {
    name: 'distributed-ts.CapturedException',
    encode: (e) => [(e as CapturedException).ex, (e as CapturedException).processed_bt],
    decode: (d) => new CapturedException((d as [unknown, string])[0], (d as [unknown, string])[1]),
  });
  registry.registerClass(ProcessExitedException, {
    name: 'distributed-ts.ProcessExitedException',
    encode: (e) => [(e as ProcessExitedException).worker_id, (e as Error).message, (e as Error).stack],
    decode: (d) => {
      const [id, message, stack] = d as [number, string, string];
      const e = withStack(new ProcessExitedException(id), stack);
      e.message = message;
      return e;
    },
  });
  registry.registerClass(CompositeException, {
    name: 'distributed-ts.CompositeException',
    encode: (e) => [(e as CompositeException).exceptions, (e as Error).stack],
    decode: (d) => withStack(new CompositeException((d as [unknown[], string])[0]), (d as [unknown[], string])[1]),
  });
  registry.registerClass(InterruptException, {
    name: 'distributed-ts.InterruptException',
    encode: (e) => [(e as Error).message, (e as Error).stack],
    decode: (d) => withStack(new InterruptException((d as [string, string])[0]), (d as [string, string])[1]),
  });
  registry.registerClass(InvalidStateException, {
    name: 'distributed-ts.InvalidStateException',
    encode: (e) => [(e as Error).message, (e as InvalidStateException).state, (e as Error).stack],
    decode: (d) => {
      const [message, state, stack] = d as [string, string, string];
      return withStack(new InvalidStateException(message, state), stack);
    },
  });
}
