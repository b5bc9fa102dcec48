import { randomBytes } from 'node:crypto';
import { encodeCertsOnlyPkcs7 } from '@fleetpki/pki';
import { ServiceError } from '../service-error.js';

const STRICT_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * An EST request body (RFC 7030 §4.2.1): the PKCS#10 request, DER, in base64 with
 * Content-Transfer-Encoding base64 (line breaks allowed, RFC 2045 §6.8).
 */
export function decodeEstCsr(body: Buffer): Buffer {
  const compact = body.toString('latin1').replace(/[\r\n\t ]+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !STRICT_BASE64.test(compact)) {
    throw new ServiceError('CSR_INVALID_BASE64', 'an EST request carries a base64 DER PKCS#10 request (RFC 7030 §4.2.1)');
  }
  return Buffer.from(compact, 'base64');
}

/**
 * DER in base64 as an EST body: RFC 8951 §3.2 says base64 per RFC 4648, which adds no line
 * breaks, and strongSwan's client decodes nothing else (RFC 7030's examples broke lines at 64).
 */
export function estBase64(der: Buffer): string {
  return der.toString('base64');
}

/** An EST certificate response (RFC 7030 §4.1.3, §4.2.3): a certs-only PKCS#7, in base64. */
export function estCertsOnly(certificates: readonly Buffer[]): string {
  return estBase64(encodeCertsOnlyPkcs7(certificates));
}

/**
 * The serverkeygen answer (RFC 7030 §4.4.2): multipart/mixed with the private key (PKCS#8,
 * `application/pkcs8`) and the certificate (certs-only PKCS#7), each base64. The key is protected
 * by the TLS connection only; §4.4.2's encrypted forms need a key the device does not have.
 */
export function serverKeygenResponse(privateKeyPkcs8: Buffer, certificateDer: Buffer): { readonly contentType: string; readonly text: string } {
  const boundary = `fleetpki-${randomBytes(12).toString('hex')}`;
  const part = (type: string, body: string) => `--${boundary}\r\nContent-Type: ${type}\r\nContent-Transfer-Encoding: base64\r\n\r\n${body}`;
  const text = `${part('application/pkcs8', `${estBase64(privateKeyPkcs8)}\r\n`)}${part('application/pkcs7-mime; smime-type=certs-only', `${estCertsOnly([certificateDer])}\r\n`)}--${boundary}--\r\n`;
  return { contentType: `multipart/mixed; boundary=${boundary}`, text };
}

/** The EST response headers for a certs-only message. */
export const EST_CERTS_HEADERS = { 'content-type': 'application/pkcs7-mime; smime-type=certs-only', 'content-transfer-encoding': 'base64' } as const;

/** HTTP Basic credentials (RFC 7617): the password is the one-time enrollment token; the user name is not used. */
export function basicPassword(authorization: string | undefined): string | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]{1,1024})$/i.exec(authorization?.trim() ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}
