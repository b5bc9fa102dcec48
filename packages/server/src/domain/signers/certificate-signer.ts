import { issueCertificate, type Certificate, type CertificateProfile, type DistinguishedName, type IssuingAuthority, type PublicKeyInfo, type Validity } from '@fleetpki/pki';

/** What the pipeline asks a signer for: every field already decided by template and policy. */
export interface SignRequest {
  readonly subject: DistinguishedName;
  readonly publicKey: PublicKeyInfo;
  readonly validity: Validity;
  /** The CSR as received, for signers that take a CSR rather than a template (cfssl); absent for a CRMF request. */
  readonly csrDer: Buffer | undefined;
  readonly profile: CertificateProfile;
}

/**
 * The one interface issuance signs through (issue 7): a key sealed under the master key, a
 * key in a PKCS#11 token, or a remote signer such as cfssl. Signers return DER; the pipeline
 * checks what remote ones return before anyone sees it.
 */
export interface CertificateSigner {
  readonly kind: 'sealed' | 'pkcs11' | 'remote';
  /** The CA certificate issued certificates chain to. */
  readonly caCertificate: Certificate;
  sign(request: SignRequest): Promise<SignedCertificate>;
  /**
   * The CA's own signing authority, for what it signs besides certificates (CRLs, OCSP
   * responses); undefined for a remote signer, which signs certificates only.
   */
  readonly authority: IssuingAuthority | undefined;
}

/** What a signer returns: the certificate, and its serial when the signer chose it here (local signers). */
export interface SignedCertificate {
  readonly der: Buffer;
  readonly serialNumber?: Buffer | undefined;
}

/** A signer whose key this process can use, in memory or through a token: pki's own issuance builds and signs. */
export function localCertificateSigner(kind: 'sealed' | 'pkcs11', authority: IssuingAuthority): CertificateSigner {
  return {
    kind,
    caCertificate: authority.certificate,
    authority,
    sign: (request) => Promise.resolve(issueCertificate(authority, { subject: request.subject, publicKey: request.publicKey, validity: request.validity, profile: request.profile })),
  };
}
