/**
 * TLS for cluster connections (`addprocs(…, { tls: true })`), keyed by the cluster cookie: TLS 1.2 with
 * a pre-shared key (TLS-PSK), so there are no certificates to make, ship or check. Both ends derive the
 * same key from the cookie they already share; a peer without the cookie fails the TLS handshake before
 * a byte of the protocol is read. The key exchange is ephemeral (ECDHE-PSK, or DHE-PSK), so recorded
 * traffic stays secret even if the cookie leaks later.
 *
 * `node:tls` and `node:crypto` load on first use: workers without TLS never load them.
 */
import type * as net from 'node:net';
import type * as tls from 'node:tls';

/** The cipher suites offered, best first: each with an ephemeral key exchange and an AEAD cipher. */
export const TLS_CIPHERS = 'ECDHE-PSK-CHACHA20-POLY1305:DHE-PSK-AES256-GCM-SHA384';
const IDENTITY = 'distributed-ts';

function tlsModule(): typeof tls {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('node:tls') as typeof tls;
}

/** The pre-shared key for a cluster cookie: HMAC-SHA256 of a fixed label under the cookie. */
export function pskFor(cookie: string): Buffer {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const crypto = require('node:crypto') as typeof import('node:crypto');
  return crypto.createHmac('sha256', cookie).update('distributed-ts tls psk').digest();
}

const common = { ciphers: TLS_CIPHERS, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } as const;

/** Connects with TLS to a peer's `host:port`, reading with `onread` as plain connections do. */
export function tlsConnect(address: { host: string; port: number }, cookie: string, onread: net.OnReadOpts): tls.TLSSocket {
  const key = pskFor(cookie);
  // `onread` is a tls.connect option (Node's types leave it out).
  const options: tls.ConnectionOptions & { onread: net.OnReadOpts } = {
    ...common,
    host: address.host,
    port: address.port,
    onread,
    // No certificate is involved: the peer proves itself by knowing the key.
    checkServerIdentity: () => undefined,
    pskCallback: () => ({ psk: key, identity: IDENTITY }),
  };
  return tlsModule().connect(options);
}

/** The server end of TLS over an accepted connection (reads arrive as 'data' events). */
export function tlsAccept(raw: net.Socket, cookie: string): tls.TLSSocket {
  const key = pskFor(cookie);
  // A TLSSocket made over an accepted socket takes the server options (pskCallback among them; Node's
  // types list them for tls.createServer only).
  const options: tls.TLSSocketOptions & { pskCallback: (socket: tls.TLSSocket, identity: string) => Buffer | null } = {
    ...common,
    isServer: true,
    pskCallback: (_socket, identity) => (identity === IDENTITY ? key : null),
  };
  return new (tlsModule().TLSSocket)(raw, options);
}
