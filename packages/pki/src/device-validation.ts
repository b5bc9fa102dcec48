import type { SignatureCache } from './signature-cache.js';
import type { Certificate } from './certificate.js';
import type { CertificateRevocationList } from './crl.js';
import { deviceIdentityFromCertificate } from './device-policy.js';
import { isPkiError, type PkiErrorCode, type PkiErrorContext } from './errors.js';
import type { DeviceIdentity } from './identity.js';
import { verifyChain, type ChainVerificationResult } from './verify-chain.js';

/** A refused device certificate: the code, the certificate it concerns, and the code's facts. */
export type DeviceValidationFailure = {
  readonly [C in PkiErrorCode]: { readonly ok: false; readonly code: C; readonly certificate: Certificate; readonly message: string; readonly context: PkiErrorContext<C> };
}[PkiErrorCode];

export type DeviceValidationResult = { readonly ok: true; readonly identity: DeviceIdentity; readonly path: readonly Certificate[] } | DeviceValidationFailure;

/** The path inputs of a device certificate's validation. */
export interface DevicePathInput {
  /** The chain as the device sent it, leaf first. */
  readonly chain: readonly Certificate[];
  /** The project's anchors: every enabled CA of the project, root or intermediate. */
  readonly anchors: readonly Certificate[];
  /** The project's uploaded intermediates, candidates beside the ones sent. */
  readonly intermediates?: readonly Certificate[];
  readonly time: Date;
  readonly crls?: readonly CertificateRevocationList[];
  readonly signatureCache?: SignatureCache | undefined;
}

/**
 * RFC 5280 path validation for TLS client authentication, for a device whose identity and policy
 * were checked already (assertDeviceCertificatePolicy): the sent intermediates, then the
 * project's, as candidates.
 */
export function verifyDevicePath(input: DevicePathInput): ChainVerificationResult {
  const [leaf, ...sent] = input.chain;
  if (!leaf) throw new TypeError('verifyDevicePath needs at least the leaf certificate');
  return verifyChain({
    leaf,
    anchors: input.anchors,
    intermediates: [...sent, ...(input.intermediates ?? [])],
    time: input.time,
    options: { purpose: 'client', crls: input.crls ?? [] },
    signatureCache: input.signatureCache,
  });
}

/**
 * DESIGN §3 in one call: is `chain` (as the device sent it, leaf first) a device of project
 * `projectSlug`? The identity rules come first (no cryptography for a certificate that names
 * another project), then RFC 5280 path validation for TLS client authentication against the
 * project's anchors (every enabled CA of the project, root or intermediate), with the sent
 * intermediates and the project's uploaded ones as candidates, and the project's CRLs.
 */
export function validateDeviceCertificate(
  chain: readonly Certificate[],
  projectSlug: string,
  anchors: readonly Certificate[],
  intermediates: readonly Certificate[],
  time: Date,
  crls: readonly CertificateRevocationList[] = [],
  signatureCache?: SignatureCache,
): DeviceValidationResult {
  const leaf = chain[0];
  if (!leaf) throw new TypeError('validateDeviceCertificate needs at least the leaf certificate');
  let identity: DeviceIdentity;
  try {
    identity = deviceIdentityFromCertificate(leaf, projectSlug);
  } catch (err) {
    if (!isPkiError(err)) throw err;
    return { ok: false, code: err.code, certificate: leaf, message: err.message, context: err.context } as DeviceValidationFailure;
  }
  const result = verifyDevicePath({ chain, anchors, intermediates, time, crls, signatureCache });
  if (!result.ok) return result;
  return { ok: true, identity, path: result.path };
}
