import { isCaCertificate, isPkiError, isSelfIssued, verifySignature, type Certificate } from '@fleetpki/pki';
import { ServiceError } from '../../service-error.js';

export type CertType = 'root' | 'intermediate';

/** A CA that expires this soon is still accepted, with a warning, so the operator can plan the rollover. */
export const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface UploadWarning {
  readonly code: 'CA_EXPIRES_SOON';
  readonly message: string;
  readonly notAfter: string;
  readonly daysLeft: number;
}

/**
 * The checks a certificate passes before a project trusts it as a CA (issue 4, DESIGN §3):
 * it is a CA (RFC 5280 §4.2.1.9 cA=TRUE; §4.2.1.3 keyCertSign when keyUsage is present), it is
 * within its validity now, and a `root` is self-signed with a valid signature. Returns the
 * certType (detected when not given: self-issued means root) and any warnings.
 */
export function checkCaUpload(certificate: Certificate, requested: CertType | undefined, now: Date): { certType: CertType; warnings: UploadWarning[] } {
  if (!isCaCertificate(certificate)) {
    throw new ServiceError('CA_NOT_A_CA', 'this is not a CA certificate (basicConstraints cA is not TRUE): upload the CA that signs your devices, not a device certificate');
  }
  if (certificate.keyUsage && !certificate.keyUsage.includes('keyCertSign')) {
    throw new ServiceError('CA_KEY_CERT_SIGN_MISSING', 'this CA certificate has a keyUsage without keyCertSign, so it may not sign certificates (RFC 5280 §4.2.1.3)');
  }
  if (now.getTime() > certificate.notAfter.getTime()) {
    throw new ServiceError('CA_EXPIRED', `this CA certificate expired at ${certificate.notAfter.toISOString()}`, { notAfter: certificate.notAfter.toISOString() });
  }
  if (now.getTime() < certificate.notBefore.getTime()) {
    throw new ServiceError('CA_NOT_YET_VALID', `this CA certificate is valid only from ${certificate.notBefore.toISOString()}`, { notBefore: certificate.notBefore.toISOString() });
  }
  const selfIssued = isSelfIssued(certificate);
  const certType = requested ?? (selfIssued ? 'root' : 'intermediate');
  if (certType === 'root') {
    if (!selfIssued) {
      throw new ServiceError('CA_ROOT_NOT_SELF_SIGNED', 'certType is root but the certificate is not self-signed (its issuer differs from its subject); upload it as intermediate');
    }
    if (!selfSignatureVerifies(certificate)) {
      throw new ServiceError('CA_ROOT_SIGNATURE_INVALID', 'certType is root but the self-signature does not verify with the certificate’s own key');
    }
  }
  const warnings: UploadWarning[] = [];
  const daysLeft = Math.floor((certificate.notAfter.getTime() - now.getTime()) / DAY_MS);
  if (daysLeft < EXPIRY_WARNING_DAYS) {
    warnings.push({
      code: 'CA_EXPIRES_SOON',
      message: `this CA certificate expires in ${daysLeft} days (${certificate.notAfter.toISOString()}); devices under it will stop connecting then`,
      notAfter: certificate.notAfter.toISOString(),
      daysLeft,
    });
  }
  return { certType, warnings };
}

function selfSignatureVerifies(certificate: Certificate): boolean {
  try {
    return verifySignature(certificate.tbsDer, certificate.signature, certificate.signatureAlgorithm, certificate.publicKey);
  } catch (error) {
    if (isPkiError(error)) return false; // SHA-1 or an algorithm we do not implement: not a signature we can trust
    throw error;
  }
}
