/**
 * Reading a worker's output streams: its first stdout line announces its address; every later line is
 * shown on this process prefixed `      From worker N:\t` (Julia's format).
 */
import type { Readable } from 'node:stream';

/** The announcement a worker prints first: `dts_worker:<address>`. */
export const ANNOUNCE_PREFIX = 'dts_worker:';

/** Splits a stream into lines, calling `onLine` for each complete one (and the last partial one at end). */
export function eachLine(stream: Readable, onLine: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  });
  stream.on('end', () => {
    if (partial) onLine(partial);
    partial = '';
  });
}

/** Writes one forwarded line with Julia's prefix. */
export function forwardLine(id: number, line: string, to: NodeJS.WriteStream): void {
  to.write(`      From worker ${id}:\t${line}\n`);
}
