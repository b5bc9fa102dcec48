import { decodePem, isPkiError, looksLikePem, parseCertificate, type Certificate } from '@fleetpki/pki';
import { ServiceError } from '../../service-error.js';

/** Bound on certificates in one upload: real CA bundles hold a handful. */
export const MAX_CERTIFICATES_PER_UPLOAD = 100;

const STRICT_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** One certificate of an upload: parsed, or the reason it could not be. */
export type UploadedItem = { readonly index: number; readonly certificate: Certificate } | { readonly index: number; readonly error: ServiceError };

/**
 * Decodes `certFile` (DESIGN §5: base64 of PEM or DER, one or more certificates) into its
 * certificates. Refuses the whole upload when it is not base64, not PEM/DER at all, or holds
 * anything but certificates (a private key pasted by mistake must never be stored); a
 * certificate block that does not parse is reported on its own so the rest of a bundle can go in.
 */
export function decodeCertFile(certFile: string): UploadedItem[] {
  const compact = certFile.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !STRICT_BASE64.test(compact)) {
    throw new ServiceError('CERT_FILE_INVALID_BASE64', 'certFile must be standard base64 (RFC 4648 §4) of a PEM or DER certificate file');
  }
  const bytes = Buffer.from(compact, 'base64');
  if (!looksLikePem(bytes)) return [parseItem(0, bytes)];
  let blocks;
  try {
    blocks = decodePem(bytes);
  } catch (error) {
    throw unparsable(error);
  }
  const certificates = blocks.filter((b) => b.label === 'CERTIFICATE' || b.label === 'TRUSTED CERTIFICATE' || b.label === 'X509 CERTIFICATE');
  const others = blocks.filter((b) => !certificates.includes(b));
  if (others.length > 0) {
    const labels = [...new Set(others.map((b) => b.label))];
    throw new ServiceError('CERT_FILE_UNPARSABLE', `certFile may hold only certificates; it also holds ${labels.join(', ')} (nothing was stored)`, { labels });
  }
  if (certificates.length === 0) throw new ServiceError('CERT_FILE_EMPTY', 'certFile holds no certificate');
  if (certificates.length > MAX_CERTIFICATES_PER_UPLOAD) {
    throw new ServiceError('CERT_FILE_TOO_MANY', `certFile holds ${certificates.length} certificates; at most ${MAX_CERTIFICATES_PER_UPLOAD} per upload`, {
      count: certificates.length,
      max: MAX_CERTIFICATES_PER_UPLOAD,
    });
  }
  return certificates.map((block, index) => parseItem(index, block.der));
}

function parseItem(index: number, der: Buffer): UploadedItem {
  try {
    return { index, certificate: parseCertificate(der) };
  } catch (error) {
    return { index, error: unparsable(error) };
  }
}

function unparsable(error: unknown): ServiceError {
  if (isPkiError(error)) {
    return new ServiceError('CERT_FILE_UNPARSABLE', `certFile is not a valid certificate: ${error.message}`, { pkiCode: error.code });
  }
  throw error;
}
