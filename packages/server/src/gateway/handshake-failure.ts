import type { TLSSocket } from 'node:tls';
import type { DeviceAuthenticator, DeviceTransport } from '../domain/identity/index.js';
import type { Logger } from '../logger.js';
import { peerChain } from './peer-chain.js';

/**
 * The error codes of a signature that does not verify in a server's handshake — the only peer
 * signature a server checks is the client's CertificateVerify, so this is a client without the
 * certificate's key. OpenSSL 3.0 reports SSL_R_BAD_SIGNATURE; 3.2 and later (Node 24) report the
 * provider's own verify failure, which ends up last in the error queue.
 */
const SIGNATURE_FAILURES = new Set(['ERR_SSL_BAD_SIGNATURE', 'ERR_SSL_PROVIDER_SIGNATURE_FAILURE']);

/**
 * The 'tlsClientError' listener of a device transport: logs the failed handshake, ends the
 * socket (with a listener, node:tls leaves it open, and a peer that never finishes would stay
 * forever) and, when the client had sent a certificate, reports the failure as facts to the
 * identity service, which decides its code. The chain is still readable here.
 */
export function tlsClientErrorHandler(
  authenticator: DeviceAuthenticator,
  transport: DeviceTransport,
  logger: Logger,
): (error: Error & { code?: string }, socket: TLSSocket) => void {
  return (error, socket) => {
    logger.log('info', 'device TLS handshake failed', { transport, error: error.message, remoteAddress: socket.remoteAddress ?? null });
    const chain = peerChain(socket);
    socket.destroy();
    if (chain.length === 0) return;
    authenticator
      .recordHandshakeFailure({ chain, signatureFailed: error.code !== undefined && SIGNATURE_FAILURES.has(error.code), reason: error.message.trim() }, { transport, remoteAddress: socket.remoteAddress })
      .catch((auditError: unknown) => logger.log('error', 'cannot audit a failed handshake', { error: (auditError as Error).message }));
  };
}
