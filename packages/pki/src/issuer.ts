import { SerialNumberSource } from './serial-number.js';
import type { KeyObject } from 'node:crypto';
import { isCaCertificate, type Certificate } from './certificate.js';
import { authorityKeyIdentifierExtension, keyIdentifier } from './certificate-profile.js';
import { PkiError } from './errors.js';
import { spkiDer, type PublicKeyInfo } from './public-key.js';
import { signingAlgorithmFor, signWith, verifySignature, type SigningAlgorithm } from './signature.js';
import { keySigner, type Signer } from './signer.js';
import type { Validity } from './validity.js';

/** A CA certificate and what signs for it, checked once and pre-encoded for fast repeated issuance. */
export interface IssuingAuthority {
  readonly certificate: Certificate;
  readonly signer: Signer;
  readonly authorityKeyIdExtension: Buffer;
  /** Where this issuer's serial numbers come from (a pooled CSPRNG page the issuer holds). */
  readonly serials: SerialNumberSource;
}

/** An issuing authority whose key is in memory (the offline CLI, the platform root). */
export interface PreparedIssuer extends IssuingAuthority {
  readonly privateKey: KeyObject;
  readonly algorithm: SigningAlgorithm;
}

/** Whether a private key is the one a certificate's public key belongs to. */
export function keyMatchesCertificate(privateKey: KeyObject, certificate: { readonly publicKey: PublicKeyInfo }): boolean {
  if (spkiDer(privateKey).equals(certificate.publicKey.der)) return true;
  // The same key can be encoded differently (a compressed EC point); a signature decides.
  try {
    const probe = Buffer.from('fleetpki key match probe');
    const algorithm = signingAlgorithmFor(privateKey);
    const signature = signWith(probe, privateKey, algorithm);
    return verifySignature(probe, signature, { oid: algorithm.oid, parameters: undefined, der: algorithm.identifier }, certificate.publicKey);
  } catch {
    return false;
  }
}

/**
 * Checks a CA certificate and key before anything is signed with them: the certificate must
 * be a CA (basicConstraints cA, keyCertSign when keyUsage is present, RFC 5280 §4.2.1.3/9),
 * and the key must be its key.
 */
export function prepareIssuer(certificate: Certificate, privateKey: KeyObject): PreparedIssuer {
  assertIssuingCa(certificate);
  if (!keyMatchesCertificate(privateKey, certificate)) {
    throw new PkiError('CA_KEY_MISMATCH', 'the CA private key does not belong to the CA certificate');
  }
  const signer = keySigner(privateKey);
  return { certificate, signer, privateKey, algorithm: signer.algorithm, authorityKeyIdExtension: authorityKeyIdExtensionOf(certificate), serials: new SerialNumberSource() };
}

/**
 * The same checks for a key the process cannot hold (a PKCS#11 token): the signer must sign
 * for the certificate's public key, proven by one probe signature that the certificate's key
 * verifies.
 */
export function prepareSignerIssuer(certificate: Certificate, signer: Signer): IssuingAuthority {
  assertIssuingCa(certificate);
  const probe = Buffer.from('fleetpki signer match probe');
  let matches: boolean;
  try {
    const algorithm = { oid: signer.algorithm.oid, parameters: undefined, der: signer.algorithm.identifier };
    matches = verifySignature(probe, signer.sign(probe), algorithm, certificate.publicKey);
  } catch {
    matches = false;
  }
  if (!matches) throw new PkiError('CA_KEY_MISMATCH', 'the signer does not sign for the CA certificate’s public key');
  return { certificate, signer, authorityKeyIdExtension: authorityKeyIdExtensionOf(certificate), serials: new SerialNumberSource() };
}

function assertIssuingCa(certificate: Certificate): void {
  if (!isCaCertificate(certificate)) {
    throw new PkiError('ISSUER_NOT_CA', 'the issuer certificate is not a CA (basicConstraints cA is not TRUE)');
  }
  if (certificate.keyUsage && !certificate.keyUsage.includes('keyCertSign')) {
    throw new PkiError('ISSUER_KEY_USAGE', 'the issuer certificate’s keyUsage does not allow keyCertSign');
  }
}

function authorityKeyIdExtensionOf(certificate: Certificate): Buffer {
  return authorityKeyIdentifierExtension(certificate.subjectKeyIdentifier ?? keyIdentifier(certificate.publicKey.keyBytes));
}

/**
 * The issuer's own lifetime bounds what it can sign: a CA outside its validity signs nothing,
 * and a certificate that would outlive its issuer stops validating early, so it is refused
 * rather than signed (RFC 5280 §6.1.3 (a)(2) judges every certificate of a path at one time).
 */
/** The one rule, for every issuer (a local key, a remote signer's answer, the server's pipeline): a certificate must not outlive its CA. */
export function endsAfterIssuer(issuerCertificate: Certificate, validity: Pick<Validity, 'notAfter'>): boolean {
  return validity.notAfter.getTime() > issuerCertificate.notAfter.getTime();
}

export function checkValidityAgainstIssuer(issuer: IssuingAuthority, validity: Validity): void {
  const ca = issuer.certificate;
  if (ca.notAfter.getTime() < validity.notBefore.getTime()) {
    throw new PkiError('ISSUER_EXPIRED', `the issuing CA expired at ${ca.notAfter.toISOString()}`, {
      notAfter: ca.notAfter.toISOString(),
      at: validity.notBefore.toISOString(),
    });
  }
  if (ca.notBefore.getTime() > validity.notBefore.getTime()) {
    throw new PkiError('ISSUER_NOT_YET_VALID', `the issuing CA is not valid before ${ca.notBefore.toISOString()}`, {
      notBefore: ca.notBefore.toISOString(),
      at: validity.notBefore.toISOString(),
    });
  }
  if (endsAfterIssuer(ca, validity)) {
    throw new PkiError(
      'INVALID_VALIDITY',
      `the requested validity ends ${validity.notAfter.toISOString()}, after the issuing CA expires (${ca.notAfter.toISOString()})`,
      { notAfter: validity.notAfter.toISOString(), issuerNotAfter: ca.notAfter.toISOString() },
    );
  }
}
