import { weakKeyReason } from './key-strength.js';
import type { KeyObject } from 'node:crypto';
import { keyIdentifier, profileExtensions, type CertificateProfile } from './certificate-profile.js';
import { bitStringOf, explicit, sequence, time, unsignedInteger } from './der/writer.js';
import { normalizeDnsName } from './dns-name.js';
import { PkiError } from './errors.js';
import { checkValidityAgainstIssuer, type IssuingAuthority } from './issuer.js';
import type { KeyAlgorithm } from './key-algorithm.js';
import type { DistinguishedName } from './name.js';
import { parseSubjectPublicKeyInfo, spkiDer, type PublicKeyInfo } from './public-key.js';
import { randomSerialNumber, type SerialNumberSource } from './serial-number.js';
import { keySigner, type Signer } from './signer.js';
import { assertEncodableValidity, type Validity } from './validity.js';

export interface CertificateTemplate {
  readonly subject: DistinguishedName;
  readonly publicKey: PublicKeyInfo;
  readonly validity: Validity;
  readonly profile: CertificateProfile;
  readonly serialNumber?: Buffer;
}

/** A freshly signed certificate and the serial it was given. */
export interface IssuedCertificate {
  readonly der: Buffer;
  /** Serial number content octets (positive, minimally encoded). */
  readonly serialNumber: Buffer;
}

/** The deepest pathLenConstraint we write; real hierarchies use 0–2. */
export const MAX_PATH_LEN = 32;

const VERSION_3 = explicit(0, Buffer.from([0x02, 0x01, 0x02]));

/** Keys fleetpki certifies: P-256, P-384 (P-521 for CAs) and RSA of at least 2048 bits. */
export function isAcceptableKey(algorithm: KeyAlgorithm, profile: CertificateProfile): boolean {
  if (algorithm.kind === 'ec') return algorithm.curve !== 'P-521' || profile.kind !== 'device';
  if (algorithm.kind === 'rsa') return weakKeyReason(algorithm) === undefined;
  return algorithm.kind === 'ed25519' && profile.kind !== 'device' && profile.kind !== 'server';
}

/** The lint stage: what no certificate of ours may carry, checked before anything is signed. */
function lint(template: CertificateTemplate, issuer: IssuingAuthority | undefined): void {
  assertEncodableValidity(template.validity);
  const { profile } = template;
  if (!isAcceptableKey(template.publicKey.algorithm, profile)) {
    throw new PkiError(
      'WEAK_KEY',
      profile.kind === 'device'
        ? 'device keys must be EC P-256, P-384 or RSA of at least 2048 bits'
        : 'CA keys must be EC P-256, P-384, P-521, Ed25519 or RSA of at least 2048 bits',
    );
  }
  if (profile.kind === 'server') lintServerNames(profile);
  if (profile.kind !== 'device' && profile.kind !== 'server') {
    // RFC 5280 §4.1.2.6: a CA's subject is non-empty (it is every child's issuer name).
    if (template.subject.rdns.length === 0) throw new PkiError('SUBJECT_SYNTAX', 'a CA certificate needs a non-empty subject');
    if (profile.pathLen !== undefined && (!Number.isInteger(profile.pathLen) || profile.pathLen < 0 || profile.pathLen > MAX_PATH_LEN)) {
      throw new PkiError('INVALID_ARGUMENT', `pathLen must be a whole number from 0 to ${MAX_PATH_LEN}`, { argument: 'pathLen', value: String(profile.pathLen) });
    }
  }
  if (!issuer) return;
  if (profile.kind === 'root-ca') throw new PkiError('INVALID_ARGUMENT', 'a root CA is self-signed; it has no issuer');
  checkValidityAgainstIssuer(issuer, template.validity);
  // RFC 5280 §4.2.1.9: an issuer with pathLen n allows n more CAs below it, so a new
  // intermediate must fit; signing one that cannot validate helps nobody.
  const issuerPathLen = issuer.certificate.basicConstraints?.pathLen;
  if (profile.kind === 'intermediate-ca' && issuerPathLen !== undefined) {
    if (issuerPathLen === 0) {
      throw new PkiError('ISSUER_PATH_LEN', 'the issuing CA has pathLen 0: it may sign only end-entity certificates', { issuerPathLen });
    }
    if (profile.pathLen !== undefined && profile.pathLen > issuerPathLen - 1) {
      throw new PkiError('ISSUER_PATH_LEN', `the issuing CA has pathLen ${issuerPathLen}, so an intermediate below it may have at most ${issuerPathLen - 1}`, {
        issuerPathLen,
        pathLen: profile.pathLen,
      });
    }
  }
}

/** RFC 5280 §4.2.1.6: preferred name syntax for dNSName, 4 or 16 octets for iPAddress, at least one name. */
function lintServerNames(profile: { readonly dnsNames: readonly string[]; readonly ipAddresses: readonly Buffer[] }): void {
  if (profile.dnsNames.length + profile.ipAddresses.length === 0) {
    throw new PkiError('INVALID_ARGUMENT', 'a server certificate needs at least one DNS name or IP address');
  }
  for (const name of profile.dnsNames) {
    if (normalizeDnsName(name, true) !== name) throw new PkiError('INVALID_ARGUMENT', `not a lower-case DNS name: ${JSON.stringify(name)}`);
  }
  for (const ip of profile.ipAddresses) {
    if (ip.length !== 4 && ip.length !== 16) throw new PkiError('INVALID_ARGUMENT', 'an IP address is 4 or 16 octets');
  }
}

function build(template: CertificateTemplate, issuerName: Buffer, signer: Signer, aki: Buffer | undefined, serials: SerialNumberSource | undefined): IssuedCertificate {
  const { algorithm } = signer;
  const serialNumber = template.serialNumber ?? serials?.next() ?? randomSerialNumber();
  const subjectKeyId = keyIdentifier(template.publicKey.keyBytes);
  const extensions = profileExtensions(template.profile, template.publicKey.algorithm, subjectKeyId, aki);
  const tbs = sequence([
    VERSION_3,
    unsignedInteger(serialNumber),
    algorithm.identifier,
    issuerName,
    sequence([time(template.validity.notBefore), time(template.validity.notAfter)]),
    template.subject.der,
    template.publicKey.der,
    explicit(3, sequence(extensions)),
  ]);
  const signature = signer.sign(tbs);
  return { der: sequence([tbs, algorithm.identifier, bitStringOf(signature)]), serialNumber };
}

/** Signs a certificate with a prepared CA: the "template → lint → sign" part of the pipeline. */
export function issueCertificate(issuer: IssuingAuthority, template: CertificateTemplate): IssuedCertificate {
  lint(template, issuer);
  return build(template, issuer.certificate.subject.der, issuer.signer, issuer.authorityKeyIdExtension, issuer.serials);
}

/** A self-signed root CA (`openssl req -x509`). */
export function createSelfSignedCa(options: {
  readonly subject: DistinguishedName;
  readonly privateKey: KeyObject;
  readonly validity: Validity;
  readonly pathLen?: number | undefined;
}): IssuedCertificate {
  const publicKey = parseSubjectPublicKeyInfo(spkiDer(options.privateKey), 'CA public key');
  const template: CertificateTemplate = {
    subject: options.subject,
    publicKey,
    validity: options.validity,
    profile: { kind: 'root-ca', pathLen: options.pathLen },
  };
  lint(template, undefined);
  return build(template, options.subject.der, keySigner(options.privateKey), undefined, undefined);
}

/** Issues a device certificate straight from a public key (the factory line: no CSR round trip). */
export function issueDeviceCertificate(
  issuer: IssuingAuthority,
  subject: DistinguishedName,
  publicKey: KeyObject | PublicKeyInfo,
  validity: Validity,
): IssuedCertificate {
  const info = 'der' in publicKey ? publicKey : parseSubjectPublicKeyInfo(spkiDer(publicKey), 'device public key');
  return issueCertificate(issuer, { subject, publicKey: info, validity, profile: { kind: 'device' } });
}
