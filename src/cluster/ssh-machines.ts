/**
 * Machine entries for `addprocs(machines)` and the CLI's `--machine-file`, in Julia's syntax, and the
 * quoting of words for the remote POSIX shell.
 */

/** One machine: `'[user@]host[:port] [bind_addr[:port]]'`, or that with a worker count (`'auto'`: one per CPU thread there). */
export type MachineSpec = string | readonly [string, number | 'auto'];

/** A machine entry, parsed. */
export interface Machine {
  user?: string;
  host: string;
  port?: number;
  /** Where other processes reach its workers (default: `host`). */
  bindAddr?: string;
  bindPort?: number;
  count: number | 'auto';
}

const SPEC = /^(?:([^@\s]+)@)?([^:\s@]+)(?::(\d+))?(?:\s+([^:\s]+)(?::(\d+))?)?$/;

/**
 * Parses one machine entry (Julia's machine_spec, optionally with a count). Throws a RangeError naming
 * what is wrong.
 *
 * ```ts
 * parseMachine(['me@node7:2222 10.0.0.7', 4]) // { user: 'me', host: 'node7', port: 2222, bindAddr: '10.0.0.7', count: 4 }
 * ```
 */
export function parseMachine(spec: MachineSpec): Machine {
  const [text, count] = typeof spec === 'string' ? [spec, 1] : Array.isArray(spec) && spec.length === 2 ? spec : [undefined, undefined];
  if (typeof text !== 'string') throw new RangeError(`addprocs: a machine is "[user@]host[:port] [bind_addr[:port]]" or [that, count], got ${JSON.stringify(spec)}`);
  const m = SPEC.exec(text.trim());
  if (m === null) throw new RangeError(`addprocs: machine ${JSON.stringify(text)} is not "[user@]host[:port] [bind_addr[:port]]"`);
  if (count !== 'auto' && !(Number.isInteger(count) && (count as number) >= 1)) {
    throw new RangeError(`addprocs: the worker count for ${JSON.stringify(text)} must be a positive integer or 'auto', got ${JSON.stringify(count)}`);
  }
  const port = (s: string | undefined, what: string): number | undefined => {
    if (s === undefined) return undefined;
    const p = Number(s);
    if (!(p >= 1 && p <= 65535)) throw new RangeError(`addprocs: ${what} ${s} in machine ${JSON.stringify(text)} is not a port number`);
    return p;
  };
  return { user: m[1], host: m[2], port: port(m[3], 'ssh port'), bindAddr: m[4], bindPort: port(m[5], 'bind port'), count: count as number | 'auto' };
}

/**
 * The machines of a machine file (Julia's `--machine-file`): one per line, `[count*][user@]host[:port]
 * [bind_addr[:port]]`; `#` starts a comment. Throws naming the file and line of a bad entry.
 *
 * ```ts
 * parseMachineFile('4*node1\nme@node2:2222\n') // [['node1', 4], ['me@node2:2222', 1]]
 * ```
 */
export function parseMachineFile(text: string, file = 'machine file'): Array<[string, number | 'auto']> {
  const out: Array<[string, number | 'auto']> = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const m = /^(?:(\d+|auto)\*)?(.+)$/.exec(line)!;
    const entry: [string, number | 'auto'] = [m[2].trim(), m[1] === undefined ? 1 : m[1] === 'auto' ? 'auto' : Number(m[1])];
    try {
      parseMachine(entry);
    } catch (e) {
      throw new RangeError(`${file}, line ${i + 1}: ${(e as Error).message.replace(/^addprocs: /, '')}`);
    }
    out.push(entry);
  });
  return out;
}

/** A word for a POSIX shell: single-quoted, so nothing in it is expanded. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

