import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, webcrypto } from 'node:crypto';
import { DerReader, integerSmall, oidString, readSingle } from './der/reader.js';
import { Tag } from './der/tags.js';
import { oid, sequence } from './der/writer.js';
import { PkiError } from './errors.js';
import { Oid } from './oids.js';

export type EcCurve = 'P-256' | 'P-384' | 'P-521';

/** What a key is, as far as certificate profiles and policies care. */
export type KeyAlgorithm =
  | { readonly kind: 'ec'; readonly curve: EcCurve }
  | { readonly kind: 'rsa'; readonly bits: number }
  | { readonly kind: 'rsa-pss'; readonly bits: number }
  | { readonly kind: 'ed25519' }
  | { readonly kind: 'ed448' };

/** The key types fleetpki creates (DESIGN §2). */
export type KeySpec = { readonly kind: 'ec'; readonly curve: 'P-256' | 'P-384' } | { readonly kind: 'rsa'; readonly bits: 2048 | 3072 | 4096 };

export type PrivateKeyFormat = 'sec1' | 'pkcs8' | 'pkcs1';

export interface LoadedPrivateKey {
  readonly key: KeyObject;
  readonly format: PrivateKeyFormat;
  readonly algorithm: KeyAlgorithm;
  /** The DER the key was read from (its original format). */
  readonly der: Buffer;
}

const NODE_CURVES: Readonly<Record<string, EcCurve>> = {
  prime256v1: 'P-256',
  'P-256': 'P-256',
  secp384r1: 'P-384',
  'P-384': 'P-384',
  secp521r1: 'P-521',
  'P-521': 'P-521',
};

export const CURVE_OIDS: Readonly<Record<EcCurve, string>> = {
  'P-256': Oid.prime256v1,
  'P-384': Oid.secp384r1,
  'P-521': Oid.secp521r1,
};

export function generateKeyPair(spec: KeySpec): { privateKey: KeyObject; publicKey: KeyObject } {
  if (spec.kind === 'ec') return generateKeyPairSync('ec', { namedCurve: spec.curve });
  return generateKeyPairSync('rsa', { modulusLength: spec.bits, publicExponent: 0x10001 });
}

// @types/node declares the encoding options only in pairs; Node encodes either one alone and
// returns the other half as a KeyObject (documented for crypto.generateKeyPairSync).
const generateEcPrivateKeyOnly = generateKeyPairSync as unknown as (
  type: 'ec',
  options: { namedCurve: string; privateKeyEncoding: { type: 'sec1'; format: 'der' } },
) => { privateKey: Buffer; publicKey: KeyObject };

/** A fresh key pair already encoded: what a factory line writes and certifies. */
export interface EncodedKeyPair {
  readonly privateKeyDer: Buffer;
  readonly privateKeyFormat: PrivateKeyFormat;
  readonly publicKey: PublicKeyInfo;
}

/**
 * Generates a key pair with OpenSSL encoding the private key inside the generation call (SEC1
 * for EC, PKCS#8 for RSA), so no KeyObject is exported afterwards: 68 µs per P-256 key against
 * 76 µs for generate-then-export, and it keeps clear of the Node 20 export deadlock described
 * at ecPublicKeyFromSec1.
 */
export function generateEncodedKeyPair(spec: KeySpec): EncodedKeyPair {
  if (spec.kind === 'ec') {
    const { privateKey } = generateEcPrivateKeyOnly('ec', { namedCurve: spec.curve, privateKeyEncoding: { type: 'sec1', format: 'der' } });
    return { privateKeyDer: privateKey, privateKeyFormat: 'sec1', publicKey: ecPublicKeyFromSec1(privateKey) };
  }
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: spec.bits,
    publicExponent: 0x10001,
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    publicKeyEncoding: { type: 'spki', format: 'der' },
  });
  return { privateKeyDer: privateKey, privateKeyFormat: 'pkcs8', publicKey: parseSubjectPublicKeyInfo(publicKey, 'RSA public key') };
}

export function describeKey(key: KeyObject): KeyAlgorithm {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = NODE_CURVES[details.namedCurve ?? ''];
      if (!curve) {
        throw new PkiError('UNSUPPORTED_KEY_TYPE', `unsupported EC curve ${details.namedCurve ?? '(unknown)'}`, {
          curve: details.namedCurve,
        });
      }
      return { kind: 'ec', curve };
    }
    case 'rsa':
      return { kind: 'rsa', bits: details.modulusLength ?? 0 };
    case 'rsa-pss':
      return { kind: 'rsa-pss', bits: details.modulusLength ?? 0 };
    case 'ed25519':
      return { kind: 'ed25519' };
    case 'ed448':
      return { kind: 'ed448' };
    default:
      throw new PkiError('UNSUPPORTED_KEY_TYPE', `unsupported key type ${key.asymmetricKeyType ?? '(unknown)'}`, {
        type: key.asymmetricKeyType,
      });
  }
}

export function formatKeyAlgorithm(algorithm: KeyAlgorithm): string {
  switch (algorithm.kind) {
    case 'ec':
      return `EC ${algorithm.curve}`;
    case 'rsa':
      return `RSA ${algorithm.bits}`;
    case 'rsa-pss':
      return `RSA-PSS ${algorithm.bits}`;
    case 'ed25519':
      return 'Ed25519';
    case 'ed448':
      return 'Ed448';
  }
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

/** The SubjectPublicKeyInfo DER of a key (private or public), from Node's encoder. */
export function spkiDer(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ format: 'der', type: 'spki' });
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
    throw new PkiError('INVALID_ARGUMENT', 'SEC1 can only hold EC keys', { format: chosen });
  }
  if (chosen === 'pkcs1' && key.asymmetricKeyType !== 'rsa') {
    throw new PkiError('INVALID_ARGUMENT', 'PKCS#1 can only hold RSA keys', { format: chosen });
  }
  return { der: key.export({ format: 'der', type: chosen }), format: chosen };
}

export const PRIVATE_KEY_PEM_LABELS: Readonly<Record<PrivateKeyFormat, string>> = {
  sec1: 'EC PRIVATE KEY',
  pkcs8: 'PRIVATE KEY',
  pkcs1: 'RSA PRIVATE KEY',
};

/** SubjectPublicKeyInfo fields we report and check (RFC 5280 §4.1.2.7). */
export interface PublicKeyInfo {
  readonly der: Buffer;
  readonly algorithmOid: string;
  readonly algorithm: KeyAlgorithm;
  /** The subjectPublicKey BIT STRING contents without the unused-bits octet (SKI input). */
  readonly keyBytes: Buffer;
}

const EC_CURVES_BY_OID: Readonly<Record<string, EcCurve>> = {
  [Oid.prime256v1]: 'P-256',
  [Oid.secp384r1]: 'P-384',
  [Oid.secp521r1]: 'P-521',
};

export function parseSubjectPublicKeyInfo(der: Buffer, what: string): PublicKeyInfo {
  const outer = readSingle(der, what);
  if (outer.tag !== Tag.SEQUENCE) throw new PkiError('DER_MALFORMED', `${what}: expected SubjectPublicKeyInfo`, { what });
  const reader = new DerReader(outer.contents, what);
  const alg = reader.enter(Tag.SEQUENCE, 'algorithm');
  const algorithmOid = oidString(alg.read(), what);
  const params = alg.atEnd() ? undefined : alg.read();
  alg.expectEnd('algorithm parameters');
  const bits = reader.expect(Tag.BIT_STRING, 'subjectPublicKey');
  reader.expectEnd('subjectPublicKey');
  if (bits.contents.length < 2 || bits.contents[0] !== 0) {
    throw new PkiError('DER_MALFORMED', `${what}: subjectPublicKey must be a whole number of octets`, { what });
  }
  const keyBytes = bits.contents.subarray(1);
  let algorithm: KeyAlgorithm;
  if (algorithmOid === Oid.ecPublicKey) {
    const curveOid = params && params.tag === Tag.OID ? oidString(params, what) : undefined;
    const curve = curveOid ? EC_CURVES_BY_OID[curveOid] : undefined;
    if (!curve) {
      throw new PkiError('UNSUPPORTED_KEY_TYPE', `${what}: unsupported or explicit EC parameters`, {
        what,
        curve: curveOid,
      });
    }
    algorithm = { kind: 'ec', curve };
  } else if (algorithmOid === Oid.rsaEncryption || algorithmOid === Oid.rsassaPss) {
    let key: KeyObject;
    try {
      key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    } catch (err) {
      throw new PkiError('KEY_MALFORMED', `${what}: RSA public key unreadable: ${(err as Error).message}`, { what });
    }
    algorithm = describeKey(key);
  } else if (algorithmOid === Oid.ed25519) {
    algorithm = { kind: 'ed25519' };
  } else if (algorithmOid === Oid.ed448) {
    algorithm = { kind: 'ed448' };
  } else {
    throw new PkiError('UNSUPPORTED_KEY_TYPE', `${what}: unsupported public key algorithm ${algorithmOid}`, {
      what,
      oid: algorithmOid,
    });
  }
  return { der: outer.encoded, algorithmOid, algorithm, keyBytes };
}

const JWK_CURVE_SIZES: Readonly<Record<EcCurve, number>> = { 'P-256': 32, 'P-384': 48, 'P-521': 66 };
const keyObjects = new WeakMap<PublicKeyInfo, KeyObject>();

/**
 * The Node KeyObject of a parsed public key, cached per parsed key. Uncompressed EC points go
 * in as JWK: OpenSSL 3's DER decoder costs more than the ECDSA verification itself (measured
 * 106 µs against 65 µs per import on P-256), and CSR checks import one key per issuance.
 */
export function publicKeyObject(info: PublicKeyInfo): KeyObject {
  const cached = keyObjects.get(info);
  if (cached) return cached;
  let key: KeyObject | undefined;
  const point = info.keyBytes;
  if (info.algorithm.kind === 'ec') {
    const size = JWK_CURVE_SIZES[info.algorithm.curve];
    if (point.length === 1 + 2 * size && point[0] === 0x04) {
      try {
        key = createPublicKey({
          key: {
            kty: 'EC',
            crv: info.algorithm.curve,
            x: point.subarray(1, 1 + size).toString('base64url'),
            y: point.subarray(1 + size).toString('base64url'),
          },
          format: 'jwk',
        });
      } catch (err) {
        throw new PkiError('KEY_MALFORMED', `the EC public key is not a point on ${info.algorithm.curve}: ${(err as Error).message}`);
      }
    }
  }
  if (!key) {
    try {
      key = createPublicKey({ key: info.der, format: 'der', type: 'spki' });
    } catch (err) {
      throw new PkiError('KEY_MALFORMED', `the public key could not be read: ${(err as Error).message}`);
    }
  }
  keyObjects.set(info, key);
  return key;
}

/**
 * Imports a public key that is used once (a CSR's key), on the fastest path Node offers:
 * uncompressed EC points through WebCrypto's raw import, which checks the point is on the
 * curve (enough for the cofactor-1 NIST curves) without the extra scalar multiplication the
 * JWK path's EC_KEY_check_key performs. Measured on P-256: 127 µs for import + verify against
 * 161 µs through JWK. The import itself is synchronous inside Node; the promise is WebCrypto's.
 */
export async function importPublicKey(info: PublicKeyInfo): Promise<KeyObject> {
  if (info.algorithm.kind === 'ec' && info.keyBytes[0] === 0x04) {
    let cryptoKey: webcrypto.CryptoKey;
    try {
      cryptoKey = await webcrypto.subtle.importKey('raw', info.keyBytes, { name: 'ECDSA', namedCurve: info.algorithm.curve }, true, ['verify']);
    } catch (err) {
      throw new PkiError('KEY_MALFORMED', `the EC public key is not a point on ${info.algorithm.curve}: ${(err as Error).message}`);
    }
    return KeyObject.from(cryptoKey);
  }
  return publicKeyObject(info);
}
