import type { KeyObject } from 'node:crypto';
import { isCaCertificate, type Certificate } from './certificate.js';
import {
  authorityKeyIdentifierExtension,
  keyIdentifier,
  profileExtensions,
  type CertificateProfile,
} from './certificate-profile.js';
import { parseCsr, verifyCsrSignature, type CertificationRequest } from './csr.js';
import { bitStringOf, explicit, sequence, time, unsignedInteger } from './der/writer.js';
import { PkiError } from './errors.js';
import { deviceIdentityFromSubject, type DeviceIdentity } from './identity.js';
import { parseSubjectPublicKeyInfo, spkiDer, type KeyAlgorithm, type PublicKeyInfo } from './keys.js';
import type { DistinguishedName } from './name.js';
import { randomSerialNumber } from './serial-number.js';
import { signingAlgorithmFor, signWith, verifySignature, type SigningAlgorithm } from './signature.js';
import { assertEncodableValidity, type Validity } from './validity.js';

/** A CA certificate and its key, checked once and pre-encoded for fast repeated issuance. */
export interface PreparedIssuer {
  readonly certificate: Certificate;
  readonly privateKey: KeyObject;
  readonly algorithm: SigningAlgorithm;
  readonly authorityKeyIdExtension: Buffer;
}

const VERSION_3 = explicit(0, Buffer.from([0x02, 0x01, 0x02]));

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
  if (!isCaCertificate(certificate)) {
    throw new PkiError('ISSUER_NOT_CA', 'the issuer certificate is not a CA (basicConstraints cA is not TRUE)');
  }
  if (certificate.keyUsage && !certificate.keyUsage.includes('keyCertSign')) {
    throw new PkiError('ISSUER_KEY_USAGE', 'the issuer certificate’s keyUsage does not allow keyCertSign');
  }
  if (!keyMatchesCertificate(privateKey, certificate)) {
    throw new PkiError('CA_KEY_MISMATCH', 'the CA private key does not belong to the CA certificate');
  }
  const keyId = certificate.subjectKeyIdentifier ?? keyIdentifier(certificate.publicKey.keyBytes);
  return {
    certificate,
    privateKey,
    algorithm: signingAlgorithmFor(privateKey),
    authorityKeyIdExtension: authorityKeyIdentifierExtension(keyId),
  };
}

export interface CertificateTemplate {
  readonly subject: DistinguishedName | Buffer;
  readonly publicKey: PublicKeyInfo;
  readonly validity: Validity;
  readonly profile: CertificateProfile;
  readonly serialNumber?: Buffer;
}

function nameDer(name: DistinguishedName | Buffer): Buffer {
  return Buffer.isBuffer(name) ? name : name.der;
}

/** Device keys accepted by default (DESIGN §3 via the validator issue): P-256, P-384, RSA ≥ 2048. */
export function isAcceptableDeviceKey(algorithm: KeyAlgorithm): boolean {
  if (algorithm.kind === 'ec') return algorithm.curve === 'P-256' || algorithm.curve === 'P-384';
  if (algorithm.kind === 'rsa') return algorithm.bits >= 2048;
  return false;
}

/**
 * The issuer's own lifetime bounds what it can sign: an expired CA signs nothing, and a
 * certificate that would outlive its issuer stops validating early, so it is refused rather
 * than signed (RFC 5280 §6.1.3 (a)(2) judges every certificate of the path at one time).
 */
export function checkValidityAgainstIssuer(issuer: PreparedIssuer, validity: Validity): void {
  const ca = issuer.certificate;
  if (ca.notAfter.getTime() < validity.notBefore.getTime()) {
    throw new PkiError('CERT_EXPIRED', `the issuing CA expired at ${ca.notAfter.toISOString()}`, {
      notAfter: ca.notAfter.toISOString(),
    });
  }
  if (validity.notAfter.getTime() > ca.notAfter.getTime()) {
    throw new PkiError(
      'INVALID_VALIDITY',
      `the requested validity ends ${validity.notAfter.toISOString()}, after the issuing CA expires (${ca.notAfter.toISOString()})`,
      { notAfter: validity.notAfter.toISOString(), issuerNotAfter: ca.notAfter.toISOString() },
    );
  }
}

/** The deepest pathLenConstraint we write; real hierarchies use 0–2. */
export const MAX_PATH_LEN = 32;

function lint(template: CertificateTemplate, issuer: PreparedIssuer | undefined): void {
  assertEncodableValidity(template.validity);
  const { profile } = template;
  if (profile.kind !== 'device' && profile.pathLen !== undefined) {
    if (!Number.isInteger(profile.pathLen) || profile.pathLen < 0 || profile.pathLen > MAX_PATH_LEN) {
      throw new PkiError('INVALID_ARGUMENT', `pathLen must be a whole number from 0 to ${MAX_PATH_LEN}`, { pathLen: profile.pathLen });
    }
  }
  if (profile.kind === 'device' && !isAcceptableDeviceKey(template.publicKey.algorithm)) {
    throw new PkiError('WEAK_KEY', 'device keys must be EC P-256, P-384 or RSA of at least 2048 bits');
  }
  if (issuer) {
    if (profile.kind === 'root-ca') throw new PkiError('INVALID_ARGUMENT', 'a root CA is self-signed; it has no issuer');
    checkValidityAgainstIssuer(issuer, template.validity);
  }
}

function build(template: CertificateTemplate, issuerName: Buffer, signer: KeyObject, algorithm: SigningAlgorithm, aki: Buffer | undefined): Buffer {
  const serial = template.serialNumber ?? randomSerialNumber();
  const subjectKeyId = keyIdentifier(template.publicKey.keyBytes);
  const extensions = profileExtensions(template.profile, template.publicKey.algorithm, subjectKeyId, aki);
  const tbs = sequence([
    VERSION_3,
    unsignedInteger(serial),
    algorithm.identifier,
    issuerName,
    sequence([time(template.validity.notBefore), time(template.validity.notAfter)]),
    nameDer(template.subject),
    template.publicKey.der,
    explicit(3, sequence(extensions)),
  ]);
  const signature = signWith(tbs, signer, algorithm);
  return sequence([tbs, algorithm.identifier, bitStringOf(signature)]);
}

/** Signs a certificate with a prepared CA: the "template → lint → sign" part of the pipeline. */
export function issueCertificate(issuer: PreparedIssuer, template: CertificateTemplate): Buffer {
  lint(template, issuer);
  return build(template, issuer.certificate.subject.der, issuer.privateKey, issuer.algorithm, issuer.authorityKeyIdExtension);
}

/** A self-signed root CA (`openssl req -x509`). */
export function createSelfSignedCa(options: {
  readonly subject: DistinguishedName;
  readonly privateKey: KeyObject;
  readonly validity: Validity;
  readonly pathLen?: number | undefined;
}): Buffer {
  const publicKey = parseSubjectPublicKeyInfo(spkiDer(options.privateKey), 'CA public key');
  const template: CertificateTemplate = {
    subject: options.subject,
    publicKey,
    validity: options.validity,
    profile: { kind: 'root-ca', pathLen: options.pathLen },
  };
  lint(template, undefined);
  return build(template, options.subject.der, options.privateKey, signingAlgorithmFor(options.privateKey), undefined);
}

export interface CsrSigningOptions {
  readonly validity: Validity;
  /**
   * The device-identity rules of DESIGN §3 on the CSR's subject; `project` also pins O.
   * `false` signs any subject (the CLI's `--no-device-policy`).
   */
  readonly devicePolicy: { readonly project?: string | undefined } | false;
  readonly profile?: CertificateProfile;
}

export interface CsrSigningResult {
  readonly der: Buffer;
  readonly csr: CertificationRequest;
  readonly identity: DeviceIdentity | undefined;
}

/**
 * The issuance pipeline for a CSR (DESIGN §7): proof of possession (the CSR's signature) →
 * template from the profile → identity policy → lint → sign.
 */
export async function signCsr(issuer: PreparedIssuer, csrDer: Buffer, options: CsrSigningOptions): Promise<CsrSigningResult> {
  const csr = parseCsr(csrDer);
  if (!(await verifyCsrSignature(csr))) {
    throw new PkiError('CSR_SIGNATURE_INVALID', 'the CSR’s signature does not verify: it was altered or not signed by its key');
  }
  const template: CertificateTemplate = {
    subject: csr.subject,
    publicKey: csr.publicKey,
    validity: options.validity,
    profile: options.profile ?? { kind: 'device' },
  };
  const identity = options.devicePolicy === false ? undefined : deviceIdentityFromSubject(csr.subject, options.devicePolicy.project);
  return { der: issueCertificate(issuer, template), csr, identity };
}

/** Issues a device certificate straight from a key pair (the factory line: no CSR round trip). */
export function issueDeviceCertificate(
  issuer: PreparedIssuer,
  subject: DistinguishedName,
  publicKey: KeyObject | PublicKeyInfo,
  validity: Validity,
): Buffer {
  const info = 'der' in publicKey ? publicKey : parseSubjectPublicKeyInfo(spkiDer(publicKey), 'device public key');
  return issueCertificate(issuer, { subject, publicKey: info, validity, profile: { kind: 'device' } });
}
