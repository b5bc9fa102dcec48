import { createHmac, hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { integerSmall, readerOver, type DerElement } from './der/reader.js';
import { Tag } from './der/tags.js';
import { octetString, oid, sequence, smallInteger } from './der/writer.js';
import { PkiError } from './errors.js';
import { parseAlgorithmIdentifier, type AlgorithmIdentifier } from './algorithm-identifier.js';

/** id-PasswordBasedMac (RFC 4211 §4.4, RFC 9481 §6.1.1). */
export const PASSWORD_BASED_MAC_OID = '1.2.840.113533.7.66.13';

/** The one-way functions and MACs a PasswordBasedMac may name, as Node's digest names. */
const OWF_BY_OID: Readonly<Record<string, string>> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
  // SHA-1 as the OWF: RFC 9481 §6.1.1 lists SHA-256 and up; OpenSSL 3.0's `cmp` uses SHA-256.
};
const MAC_BY_OID: Readonly<Record<string, string>> = {
  '1.2.840.113549.2.9': 'sha256', // hmacWithSHA256
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
  // hmac-sha1 (RFC 4211's own example): OpenSSL 3.0's `cmp` MACs with it unless told otherwise
  // (`-pbm_mac`). The key it is keyed with is the iterated SHA-256 above, so the MAC's strength
  // rests on HMAC-SHA1, which RFC 9481 §6.2.1 still lists.
  '1.3.6.1.5.5.8.1.2': 'sha1',
  '1.2.840.113549.2.7': 'sha1', // hmacWithSHA1
};

/**
 * Iterations asked of the server: at least what RFC 9481 §6.1.1 suggests is a floor (100) and at
 * most enough to keep one message's MAC under a few milliseconds — the count is the sender's
 * choice, so an unbounded one would let any client make the server hash for ever.
 */
export const PBM_MIN_ITERATIONS = 100;
export const PBM_MAX_ITERATIONS = 100_000;
const MAX_SALT_BYTES = 64;

export interface PasswordBasedMacParameters {
  readonly salt: Buffer;
  readonly owf: string;
  readonly iterationCount: number;
  readonly mac: string;
  /** The AlgorithmIdentifier's encoding, for the answer to carry the same one. */
  readonly owfOid: string;
  readonly macOid: string;
}

function refused(reason: string): PkiError {
  return new PkiError('UNSUPPORTED_ALGORITHM', `PasswordBasedMac: ${reason}`, { oid: PASSWORD_BASED_MAC_OID });
}

/** Reads a PasswordBasedMac AlgorithmIdentifier's PBMParameter (RFC 4211 §4.4). */
export function parsePasswordBasedMac(alg: AlgorithmIdentifier): PasswordBasedMacParameters {
  if (alg.oid !== PASSWORD_BASED_MAC_OID) throw refused(`not a PasswordBasedMac (${alg.oid})`);
  const params: DerElement | undefined = alg.parameters;
  if (!params || params.tag !== Tag.SEQUENCE) throw new PkiError('DER_MALFORMED', 'PBMParameter: expected SEQUENCE', { what: 'PBMParameter' });
  const reader = readerOver(params, 'PBMParameter');
  const salt = reader.expect(Tag.OCTET_STRING, 'salt').contents;
  const owfAlg = parseAlgorithmIdentifier(reader.expect(Tag.SEQUENCE, 'owf'), 'PBMParameter owf');
  const iterationCount = integerSmall(reader.expect(Tag.INTEGER, 'iterationCount'), 'iterationCount');
  const macAlg = parseAlgorithmIdentifier(reader.expect(Tag.SEQUENCE, 'mac'), 'PBMParameter mac');
  reader.expectEnd('mac');
  const owf = OWF_BY_OID[owfAlg.oid];
  const mac = MAC_BY_OID[macAlg.oid];
  if (!owf) throw refused(`one-way function ${owfAlg.oid} is not supported`);
  if (!mac) throw refused(`MAC ${macAlg.oid} is not supported`);
  if (salt.length === 0 || salt.length > MAX_SALT_BYTES) throw refused(`a salt of ${salt.length} bytes`);
  if (iterationCount < PBM_MIN_ITERATIONS || iterationCount > PBM_MAX_ITERATIONS) throw refused(`${iterationCount} iterations (allowed ${PBM_MIN_ITERATIONS}–${PBM_MAX_ITERATIONS})`);
  return { salt: Buffer.from(salt), owf, iterationCount, mac, owfOid: owfAlg.oid, macOid: macAlg.oid };
}

/**
 * The key the secret and salt make: OWF applied `iterationCount` times to secret || salt (RFC
 * 4211 §4.4). One-shot `crypto.hash` per round: a Hash object per round made this a third slower
 * and most of the garbage of a CMP request.
 */
export function passwordBasedKey(secret: Buffer, params: PasswordBasedMacParameters): Buffer {
  let key = hash(params.owf, Buffer.concat([secret, params.salt]), 'buffer');
  for (let i = 1; i < params.iterationCount; i++) key = hash(params.owf, key, 'buffer');
  return key;
}

/** The MAC over `data` (a ProtectedPart's DER) under the key `passwordBasedKey` made. */
export function macWithKey(key: Buffer, params: PasswordBasedMacParameters, data: Buffer): Buffer {
  return createHmac(params.mac, key).update(data).digest();
}

/** The MAC over `data` (a ProtectedPart's DER) under `secret`. */
export function passwordBasedMac(secret: Buffer, params: PasswordBasedMacParameters, data: Buffer): Buffer {
  return macWithKey(passwordBasedKey(secret, params), params, data);
}

/** Whether `mac` is the MAC of `data` under `key` (from `passwordBasedKey`), compared in constant time. */
export function verifyMacWithKey(key: Buffer, params: PasswordBasedMacParameters, data: Buffer, mac: Buffer): boolean {
  const expected = macWithKey(key, params, data);
  return expected.length === mac.length && timingSafeEqual(expected, mac);
}

/** Whether `mac` is the MAC of `data` under `secret`, compared in constant time. */
export function verifyPasswordBasedMac(secret: Buffer, params: PasswordBasedMacParameters, data: Buffer, mac: Buffer): boolean {
  return verifyMacWithKey(passwordBasedKey(secret, params), params, data, mac);
}

/** Parameters for a message of our own: the functions and count given, a fresh salt. */
export function freshParameters(like: PasswordBasedMacParameters): PasswordBasedMacParameters {
  return { ...like, salt: randomBytes(16) };
}

/** The protectionAlg AlgorithmIdentifier for these parameters. */
export function passwordBasedMacAlgorithm(params: PasswordBasedMacParameters): Buffer {
  return sequence([
    oid(PASSWORD_BASED_MAC_OID),
    sequence([octetString(params.salt), sequence([oid(params.owfOid)]), smallInteger(params.iterationCount), sequence([oid(params.macOid)])]),
  ]);
}

