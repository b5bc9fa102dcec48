import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { MAX_PEER_CHAIN } from '../domain/device-authentication.js';

/**
 * The certificates the client sent in its handshake, leaf first. Read with
 * getPeerCertificate(true) because Node 20's getPeerX509Certificate() loses the sent
 * intermediates after its first call. The gateway's trust store is empty (`ca: []`), so OpenSSL
 * cannot complete the chain from certificates the client did not send; the walk stops at a
 * self-issued certificate, at a repeat, or at the bound.
 */
export function peerChain(socket: TLSSocket): Buffer[] {
  const first = socket.getPeerCertificate(true) as DetailedPeerCertificate | Record<string, never>;
  if (!first || !('raw' in first) || !first.raw) return [];
  const chain: Buffer[] = [];
  const seen = new Set<string>();
  let current: DetailedPeerCertificate | undefined = first as DetailedPeerCertificate;
  while (current?.raw && chain.length < MAX_PEER_CHAIN) {
    const key = current.raw.toString('base64');
    if (seen.has(key)) break;
    seen.add(key);
    chain.push(current.raw);
    current = current.issuerCertificate;
  }
  return chain;
}
