import { createPrivateKey, type KeyObject } from 'node:crypto';
import { DerReader, integerSmall, oidString, readSingle } from './der/reader.js';
import { Tag } from './der/tags.js';
import { oid, sequence } from './der/writer.js';
import { PkiError } from './errors.js';
import { describeKey, type KeyAlgorithm } from './key-algorithm.js';
import { Oid } from './oids.js';
import { parseSubjectPublicKeyInfo, type PublicKeyInfo } from './public-key.js';

export type PrivateKeyFormat = 'sec1' | 'pkcs8' | 'pkcs1';

export interface LoadedPrivateKey {
  readonly key: KeyObject;
  readonly format: PrivateKeyFormat;
  readonly algorithm: KeyAlgorithm;
  /** The DER the key was read from (its original format). */
  readonly der: Buffer;
}
/**
 * Which private-key syntax a DER blob is, decided from its structure rather than by trial
 * parsing, so a certificate handed over as a key is named as such.
 *  - PKCS#8 (RFC 5958): SEQUENCE { INTEGER 0|1, AlgorithmIdentifier, OCTET STRING, ... }
 *  - SEC1 (RFC 5915): SEQUENCE { INTEGER 1, OCTET STRING, [0] params?, [1] publicKey? }
 *  - PKCS#1 (RFC 8017): SEQUENCE { INTEGER 0, INTEGER n, INTEGER e, ... }
 */
export function sniffPrivateKeyFormat(der: Buffer): PrivateKeyFormat | undefined {
  try {
    const outer = readSingle(der, 'private key');
    if (outer.tag !== Tag.SEQUENCE) return undefined;
    const reader = new DerReader(outer.contents, 'private key');
    const version = reader.read();
    if (version.tag !== Tag.INTEGER) return undefined;
    const second = reader.read();
    if (second.tag === Tag.SEQUENCE) return 'pkcs8';
    if (second.tag === Tag.OCTET_STRING && integerSmall(version, 'version') === 1) return 'sec1';
    if (second.tag === Tag.INTEGER && integerSmall(version, 'version') === 0) return 'pkcs1';
    return undefined;
  } catch {
    return undefined;
  }
}

/** Loads a private key from its DER in the given syntax, through Node's crypto. */
export function privateKeyFromDer(der: Buffer, format: PrivateKeyFormat): LoadedPrivateKey {
  // OpenSSL 3.2+ decoders take any syntax whatever the type asked for (a PKCS#1 RSA body read as
  // SEC1 loads as an RSA key), so the structure must say the syntax the label or caller claims.
  const found = sniffPrivateKeyFormat(der);
  if (found !== format) {
    throw new PkiError('KEY_MALFORMED', `the private key is not ${format.toUpperCase()}${found ? ` (its structure is ${found.toUpperCase()})` : ''}`, { format });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: der, format: 'der', type: format });
  } catch (err) {
    throw new PkiError('KEY_MALFORMED', `the ${format.toUpperCase()} private key could not be read: ${(err as Error).message}`, {
      format,
    });
  }
  return { key, format, algorithm: describeKey(key), der };
}
/**
 * The SubjectPublicKeyInfo of an EC key, taken from its SEC1 encoding (RFC 5915: the
 * `publicKey [1]` field) and re-wrapped per RFC 5480 §2. The factory line has the SEC1 encoding
 * anyway to write the key file, and OpenSSL 3.0's SPKI encoder costs about 115 µs a call,
 * three ECDSA signatures. (Node 20's JWK export, 5 µs, is not an option: it holds the key's mutex
 * while allocating, and a garbage collection that frees the generateKeyPairSync job then
 * deadlocks on that mutex, seen here in a worker thread after 4,410 keys.)
 */
export function ecPublicKeyFromSec1(sec1: Buffer): PublicKeyInfo {
  const what = 'EC private key';
  const outer = readSingle(sec1, what);
  if (outer.tag !== Tag.SEQUENCE) throw new PkiError('KEY_MALFORMED', `${what}: expected SEQUENCE`);
  const reader = new DerReader(outer.contents, what);
  if (integerSmall(reader.expect(Tag.INTEGER, 'version'), 'version') !== 1) throw new PkiError('KEY_MALFORMED', `${what}: version must be 1`);
  reader.expect(Tag.OCTET_STRING, 'privateKey');
  const params = reader.optional(0xa0);
  const publicKey = reader.optional(0xa1);
  reader.expectEnd('publicKey');
  const curveOid = params ? oidString(readSingle(params.contents, 'parameters'), 'parameters') : undefined;
  if (!curveOid || !publicKey) throw new PkiError('KEY_MALFORMED', `${what}: the named curve and public key must be present`);
  const bits = readSingle(publicKey.contents, 'publicKey');
  if (bits.tag !== Tag.BIT_STRING) throw new PkiError('KEY_MALFORMED', `${what}: publicKey must be a BIT STRING`);
  const spki = sequence([sequence([oid(Oid.ecPublicKey), oid(curveOid)]), bits.encoded]);
  return parseSubjectPublicKeyInfo(spki, what);
}

/**
 * A private key in the syntax openssl's own commands write: EC keys as SEC1 (like
 * `openssl ecparam -genkey -noout`), RSA keys as PKCS#8 (like OpenSSL 3 `genpkey`/`genrsa`).
 */
export function privateKeyDer(key: KeyObject, format?: PrivateKeyFormat): { der: Buffer; format: PrivateKeyFormat } {
  const chosen = format ?? (key.asymmetricKeyType === 'ec' ? 'sec1' : 'pkcs8');
  if (chosen === 'sec1' && key.asymmetricKeyType !== 'ec') {
    throw new PkiError('INVALID_ARGUMENT', 'SEC1 can only hold EC keys', { argument: 'format', value: chosen });
  }
  if (chosen === 'pkcs1' && key.asymmetricKeyType !== 'rsa') {
    throw new PkiError('INVALID_ARGUMENT', 'PKCS#1 can only hold RSA keys', { argument: 'format', value: chosen });
  }
  return { der: key.export({ format: 'der', type: chosen }), format: chosen };
}

export const PRIVATE_KEY_PEM_LABELS: Readonly<Record<PrivateKeyFormat, string>> = {
  sec1: 'EC PRIVATE KEY',
  pkcs8: 'PRIVATE KEY',
  pkcs1: 'RSA PRIVATE KEY',
};
