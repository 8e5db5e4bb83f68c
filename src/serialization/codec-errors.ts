/** The codec's error types (public) and the internal carriers used while an error unwinds. */

/**
 *     EncodeError(path, reason)
 *
 * A value cannot be sent. `path` names where it sits in what was being sent (`args[1].conn`), `reason`
 * says what it is and why it cannot travel (`a Socket (an instance of a class that is not registered…)`);
 * the message is `cannot send <path>: <reason>`. Thrown by `Encoder.encode` before anything is sent.
 * When the failure came from user code (a getter, a class's `encode`, an extension hook), that error is
 * the `cause`.
 */
export class EncodeError extends Error {
  /** Where the value sits, starting with the root path given to `encode` (`args[1].conn`). */
  readonly path: string;
  /** What the value is and why it cannot be sent. */
  readonly reason: string;
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super(`cannot send ${path}: ${reason}`, options);
    this.path = path;
    this.reason = reason;
  }
}
Object.defineProperty(EncodeError.prototype, 'name', { value: 'EncodeError', writable: true, configurable: true });

/**
 *     DecodeError(message)
 *
 * Bytes that cannot be decoded: malformed or truncated input, a bad back-reference or segment index,
 * or a class name / extension tag this process has not registered. Thrown by `Decoder.decode`; the
 * decoder stays usable.
 */
export class DecodeError extends Error {}
Object.defineProperty(DecodeError.prototype, 'name', { value: 'DecodeError', writable: true, configurable: true });

/** A path segment written as it is (`{key #0}`, `.get("k")`), not as a property key. */
export class RawSeg {
  constructor(readonly text: string) {}
}

/** A path segment: an array index, an object key, or raw text. */
export type Seg = number | string | RawSeg;

/**
 * Internal: a value cannot be sent. Thrown at the leaf (no stack trace is captured, so it is cheap) and
 * given path segments while unwinding; `Encoder.encode` turns it into an {@link EncodeError}. Nothing
 * is formatted until then: the innermost frames may be right at the stack limit.
 */
export class Unsendable {
  /** Path segments, innermost first. */
  readonly segs: Seg[] = [];
  constructor(
    private readonly why: string | null,
    readonly cause?: unknown,
  ) {}

  /** Wraps anything thrown while encoding (a getter's error, a stack overflow, a hook's error). */
  static from(e: unknown): Unsendable {
    return e instanceof Unsendable ? e : new Unsendable(null, e);
  }

  /** What the value is and why it cannot be sent. */
  reason(): string {
    if (this.why !== null) return this.why;
    const e = this.cause;
    if (e instanceof EncodeError) return e.reason;
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      return 'it is nested too deeply to encode (Maximum call stack size exceeded)';
    }
    const err = e as { message?: unknown } | null;
    return err !== null && typeof err === 'object' && typeof err.message === 'string' ? err.message : String(e);
  }

  /** The cause to report: the original error, or an EncodeError's own cause. */
  reportedCause(): unknown {
    const e = this.cause;
    return e instanceof EncodeError ? e.cause ?? e : e;
  }
}

/** Internal: an error thrown by a user hook while decoding; it reaches the caller of `decode` unchanged. */
export class HookFailure {
  constructor(readonly error: unknown) {}
}

/** `.key` or `["key"]`, as a path segment. */
export function keySegment(k: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
}

function segText(s: Seg): string {
  return typeof s === 'number' ? `[${s}]` : typeof s === 'string' ? keySegment(s) : s.text;
}

/**
 * Joins path segments (innermost first), keeping long paths readable. With `root` a list of names, the
 * value is an array whose element i is called `root[i]` (`['f', 'args']`: `args[0].conn`, not `call[1][0].conn`).
 */
export function joinPath(root: string | readonly string[], segs: readonly Seg[]): string {
  let rest = segs;
  let top: string;
  if (typeof root === 'string') {
    top = root;
  } else {
    const first = segs[segs.length - 1];
    if (typeof first === 'number' && typeof root[first] === 'string') {
      top = root[first];
      rest = segs.slice(0, -1);
    } else {
      top = 'value';
    }
  }
  return joinSegs(top, rest);
}

function joinSegs(root: string, segs: readonly Seg[]): string {
  const outer = segs.slice().reverse().map(segText);
  if (outer.length > 48) return root + outer.slice(0, 24).join('') + '…' + outer.slice(-16).join('');
  return root + outer.join('');
}
