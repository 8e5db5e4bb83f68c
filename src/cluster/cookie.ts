/** The cluster cookie: the shared secret every connection must present first (Julia's `cluster_cookie`). */

/** Julia's HDR_COOKIE_LEN. */
export const COOKIE_LEN = 16;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Made on first use: a worker is given its cookie, and loading node:crypto costs start-up time. */
let cookie: string | undefined;

function randomCookie(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bytes = (require('node:crypto') as typeof import('node:crypto')).randomBytes(COOKIE_LEN);
  let s = '';
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length];
  return s;
}

/**
 * The cluster cookie, or, with an argument, sets it (at most 16 ASCII characters) and returns it.
 *
 * ```ts
 * cluster_cookie('mysecret'); cluster_cookie() // 'mysecret'
 * ```
 */
export function cluster_cookie(c?: string): string {
  if (c === undefined) return (cookie ??= randomCookie());
  if (typeof c !== 'string') throw new TypeError(`cluster_cookie: cookie must be a string, got ${typeof c}`);
  if (c.length === 0 || c.length > COOKIE_LEN || !/^[\x21-\x7e]*$/.test(c)) {
    throw new RangeError(`cluster_cookie: cookie must be 1-${COOKIE_LEN} printable ASCII characters without spaces`);
  }
  cookie = c;
  return cookie;
}
