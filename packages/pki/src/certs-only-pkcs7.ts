import { constructed, explicit, oid, sequence, setOf, smallInteger } from './der/writer.js';
import { PkiError } from './errors.js';

const SIGNED_DATA = '1.2.840.113549.1.7.2';
const DATA = '1.2.840.113549.1.7.1';

/** Bound on certificates in one bundle: EST answers hold a leaf or a CA chain. */
export const MAX_CERTS_ONLY_CERTIFICATES = 16;

/**
 * A "certs-only" CMS message: a degenerate SignedData with no signers, only certificates
 * (RFC 5652 §5.1, the form RFC 7030 §4.1.3 and §4.2.3 prescribe for EST responses and
 * `openssl pkcs7 -print_certs` reads). The certificates set is sorted by encoding, as DER's
 * SET OF requires (X.690 §11.6).
 */
export function encodeCertsOnlyPkcs7(certificates: readonly Buffer[]): Buffer {
  if (certificates.length === 0 || certificates.length > MAX_CERTS_ONLY_CERTIFICATES) {
    throw new PkiError('INVALID_ARGUMENT', `a certs-only message holds 1 to ${MAX_CERTS_ONLY_CERTIFICATES} certificates`);
  }
  const signedData = sequence([
    smallInteger(1), // CMSVersion 1: no attribute certificates, eContentType id-data (RFC 5652 §5.1)
    setOf([]), // digestAlgorithms: no signers, none
    sequence([oid(DATA)]), // encapContentInfo with no content
    constructed(0xa0, [...certificates].sort(Buffer.compare)), // certificates [0] IMPLICIT SET OF
    setOf([]), // signerInfos: none
  ]);
  return sequence([oid(SIGNED_DATA), explicit(0, signedData)]);
}

