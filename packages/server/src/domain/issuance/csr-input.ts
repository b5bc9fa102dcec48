import { decodePem, isPkiError, looksLikePem } from '@fleetpki/pki';
import { ServiceError } from '../../service-error.js';

const STRICT_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const CSR_LABELS = new Set(['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);

/**
 * The `csr` field of `POST …/pki/issue` (DESIGN §5): base64 of a PEM or DER PKCS#10; PEM
 * text itself is taken too, as people paste it. Returns the DER.
 */
export function decodeCsrField(csr: string): Buffer {
  if (csr.trimStart().startsWith('-----BEGIN')) return csrFromPem(Buffer.from(csr, 'utf8'));
  const compact = csr.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !STRICT_BASE64.test(compact)) {
    throw new ServiceError('CSR_INVALID_BASE64', 'csr must be standard base64 (RFC 4648 §4) of a PEM or DER PKCS#10 request');
  }
  const bytes = Buffer.from(compact, 'base64');
  return looksLikePem(bytes) ? csrFromPem(bytes) : bytes;
}

function csrFromPem(bytes: Buffer): Buffer {
  try {
    const blocks = decodePem(bytes);
    const [block] = blocks;
    if (blocks.length !== 1 || !block || !CSR_LABELS.has(block.label)) {
      throw new ServiceError('CSR_UNPARSABLE', 'csr must hold exactly one CERTIFICATE REQUEST block', { labels: blocks.map((b) => b.label) });
    }
    return block.der;
  } catch (error) {
    if (isPkiError(error)) throw new ServiceError('CSR_UNPARSABLE', `csr is not valid PEM: ${error.message}`, { pkiCode: error.code });
    throw error;
  }
}
