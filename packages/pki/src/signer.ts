import type { KeyObject } from 'node:crypto';
import { sequence, unsignedInteger } from './der/writer.js';
import { PkiError } from './errors.js';
import { signingAlgorithmFor, signWith, type SigningAlgorithm } from './signature.js';

/**
 * What signs a certificate's to-be-signed bytes. Issuance sees only this, so a CA key may sit
 * in memory (a KeyObject), in a PKCS#11 token, or anywhere else that returns a signature in
 * the X.509 encoding of its algorithm (RFC 5280 §4.1.1.3; for ECDSA the DER Ecdsa-Sig-Value
 * of RFC 3279 §2.2.3).
 */
export interface Signer {
  readonly algorithm: SigningAlgorithm;
  sign(data: Buffer): Buffer;
}

/** A signer over a private key held in memory by Node's crypto (OpenSSL). */
export function keySigner(key: KeyObject): Signer {
  const algorithm = signingAlgorithmFor(key);
  return { algorithm, sign: (data) => signWith(data, key, algorithm) };
}

/**
 * An ECDSA signature as PKCS#11's CKM_ECDSA returns it (r ‖ s, each the curve's size, as IEEE
 * P1363) in the X.509 form: the DER Ecdsa-Sig-Value SEQUENCE { r INTEGER, s INTEGER } of
 * RFC 3279 §2.2.3.
 */
export function ecdsaSignatureToDer(raw: Buffer): Buffer {
  if (raw.length === 0 || raw.length % 2 !== 0 || raw.length > 132) {
    throw new PkiError('INVALID_ARGUMENT', `an r ‖ s ECDSA signature has an even length up to 132 octets, got ${raw.length}`);
  }
  const half = raw.length / 2;
  return sequence([unsignedInteger(raw.subarray(0, half)), unsignedInteger(raw.subarray(half))]);
}
