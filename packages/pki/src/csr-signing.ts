import type { CertificateProfile } from './certificate-profile.js';
import { assertCsrSignature, parseCsr, type CertificationRequest } from './csr.js';
import { deviceIdentityFromSubject, type DeviceIdentity } from './identity.js';
import { issueCertificate, type IssuedCertificate } from './issuance.js';
import type { IssuingAuthority } from './issuer.js';
import type { Validity } from './validity.js';

export interface CsrSigningOptions {
  readonly validity: Validity;
  /**
   * The device-identity rules of DESIGN §3 on the CSR's subject; `project` also pins O.
   * `false` signs any subject (the CLI's `--no-device-policy`).
   */
  readonly devicePolicy: { readonly project?: string | undefined } | false;
  readonly profile?: CertificateProfile;
}

export interface CsrSigningResult extends IssuedCertificate {
  readonly csr: CertificationRequest;
  readonly identity: DeviceIdentity | undefined;
}

/**
 * The issuance pipeline for a CSR (DESIGN §7): proof of possession (the CSR's signature) →
 * identity policy on the subject → template from the profile → lint → sign. Extensions the
 * CSR asks for are not copied: the profile decides, as `openssl x509 -req` does by default.
 */
export async function signCsr(issuer: IssuingAuthority, csrDer: Buffer, options: CsrSigningOptions): Promise<CsrSigningResult> {
  const csr = parseCsr(csrDer);
  await assertCsrSignature(csr);
  const identity = options.devicePolicy === false ? undefined : deviceIdentityFromSubject(csr.subject, options.devicePolicy.project);
  const issued = issueCertificate(issuer, {
    subject: csr.subject,
    publicKey: csr.publicKey,
    validity: options.validity,
    profile: options.profile ?? { kind: 'device' },
  });
  return { ...issued, csr, identity };
}
