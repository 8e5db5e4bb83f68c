/**
 * The raw handshake that opens every connection, before any frame (Julia's cookie + version header):
 * the connecting side sends 16 bytes of cookie and 16 bytes of protocol version; the accepting side
 * checks the cookie in constant time, drops the connection without running anything when it differs,
 * and answers with its own version.
 */
import { COOKIE_LEN } from '../cluster/cookie';

/** Julia's HDR_VERSION_LEN. */
export const VERSION_LEN = 16;
/** The protocol version this build speaks. Peers must match its major part ('dts1'). */
export const PROTOCOL_VERSION = 'dts1/0.1.0';

/** Pads an ASCII string to `len` bytes with NULs. */
function padded(s: string, len: number): Buffer {
  const b = Buffer.alloc(len);
  b.write(s, 0, len, 'latin1');
  return b;
}

/** The 32-byte block the connecting side sends. */
export function helloBlock(cookie: string): Buffer {
  return Buffer.concat([padded(cookie, COOKIE_LEN), padded(PROTOCOL_VERSION, VERSION_LEN)]);
}

/** The 16-byte answer of the accepting side. */
export function versionBlock(): Buffer {
  return padded(PROTOCOL_VERSION, VERSION_LEN);
}

/** True when the first 16 bytes of `hello` are `cookie` (constant time). */
export function cookieMatches(hello: Uint8Array, cookie: string): boolean {
  // Every byte is compared whatever differs first (no early exit), as crypto.timingSafeEqual does;
  // written out because loading node:crypto would cost every worker's start-up.
  const expected = padded(cookie, COOKIE_LEN);
  if (hello.length < COOKIE_LEN) return false;
  let diff = 0;
  for (let i = 0; i < COOKIE_LEN; i++) diff |= hello[i] ^ expected[i];
  return diff === 0;
}

/** Throws unless the version block is compatible with ours. */
export function checkVersion(block: Uint8Array): void {
  const theirs = Buffer.from(block).toString('latin1').replace(/\0+$/, '');
  const major = (v: string) => v.split('/')[0];
  if (major(theirs) !== major(PROTOCOL_VERSION)) {
    throw new Error(`protocol version mismatch: this process speaks ${PROTOCOL_VERSION}, the peer ${JSON.stringify(theirs)}`);
  }
}
