import type { KeyObject } from 'node:crypto';
import { SerialNumberSource,
  authorityKeyIdentifierExtension,
  createCsr,
  createSelfSignedCa,
  encodePem,
  issueCertificate,
  keyIdentifier,
  parseCertificate,
  parseSubjectPublicKeyInfo,
  parseSubjectString,
  prepareIssuer,
  keySigner,
  signingAlgorithmFor,
  spkiDer,
  validityForDays,
  generateKeyPair,
  type Certificate,
  type CertificateProfile,
  type KeySpec,
  type PreparedIssuer,
  type Validity,
} from '../../src/index.js';

/** The instant fixtures are issued at: fixed, since the core reads no clock. */
export const T0 = new Date('2025-01-01T00:00:00Z');
export const DAY_MS = 86_400_000;

export const KEY_SPECS: readonly { readonly name: string; readonly spec: KeySpec }[] = [
  { name: 'P-256', spec: { kind: 'ec', curve: 'P-256' } },
  { name: 'P-384', spec: { kind: 'ec', curve: 'P-384' } },
  { name: 'RSA-2048', spec: { kind: 'rsa', bits: 2048 } },
];

export const P256: KeySpec = { kind: 'ec', curve: 'P-256' };

export function newKey(spec: KeySpec = P256): KeyObject {
  return generateKeyPair(spec).privateKey;
}

/** A certificate with the key it certifies. */
export interface Issued {
  readonly der: Buffer;
  readonly cert: Certificate;
  readonly key: KeyObject;
  readonly pem: string;
}

function issued(der: Buffer, key: KeyObject): Issued {
  return { der, cert: parseCertificate(der), key, pem: encodePem('CERTIFICATE', der) };
}

export function makeRoot(options: {
  readonly subject?: string;
  readonly key?: KeyObject;
  readonly validity?: Validity;
  readonly pathLen?: number;
} = {}): Issued {
  const key = options.key ?? newKey();
  const der = createSelfSignedCa({
    subject: parseSubjectString(options.subject ?? '/CN=Test Root CA'),
    privateKey: key,
    validity: options.validity ?? validityForDays(T0, 3650),
    pathLen: options.pathLen,
  });
  return issued(der.der, key);
}

/** Issues with `issuer` through prepareIssuer, or with a forged PreparedIssuer when `forge`. */
export function makeIssued(
  issuer: Issued,
  options: {
    readonly subject: string;
    readonly profile: CertificateProfile;
    readonly key?: KeyObject;
    readonly validity?: Validity;
    readonly forge?: boolean;
  },
): Issued {
  const key = options.key ?? newKey();
  const prepared = options.forge ? forgeIssuer(issuer) : prepareIssuer(issuer.cert, issuer.key);
  const der = issueCertificate(prepared, {
    subject: parseSubjectString(options.subject),
    publicKey: parseSubjectPublicKeyInfo(spkiDer(key), 'test key'),
    validity: options.validity ?? validityForDays(T0, 365),
    profile: options.profile,
  });
  return issued(der.der, key);
}

export function makeIntermediate(issuer: Issued, subject: string, pathLen?: number, validity?: Validity): Issued {
  return makeIssued(issuer, { subject, profile: { kind: 'intermediate-ca', pathLen }, validity });
}

/** An intermediate its issuer's pathLen forbids: issuance refuses it, the validator must too. */
export function makeForbiddenIntermediate(issuer: Issued, subject: string): Issued {
  return makeIssued(issuer, { subject, profile: { kind: 'intermediate-ca' }, forge: true });
}

export function makeDevice(issuer: Issued, subject = '/O=acme/CN=dev-1', validity?: Validity): Issued {
  return makeIssued(issuer, { subject, profile: { kind: 'device' }, validity: validity ?? validityForDays(T0, 30) });
}

/**
 * A PreparedIssuer assembled from the exported low-level pieces, skipping prepareIssuer's
 * CA checks: the only way to make the library sign with a non-CA certificate, which the
 * chain-verification tests need as a bad intermediate.
 */
/**
 * A PreparedIssuer that skips prepareIssuer's checks, and whose certificate shows issuance no
 * basicConstraints, so its pathLen cannot stop a chain the validator must be tested against.
 */
export function forgeIssuer(issuer: Issued): PreparedIssuer {
  return {
    certificate: { ...issuer.cert, basicConstraints: undefined },
    privateKey: issuer.key,
    signer: keySigner(issuer.key),
    algorithm: signingAlgorithmFor(issuer.key),
    serials: new SerialNumberSource(),
    authorityKeyIdExtension: authorityKeyIdentifierExtension(
      issuer.cert.subjectKeyIdentifier ?? keyIdentifier(issuer.cert.publicKey.keyBytes),
    ),
  };
}

export function csrFor(subject: string, key: KeyObject = newKey()): { der: Buffer; key: KeyObject } {
  return { der: createCsr(parseSubjectString(subject), key), key };
}
