/** The command line of `distributed` (Julia's `julia -p N -L file driver.jl args…`), parsed. */

/** What the command line asks for. */
export interface CliOptions {
  /** Workers to start before the script: a count, or 'auto' (one per CPU thread). */
  procs?: number | 'auto';
  /** A file of machines to start workers on over ssh (Julia's `--machine-file`). */
  machineFile?: string;
  /** Files loaded on every process, in order, before the script. */
  load: string[];
  /** Run as a worker; `cookie` is undefined when it is read from stdin. */
  worker?: { cookie?: string };
  /**
   * With `--worker`, `addr[:port]` it listens on. On the master, an address (no port): the one local
   * workers added with `restrict: false` listen on (Julia's `LPROC.bind_addr`; the master listens on
   * nothing itself).
   */
  bindTo?: string;
  /** A worker that takes only TLS connections (keyed by the cookie). */
  tls?: boolean;
  /** The driver script, and the arguments it sees in `process.argv.slice(2)`. */
  script?: string;
  scriptArgs: string[];
  help: boolean;
  version: boolean;
}

export const USAGE = `usage: distributed [options] [script.{js,mjs,ts} [args...]]

  -p, --procs N|auto       start N local workers (auto: one per CPU thread) before the script
  --machine-file FILE      start workers over ssh on the machines FILE lists, one per line:
                           [count*][user@]host[:port] [bind_addr[:port]]
  -L, --load FILE          load FILE on every process before the script (repeatable)
  --worker[=COOKIE]        run as a worker (the cookie is read from stdin unless given)
  --bind-to ADDR[:PORT]    with --worker: the address (and port) to listen on; on the master: the
                           address local workers added with addprocs(n, { restrict: false }) listen
                           on, each on a free port (the master itself does not listen)
  --tls                    with --worker: take only TLS connections (keyed by the cluster cookie)
  -h, --help               this text
  -v, --version            the version of distributed-ts

TypeScript scripts and -L files run through tsx, on the master and on the workers.`;

/** Parses `argv` (without node and the CLI's own path). Throws an Error with a clear message on bad input. */
export function parseArgs(argv: readonly string[]): CliOptions {
  const o: CliOptions = { load: [], scriptArgs: [], help: false, version: false };
  let i = 0;
  const value = (flag: string, inline: string | undefined): string => {
    if (inline !== undefined) return inline;
    const v = argv[++i];
    if (v === undefined) throw new Error(`${flag} needs a value`);
    return v;
  };
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-') || a === '-') break;
    if (a === '--') {
      i++;
      break;
    }
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const inline = eq > 0 ? a.slice(eq + 1) : undefined;
    switch (flag) {
      case '-p':
      case '--procs': {
        const v = value(flag, inline);
        if (v === 'auto') o.procs = 'auto';
        else if (/^\d+$/.test(v)) o.procs = Number(v);
        else throw new Error(`${flag} takes a number of workers or 'auto', got '${v}'`);
        break;
      }
      case '-L':
      case '--load':
        o.load.push(value(flag, inline));
        break;
      case '--worker':
        o.worker = { cookie: inline };
        break;
      case '--bind-to':
        o.bindTo = value(flag, inline);
        if (!/^[^:\s]+(:\d+)?$/.test(o.bindTo) && !/^\[[0-9a-fA-F:]+\](:\d+)?$/.test(o.bindTo)) {
          throw new Error(`--bind-to takes addr[:port], got '${o.bindTo}'`);
        }
        break;
      case '--tls':
        o.tls = true;
        break;
      case '-h':
      case '--help':
        o.help = true;
        break;
      case '-v':
      case '--version':
        o.version = true;
        break;
      case '--machine-file':
        o.machineFile = value(flag, inline);
        break;
      default:
        throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  if (i < argv.length) {
    o.script = argv[i];
    o.scriptArgs = argv.slice(i + 1);
  }
  if (o.tls === true && o.worker === undefined) {
    throw new Error("--tls applies with --worker (a master asks for TLS with addprocs(…, { tls: true }))");
  }
  if (o.bindTo !== undefined && o.worker === undefined && /:\d+$/.test(o.bindTo)) {
    throw new Error(
      `--bind-to on the master takes an address without a port, got '${o.bindTo}': the master does not listen (it connects to its workers); ` +
        'its --bind-to is the address local workers added with restrict: false listen on, each on a free port',
    );
  }
  if (o.worker !== undefined && (o.script !== undefined || o.procs !== undefined || o.machineFile !== undefined || o.load.length > 0)) {
    throw new Error('--worker takes no script, -p, --machine-file or -L: a worker runs what the master sends it');
  }
  return o;
}
