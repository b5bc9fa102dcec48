import type { Signer } from '@fleetpki/pki';

/**
 * A place that keeps private keys and signs with them without ever giving them out: a PKCS#11
 * token (pkcs11-token.ts). Keys are named by a label the platform chooses.
 */
export interface KeyToken {
  /** Generates an EC P-256 key pair in the token, private key non-extractable; returns its SubjectPublicKeyInfo DER. */
  generateEcKey(label: string): Buffer;
  /** A signer over the token's key with that label. */
  signer(label: string): Signer;
  /** Asks the token for its session's state: throws when the token no longer answers (readiness). */
  ping(): void;
  close(): void;
}
