import { decodePem, isPkiError } from '@fleetpki/pki';
import { MAX_PEER_CHAIN } from '../domain/identity/index.js';
import { ServiceError } from '../service-error.js';

/** nginx's `$ssl_client_escaped_cert`: the client's leaf as URL-escaped PEM. */
export const NGINX_CERT_HEADER = 'x-ssl-client-cert';
/** Traefik's passTLSClientCert (`pem: true`): base64 DER without PEM armour, comma-separated, leaf first; URL-escaped before Traefik v3. */
export const TRAEFIK_CERT_HEADER = 'x-forwarded-tls-client-cert';

export type ForwardAuthCertHeader = typeof NGINX_CERT_HEADER | typeof TRAEFIK_CERT_HEADER;
export const FORWARD_AUTH_CERT_HEADERS: readonly ForwardAuthCertHeader[] = [NGINX_CERT_HEADER, TRAEFIK_CERT_HEADER];

/**
 * Bound on the certificate header's value. A device chain of MAX_PEER_CHAIN RSA-4096
 * certificates is about 20 KiB escaped; nginx sends only the leaf (1–2 KiB).
 */
export const MAX_FORWARD_AUTH_HEADER_BYTES = 32 * 1024;

/** Why a header did not decode: a closed set the problem document carries as `reason`. */
export type ForwardAuthHeaderFault = 'url-escaping' | 'pem' | 'base64' | 'der' | 'too-many-certificates' | 'repeated';

const STRICT_BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function invalid(header: ForwardAuthCertHeader, reason: ForwardAuthHeaderFault, message: string): ServiceError<'FORWARD_AUTH_HEADER_INVALID'> {
  return new ServiceError('FORWARD_AUTH_HEADER_INVALID', `${header}: ${message}`, { header, reason });
}

/**
 * Percent-decoding (RFC 3986 §2.1), never '+' as a space: nginx escapes '+' as %2B, and
 * Traefik v3 sends base64's '+' as is.
 */
function unescape(header: ForwardAuthCertHeader, value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    throw invalid(header, 'url-escaping', 'the value is not validly URL-escaped');
  }
}

/**
 * Whether `der` is one whole DER SEQUENCE (X.690 §8.1: tag 0x30, a definite length that covers
 * exactly the rest), the outer shape of every X.509 certificate. The full parse is the identity
 * service's (CERT_UNPARSABLE, audited); this only tells a header that carries no certificate at
 * all, a proxy's fault, from a device's bad certificate.
 */
function isOneDerSequence(der: Buffer): boolean {
  if (der.length < 2 || der[0] !== 0x30) return false;
  const first = der[1] as number;
  if (first < 0x80) return 2 + first === der.length;
  const octets = first & 0x7f;
  if (octets === 0 || octets > 4 || der.length < 2 + octets) return false;
  let length = 0;
  for (let i = 0; i < octets; i++) length = length * 256 + (der[2 + i] as number);
  return 2 + octets + length === der.length;
}

/**
 * The client's certificate chain (leaf first, DER) as a TLS-terminating proxy forwarded it in
 * `header`. Undefined or empty: the device sent no certificate (the proxy then sends no header,
 * or an empty one). Anything else that does not decode is the proxy's or a forger's, refused
 * with FORWARD_AUTH_HEADER_INVALID / _TOO_LARGE, never passed on.
 */
export function chainFromHeader(header: ForwardAuthCertHeader, raw: string | undefined): Buffer[] {
  if (raw === undefined) return [];
  if (raw.length > MAX_FORWARD_AUTH_HEADER_BYTES) {
    throw new ServiceError('FORWARD_AUTH_HEADER_TOO_LARGE', `${header} is longer than ${MAX_FORWARD_AUTH_HEADER_BYTES} bytes`, { header, maxBytes: MAX_FORWARD_AUTH_HEADER_BYTES });
  }
  const value = raw.trim();
  if (value === '') return [];
  const chain = header === NGINX_CERT_HEADER ? fromEscapedPem(header, value) : fromTraefikList(header, value);
  if (chain.length > MAX_PEER_CHAIN) throw invalid(header, 'too-many-certificates', `more than ${MAX_PEER_CHAIN} certificates`);
  for (const der of chain) if (!isOneDerSequence(der)) throw invalid(header, 'der', 'a block is not a DER certificate');
  return chain;
}

function fromEscapedPem(header: ForwardAuthCertHeader, value: string): Buffer[] {
  const text = unescape(header, value);
  let blocks;
  try {
    blocks = decodePem(text);
  } catch (error) {
    if (!isPkiError(error)) throw error;
    throw invalid(header, 'pem', `not PEM certificates (${error.code})`);
  }
  if (blocks.some((block) => block.label !== 'CERTIFICATE')) throw invalid(header, 'pem', 'a PEM block is not a CERTIFICATE');
  return blocks.map((block) => block.der);
}

function fromTraefikList(header: ForwardAuthCertHeader, value: string): Buffer[] {
  // Traefik before v3 escaped each certificate and joined them with a plain ','; v3 escapes
  // nothing. Splitting first reads both, as base64 holds no ','.
  return value.split(',').map((entry) => {
    const text = unescape(header, entry.trim());
    if (!STRICT_BASE64.test(text) || text.length % 4 !== 0) throw invalid(header, 'base64', 'an entry is not base64');
    return Buffer.from(text, 'base64');
  });
}
