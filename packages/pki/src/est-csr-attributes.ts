import { oid, sequence, setOf, stringOf } from './der/writer.js';
import { Tag } from './der/tags.js';
import { Oid } from './oids.js';

const CURVES: Readonly<Record<string, string>> = { 'P-256': '1.2.840.10045.3.1.7', 'P-384': '1.3.132.0.34' };
const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const ECDSA_WITH_SHA384 = '1.2.840.10045.4.3.3';
const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
const EC_PUBLIC_KEY = '1.2.840.10045.2.1';

/**
 * EST CSR attributes (RFC 7030 §4.5.2, CsrAttrs ::= SEQUENCE OF AttrOrOID) for a device of a
 * project: the subject's O with its value, the project slug (an Attribute); CN as an OID (the
 * certificate ID is the device's); the key types allowed — EC as an ecPublicKey Attribute listing
 * its curves (the RFC's own example), RSA as rsaEncryption — and the signature algorithms that go
 * with them. `keyTypes` are profile names: P-256, P-384, RSA-2048, …
 */
export function encodeCsrAttributes(projectSlug: string, keyTypes: readonly string[]): Buffer {
  const curves = keyTypes.flatMap((type) => (CURVES[type] ? [CURVES[type]] : []));
  const rsa = keyTypes.some((type) => type.startsWith('RSA-'));
  const attribute = (type: string, values: readonly Buffer[]) => sequence([oid(type), setOf([...values])]);
  return sequence([
    attribute(Oid.organizationName, [stringOf(Tag.UTF8_STRING, projectSlug)]),
    oid(Oid.commonName),
    ...(curves.length > 0 ? [attribute(EC_PUBLIC_KEY, curves.map((curve) => oid(curve)))] : []),
    ...(rsa ? [oid(RSA_ENCRYPTION)] : []),
    ...(keyTypes.includes('P-256') ? [oid(ECDSA_WITH_SHA256)] : []),
    ...(keyTypes.includes('P-384') ? [oid(ECDSA_WITH_SHA384)] : []),
    ...(rsa ? [oid(SHA256_WITH_RSA)] : []),
  ]);
}
