import { constants, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { AlgorithmIdentifier } from './algorithm-identifier.js';
import { integerSmall, oidString, readerOver } from './der/reader.js';
import { Tag } from './der/tags.js';
import { nullValue, oid, sequence } from './der/writer.js';
import { PkiError } from './errors.js';
import { describeKey, type KeyAlgorithm } from './key-algorithm.js';
import { publicKeyObject, type PublicKeyInfo } from './public-key.js';
import { Oid } from './oids.js';

type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

/** How one signature algorithm OID is checked through Node's crypto. */
interface VerifyRecipe {
  readonly hash: HashName | null;
  /** SHA-1: chosen-prefix collisions are practical (SHAttered 2017, Shambles 2020). */
  readonly weak: boolean;
  readonly keyKinds: readonly KeyAlgorithm['kind'][];
  readonly pssSaltLength?: number;
  readonly name: string;
}

const HASH_BY_OID: Readonly<Record<string, HashName>> = {
  [Oid.sha1]: 'sha1',
  [Oid.sha256]: 'sha256',
  [Oid.sha384]: 'sha384',
  [Oid.sha512]: 'sha512',
};

// Algorithms whose parameters must be NULL (RFC 4055 §5), absent (RFC 5758 §3.2, RFC 8410 §3).
const RSA_PKCS1: Readonly<Record<string, HashName>> = {
  [Oid.sha1WithRSAEncryption]: 'sha1',
  [Oid.sha256WithRSAEncryption]: 'sha256',
  [Oid.sha384WithRSAEncryption]: 'sha384',
  [Oid.sha512WithRSAEncryption]: 'sha512',
};
const ECDSA: Readonly<Record<string, HashName>> = {
  [Oid.ecdsaWithSha1]: 'sha1',
  [Oid.ecdsaWithSha256]: 'sha256',
  [Oid.ecdsaWithSha384]: 'sha384',
  [Oid.ecdsaWithSha512]: 'sha512',
};

function unsupported(alg: AlgorithmIdentifier, reason: string): PkiError {
  return new PkiError('UNSUPPORTED_ALGORITHM', `signature algorithm ${alg.oid}: ${reason}`, { oid: alg.oid });
}

/** RSASSA-PSS-params (RFC 4055 §3.1); only MGF1 with the same hash, trailer 1. */
function pssRecipe(alg: AlgorithmIdentifier): VerifyRecipe {
  let hash: HashName = 'sha1';
  let mgfHash: HashName = 'sha1';
  let saltLength = 20;
  if (alg.parameters) {
    if (alg.parameters.tag !== Tag.SEQUENCE) throw unsupported(alg, 'bad RSASSA-PSS parameters');
    const params = readerOver(alg.parameters, 'RSASSA-PSS-params');
    const hashField = params.optional(0xa0);
    if (hashField) {
      const h = readerOver(hashField, 'hashAlgorithm').enter(Tag.SEQUENCE, 'hashAlgorithm');
      const found = HASH_BY_OID[oidString(h.read(), 'hashAlgorithm')];
      if (!found) throw unsupported(alg, 'unsupported PSS hash');
      hash = found;
    }
    const mgfField = params.optional(0xa1);
    if (mgfField) {
      const m = readerOver(mgfField, 'maskGenAlgorithm').enter(Tag.SEQUENCE, 'maskGenAlgorithm');
      if (oidString(m.read(), 'maskGenAlgorithm') !== Oid.mgf1) throw unsupported(alg, 'only MGF1 is supported');
      const inner = m.enter(Tag.SEQUENCE, 'MGF1 hash');
      const found = HASH_BY_OID[oidString(inner.read(), 'MGF1 hash')];
      if (!found) throw unsupported(alg, 'unsupported MGF1 hash');
      mgfHash = found;
    }
    const saltField = params.optional(0xa2);
    if (saltField) saltLength = integerSmall(readerOver(saltField, 'saltLength').read(), 'saltLength');
    const trailerField = params.optional(0xa3);
    if (trailerField && integerSmall(readerOver(trailerField, 'trailerField').read(), 'trailerField') !== 1) {
      throw unsupported(alg, 'trailerField must be 1');
    }
    params.expectEnd('RSASSA-PSS-params');
  }
  if (mgfHash !== hash) throw unsupported(alg, 'MGF1 hash differs from the message hash');
  return { hash, weak: hash === 'sha1', keyKinds: ['rsa', 'rsa-pss'], pssSaltLength: saltLength, name: `RSASSA-PSS with ${hash}` };
}

function recipeFor(alg: AlgorithmIdentifier): VerifyRecipe {
  const rsaHash = RSA_PKCS1[alg.oid];
  if (rsaHash) {
    // Some old encoders omit the NULL; accepting absence is what every major verifier does.
    if (alg.parameters && (alg.parameters.tag !== Tag.NULL || alg.parameters.contents.length !== 0)) {
      throw unsupported(alg, 'parameters must be NULL');
    }
    return { hash: rsaHash, weak: rsaHash === 'sha1', keyKinds: ['rsa'], name: `${rsaHash}WithRSAEncryption` };
  }
  const ecHash = ECDSA[alg.oid];
  if (ecHash) {
    if (alg.parameters) throw unsupported(alg, 'ECDSA parameters must be absent (RFC 5758 §3.2)');
    return { hash: ecHash, weak: ecHash === 'sha1', keyKinds: ['ec'], name: `ecdsa-with-${ecHash.toUpperCase()}` };
  }
  if (alg.oid === Oid.ed25519 || alg.oid === Oid.ed448) {
    if (alg.parameters) throw unsupported(alg, 'EdDSA parameters must be absent (RFC 8410 §3)');
    return { hash: null, weak: false, keyKinds: [alg.oid === Oid.ed25519 ? 'ed25519' : 'ed448'], name: alg.oid === Oid.ed25519 ? 'Ed25519' : 'Ed448' };
  }
  if (alg.oid === Oid.rsassaPss) return pssRecipe(alg);
  throw unsupported(alg, 'not supported');
}

export function signatureAlgorithmName(alg: AlgorithmIdentifier): string {
  try {
    return recipeFor(alg).name;
  } catch {
    return alg.oid;
  }
}

export interface SignatureVerificationOptions {
  /** The key already imported, when the caller has it (see importPublicKey). */
  readonly keyObject?: KeyObject;
  /**
   * Named leniency, off by default: SHA-1 signatures. Only for reading legacy material
   * knowingly; a SHA-1 certificate or CSR is otherwise refused as UNSUPPORTED_ALGORITHM.
   */
  readonly allowSha1?: boolean;
  /**
   * ECDSA signature encoding: DER as in X.509 (the default), or IEEE P1363 (r || s) as some
   * device protocols and WebCrypto use.
   */
  readonly ecdsaSignatureEncoding?: 'der' | 'ieee-p1363';
}

/**
 * Verifies a signature over `data` (a TBS structure's exact bytes). Returns false for a
 * signature that does not verify, including one whose algorithm does not fit the key;
 * throws UNSUPPORTED_ALGORITHM for an algorithm we do not implement or refuse (SHA-1).
 */
export function verifySignature(
  data: Buffer,
  signature: Buffer,
  alg: AlgorithmIdentifier,
  publicKey: PublicKeyInfo,
  options: SignatureVerificationOptions = {},
): boolean {
  const recipe = recipeFor(alg);
  if (recipe.weak && options.allowSha1 !== true) {
    throw new PkiError('UNSUPPORTED_ALGORITHM', `${recipe.name} signatures are refused: SHA-1 collisions are practical`, { oid: alg.oid });
  }
  if (!recipe.keyKinds.includes(publicKey.algorithm.kind)) return false;
  let key: KeyObject;
  try {
    key = options.keyObject ?? publicKeyObject(publicKey);
  } catch {
    return false;
  }
  try {
    if (recipe.pssSaltLength !== undefined) {
      return cryptoVerify(
        recipe.hash,
        data,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: recipe.pssSaltLength },
        signature,
      );
    }
    if (options.ecdsaSignatureEncoding === 'ieee-p1363') return cryptoVerify(recipe.hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    return cryptoVerify(recipe.hash, data, key, signature);
  } catch {
    // OpenSSL throws on signatures it cannot even decode (bad DER in an ECDSA signature).
    return false;
  }
}

/** The algorithm fleetpki signs with for a key, and its AlgorithmIdentifier DER. */
export interface SigningAlgorithm {
  readonly hash: HashName | null;
  readonly oid: string;
  readonly identifier: Buffer;
}

/** RFC 5480 §4: hash strength matched to the curve (P-256/SHA-256, P-384/SHA-384, P-521/SHA-512). */
function ecdsaAlgorithm(hash: HashName): SigningAlgorithm {
  const id = hash === 'sha256' ? Oid.ecdsaWithSha256 : hash === 'sha384' ? Oid.ecdsaWithSha384 : Oid.ecdsaWithSha512;
  return { hash, oid: id, identifier: sequence([oid(id)]) };
}

/** The algorithms fleetpki signs with, made once at load (a constant table; nothing is added at run time). */
const SIGNING_ALGORITHMS: Readonly<Record<string, SigningAlgorithm>> = {
  'ec:P-256': ecdsaAlgorithm('sha256'),
  'ec:P-384': ecdsaAlgorithm('sha384'),
  'ec:P-521': ecdsaAlgorithm('sha512'),
  rsa: { hash: 'sha256', oid: Oid.sha256WithRSAEncryption, identifier: sequence([oid(Oid.sha256WithRSAEncryption), nullValue()]) },
  ed25519: { hash: null, oid: Oid.ed25519, identifier: sequence([oid(Oid.ed25519)]) },
};

export function signingAlgorithmFor(key: KeyObject): SigningAlgorithm {
  const algorithm = describeKey(key);
  const known = SIGNING_ALGORITHMS[algorithm.kind === 'ec' ? `ec:${algorithm.curve}` : algorithm.kind];
  if (!known) throw new PkiError('UNSUPPORTED_KEY_TYPE', `fleetpki does not sign with ${algorithm.kind} keys`, { kind: algorithm.kind });
  return known;
}

export function signWith(data: Buffer, key: KeyObject, algorithm: SigningAlgorithm): Buffer {
  return cryptoSign(algorithm.hash, data, key);
}
