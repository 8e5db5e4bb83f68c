/**
 * Julia's exception types for distributed computing, as `Error` subclasses that keep Julia's field names.
 */

/**
 * An exception captured on another process, with the remote stack as text.
 *
 * `ex` is the original error (rebuilt as its class when the receiver knows it) and `processed_bt` the
 * remote stack trace. Julia: `CapturedException(ex, processed_bt)`.
 *
 * ```ts
 * try { await remotecall_fetch(() => { throw new RangeError('bad') }, 2) }
 * catch (e) { (e as RemoteException).captured.ex instanceof RangeError } // true
 * ```
 */
export class CapturedException extends Error {
  /** The original error (or thrown value). */
  readonly ex: unknown;
  /** The remote stack trace, as text. */
  readonly processed_bt: string;

  constructor(ex: unknown, processedBt?: string) {
    super(describeThrown(ex));
    this.name = 'CapturedException';
    this.ex = ex;
    this.processed_bt = processedBt ?? (ex instanceof Error && typeof ex.stack === 'string' ? ex.stack : '');
  }
}

/**
 * An exception raised by a computation on worker `pid`, rethrown on the caller. Julia: `RemoteException`.
 *
 * Its message reads `On worker N:\n<Name>: <message>\n<stack>`.
 *
 * ```ts
 * try { await remotecall_fetch(Math.sqrt, 2, 'x') } catch (e) { if (e instanceof RemoteException) console.log(e.pid) }
 * ```
 */
export class RemoteException extends Error {
  /** The process the exception was raised on. */
  readonly pid: number;
  /** The captured exception and its remote stack. */
  readonly captured: CapturedException;

  constructor(pid: number, captured: CapturedException) {
    const stack = captured.processed_bt;
    const head = describeThrown(captured.ex);
    const body = stack && !stack.startsWith(head) ? `${head}\n${stack}` : stack || head;
    super(`On worker ${pid}:\n${body}`);
    this.name = 'RemoteException';
    this.pid = pid;
    this.captured = captured;
  }
}

/**
 * A process the caller needed has exited (or its connection was lost). Julia: `ProcessExitedException`.
 *
 * ```ts
 * try { await remotecall_fetch(() => process.exit(1), 2) } catch (e) { (e as ProcessExitedException).worker_id } // 2
 * ```
 */
export class ProcessExitedException extends Error {
  /** The id of the process that exited. */
  readonly worker_id: number;

  constructor(workerId: number, detail?: string) {
    super(`Worker ${workerId} terminated${detail ? `: ${detail}` : ''}`);
    this.name = 'ProcessExitedException';
    this.worker_id = workerId;
  }
}

/**
 * Several exceptions gathered from concurrent tasks. Julia: `CompositeException`.
 *
 * ```ts
 * const e = new CompositeException([new Error('a'), new Error('b')]); e.exceptions.length // 2
 * ```
 */
export class CompositeException extends Error {
  /** The gathered exceptions, in the order their tasks were started. */
  readonly exceptions: unknown[];

  constructor(exceptions: unknown[]) {
    const lines = exceptions.map((e) => (e instanceof Error ? e.message : String(e)));
    super(`${exceptions.length} exception(s) occurred:\n${lines.join('\n')}`);
    this.name = 'CompositeException';
    this.exceptions = exceptions;
  }
}

/**
 * The computation was interrupted (Julia's `InterruptException`), raised on a worker by `interrupt(pid)`.
 *
 * ```ts
 * new InterruptException().name // 'InterruptException'
 * ```
 */
export class InterruptException extends Error {
  constructor(message = 'interrupted') {
    super(message);
    this.name = 'InterruptException';
  }
}

/** `Name: message` for an error, `String(v)` for any other thrown value. */
export function describeThrown(v: unknown): string {
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  if (v !== null && typeof v === 'object' && 'name' in v && 'message' in v) {
    return `${String((v as { name: unknown }).name)}: ${String((v as { message: unknown }).message)}`;
  }
  try {
    return `${typeof v === 'string' ? v : JSON.stringify(v) ?? String(v)}`;
  } catch {
    return String(v);
  }
}

/**
 * An operation found an object in the wrong state: Julia's `InvalidStateException`, raised by `put`,
 * `take`, `fetch` and `wait` on a closed channel. `state` names the state (`'closed'`).
 *
 * ```ts
 * const c = new Channel(1); c.close();
 * await c.put(1).catch((e) => e.state); // 'closed'
 * ```
 */
export class InvalidStateException extends Error {
  /** The state the object was in. */
  readonly state: string;

  constructor(message: string, state: string) {
    super(message);
    this.name = 'InvalidStateException';
    this.state = state;
  }
}
