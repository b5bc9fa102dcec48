import { constants } from 'node:crypto';
import type { TlsOptions } from 'node:tls';

/** How long a device may take over its TLS handshake: constrained devices need a few seconds. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * TLS settings shared by every device transport. The trust decision is ours, made after the
 * handshake by the device-identity service, never OpenSSL's or `socket.authorized` (which,
 * with several projects' CAs loaded, would accept project B's CA vouching for O=project-a):
 * - requestCert with rejectUnauthorized false: the client's chain reaches us unjudged, while
 *   OpenSSL still checks the CertificateVerify signature, the proof the client holds the key;
 * - `ca: []`: an empty trust store, so no public roots, no CA list in the CertificateRequest, and
 *   no certificate the client did not send in the chain we read;
 * - no session tickets and no session cache: a resumed session carries no client chain, so every
 *   connection is a full handshake that authenticates the device afresh.
 */
export function deviceTlsOptions(serverChainPem: string, serverKeyPem: string): TlsOptions {
  return {
    cert: serverChainPem,
    key: serverKeyPem,
    ca: [],
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
    secureOptions: constants.SSL_OP_NO_TICKET,
    sessionTimeout: 0,
    // A peer that starts a handshake and never finishes it is cut off (Node's default is 120 s).
    handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
  };
}
