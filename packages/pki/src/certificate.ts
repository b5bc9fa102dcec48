import { createHash } from 'node:crypto';
import { parseAlgorithmIdentifier, type AlgorithmIdentifier } from './algorithm-identifier.js';
import { checkInnerAlgorithm, parseSignedObject } from './signed-object.js';
import type { DerReader} from './der/reader.js';
import { integerBytes, integerSmall, readerOver, readSingle, timeValue } from './der/reader.js';
import { Tag } from './der/tags.js';
import { PkiError } from './errors.js';
import {
  decodeAuthorityKeyIdentifier,
  decodeBasicConstraints,
  decodeExtKeyUsage,
  decodeGeneralNames,
  decodeKeyUsage,
  decodeSubjectKeyIdentifier,
  parseTaggedExtensions,
  type AuthorityKeyIdentifier,
  type BasicConstraints,
  type Extension,
  type GeneralName,
  type KeyUsageName,
} from './extensions.js';
import { parseSubjectPublicKeyInfo, type PublicKeyInfo } from './public-key.js';
import { parseName, type DistinguishedName } from './name.js';
import { Oid } from './oids.js';

/** A parsed X.509 v1–v3 certificate (RFC 5280 §4.1) with its well-known extensions decoded. */
export interface Certificate {
  readonly der: Buffer;
  readonly tbsDer: Buffer;
  readonly version: 1 | 2 | 3;
  /** Serial number content octets, two's complement as encoded. */
  readonly serialNumber: Buffer;
  readonly signatureAlgorithm: AlgorithmIdentifier;
  readonly issuer: DistinguishedName;
  readonly subject: DistinguishedName;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly publicKey: PublicKeyInfo;
  readonly extensions: readonly Extension[];
  readonly signature: Buffer;
  readonly basicConstraints: BasicConstraints | undefined;
  readonly keyUsage: readonly KeyUsageName[] | undefined;
  readonly extKeyUsage: readonly string[] | undefined;
  readonly subjectKeyIdentifier: Buffer | undefined;
  readonly authorityKeyIdentifier: AuthorityKeyIdentifier | undefined;
  readonly subjectAltNames: readonly GeneralName[] | undefined;
}

export function parseCertificate(der: Buffer): Certificate {
  const what = 'certificate';
  const { outer, tbs: tbsEl, signatureAlgorithm, signature } = parseSignedObject(der, what, 'tbsCertificate');

  const tbs = readerOver(tbsEl, 'tbsCertificate');
  let version: 1 | 2 | 3 = 1;
  const versionEl = tbs.optional(0xa0);
  if (versionEl) {
    const v = integerSmall(readSingle(versionEl.contents, 'version'), 'version');
    // v1 is the DEFAULT and so must be omitted in DER (X.690 §11.5).
    if (v !== 1 && v !== 2) throw new PkiError('DER_MALFORMED', `certificate: bad version ${v}`, { what });
    version = (v + 1) as 2 | 3;
  }
  const serialNumber = integerBytes(tbs.read(), 'serialNumber');
  const innerAlgorithm = parseAlgorithmIdentifier(tbs.expect(Tag.SEQUENCE, 'signature'), what);
  checkInnerAlgorithm(innerAlgorithm, signatureAlgorithm, what, 'tbsCertificate.signature');
  const issuer = parseName(tbs.read(), 'issuer');
  const validity: DerReader = tbs.enter(Tag.SEQUENCE, 'validity');
  const notBefore = timeValue(validity.read(), 'notBefore');
  const notAfter = timeValue(validity.read(), 'notAfter');
  validity.expectEnd('notAfter');
  const subject = parseName(tbs.read(), 'subject');
  const publicKey = parseSubjectPublicKeyInfo(tbs.expect(Tag.SEQUENCE, 'subjectPublicKeyInfo').encoded, 'subjectPublicKeyInfo');
  if (tbs.optional(0x81) && version < 2) throw new PkiError('DER_MALFORMED', 'certificate: issuerUniqueID in v1', { what });
  if (tbs.optional(0x82) && version < 2) throw new PkiError('DER_MALFORMED', 'certificate: subjectUniqueID in v1', { what });
  const extEl = tbs.optional(0xa3);
  let extensions: Extension[] = [];
  if (extEl) {
    if (version !== 3) throw new PkiError('DER_MALFORMED', 'certificate: extensions in a pre-v3 certificate', { what });
    extensions = parseTaggedExtensions(extEl, what);
  }
  tbs.expectEnd('extensions');

  const find = (oid: string): Buffer | undefined => extensions.find((e) => e.oid === oid)?.value;
  const decode = <T>(oid: string, decoder: (value: Buffer) => T): T | undefined => {
    const value = find(oid);
    return value === undefined ? undefined : decoder(value);
  };
  return {
    der: outer.encoded,
    tbsDer: tbsEl.encoded,
    version,
    serialNumber,
    signatureAlgorithm,
    issuer,
    subject,
    notBefore,
    notAfter,
    publicKey,
    extensions,
    signature,
    basicConstraints: decode(Oid.basicConstraints, decodeBasicConstraints),
    keyUsage: decode(Oid.keyUsage, decodeKeyUsage),
    extKeyUsage: decode(Oid.extKeyUsage, decodeExtKeyUsage),
    subjectKeyIdentifier: decode(Oid.subjectKeyIdentifier, decodeSubjectKeyIdentifier),
    authorityKeyIdentifier: decode(Oid.authorityKeyIdentifier, decodeAuthorityKeyIdentifier),
    subjectAltNames: decode(Oid.subjectAltName, (v) => decodeGeneralNames(v, 'subjectAltName')),
  };
}

/** Serial as openssl prints it (`-serial`): upper-case hex of the encoded octets. */
export function serialHex(cert: { readonly serialNumber: Buffer }): string {
  let hex = cert.serialNumber.toString('hex').toUpperCase();
  // A leading 00 only marks the number positive; openssl does not print it.
  if (hex.length > 2 && hex.startsWith('00')) hex = hex.slice(2);
  return hex;
}

/** SHA-256 of the DER, lower-case hex: the same as `sha256sum` of the .der file. */
export function fingerprintSha256(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

export function isCaCertificate(cert: Certificate): boolean {
  return cert.basicConstraints?.ca === true;
}

export function isSelfIssued(cert: Certificate): boolean {
  return cert.subject.der.equals(cert.issuer.der);
}
