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

/** An EST certificate response (RFC 7030 §4.1.3, §4.2.3): a certs-only PKCS#7, base64 with line breaks every 64 characters. */
export function estCertsOnly(certificates: readonly Buffer[]): string {
  const base64 = encodeCertsOnlyPkcs7(certificates).toString('base64');
  return `${base64.replace(/(.{64})/g, '$1\r\n').replace(/\r\n$/, '')}\r\n`;
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
