import type { SignatureCache } from './signature-cache.js';
import type { Certificate } from './certificate.js';
import type { CertificateRevocationList } from './crl.js';
import { deviceIdentityFromCertificate } from './device-policy.js';
import { isPkiError, type PkiErrorCode, type PkiErrorContext } from './errors.js';
import type { DeviceIdentity } from './identity.js';
import { verifyChain } from './verify-chain.js';

/** A refused device certificate: the code, the certificate it concerns, and the code's facts. */
export type DeviceValidationFailure = {
  readonly [C in PkiErrorCode]: { readonly ok: false; readonly code: C; readonly certificate: Certificate; readonly message: string; readonly context: PkiErrorContext<C> };
}[PkiErrorCode];

export type DeviceValidationResult = { readonly ok: true; readonly identity: DeviceIdentity; readonly path: readonly Certificate[] } | DeviceValidationFailure;

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
  const result = verifyChain({
    leaf,
    anchors,
    intermediates: [...chain.slice(1), ...intermediates],
    time,
    options: { purpose: 'client', crls },
    signatureCache,
  });
  if (!result.ok) return result;
  return { ok: true, identity, path: result.path };
}
