import type { KeyAlgorithm } from './key-algorithm.js';

/** The smallest RSA modulus fleetpki trusts or certifies (NIST SP 800-131A: 112-bit security). */
export const MIN_RSA_BITS = 2048;

/**
 * Why a key is too weak to trust or certify anywhere — in a path being validated, in a CSR, in a
 * certificate about to be signed — or undefined when it is not. One rule, for every stage that
 * asks (path-checks, issuance lint, the server's issuance profile).
 */
export function weakKeyReason(algorithm: KeyAlgorithm): string | undefined {
  if (algorithm.kind === 'rsa' || algorithm.kind === 'rsa-pss') {
    if (algorithm.bits < MIN_RSA_BITS) return `RSA keys of ${algorithm.bits} bits are under ${MIN_RSA_BITS}`;
    // The web PKI's rule too: a modulus of a whole number of octets.
    if (algorithm.bits % 8 !== 0) return `an RSA modulus of ${algorithm.bits} bits is not a whole number of octets`;
  }
  return undefined;
}
