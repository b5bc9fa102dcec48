import { fingerprintSha256, isSelfIssued, serialHex, type Certificate } from './certificate.js';
import { formatKeyAlgorithm } from './key-algorithm.js';
import { formatSubjectString } from './name.js';
import { oidName } from './oids.js';
import { signatureAlgorithmName } from './signature.js';

/**
 * The summary of a certificate that every surface shows (CLI `inspect --json`, the management
 * API's `certificateContent`), so the field names are decided once (DESIGN §5).
 */
export interface CertificateContent {
  readonly subject: string;
  readonly issuer: string;
  readonly serialNumber: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly fingerprintSha256: string;
  readonly publicKeyAlgorithm: string;
  readonly signatureAlgorithm: string;
  readonly keyUsages: readonly string[];
  readonly extendedKeyUsages: readonly string[];
  readonly isCa: boolean;
  readonly pathLen: number | null;
  readonly subjectKeyIdentifier: string | null;
  readonly authorityKeyIdentifier: string | null;
  readonly subjectAltNames: readonly string[];
  /** Subject and issuer are the same name (RFC 5280 §6.1 "self-issued"); the signature is not checked here. */
  readonly selfIssued: boolean;
}

export function certificateContent(cert: Certificate): CertificateContent {
  return {
    subject: formatSubjectString(cert.subject),
    issuer: formatSubjectString(cert.issuer),
    serialNumber: serialHex(cert),
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    fingerprintSha256: fingerprintSha256(cert.der),
    publicKeyAlgorithm: formatKeyAlgorithm(cert.publicKey.algorithm),
    signatureAlgorithm: signatureAlgorithmName(cert.signatureAlgorithm),
    keyUsages: cert.keyUsage ?? [],
    extendedKeyUsages: (cert.extKeyUsage ?? []).map(oidName),
    isCa: cert.basicConstraints?.ca === true,
    pathLen: cert.basicConstraints?.pathLen ?? null,
    subjectKeyIdentifier: cert.subjectKeyIdentifier?.toString('hex') ?? null,
    authorityKeyIdentifier: cert.authorityKeyIdentifier?.keyIdentifier?.toString('hex') ?? null,
    subjectAltNames: (cert.subjectAltNames ?? []).map((n) =>
      n.type === 'directory' ? `dirName:${formatSubjectString(n.value)}` : n.type === 'other' ? `other:${n.der.toString('hex')}` : `${n.type}:${n.value}`,
    ),
    selfIssued: isSelfIssued(cert),
  };
}
