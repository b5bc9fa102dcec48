// Taking certificates back: the project's revocations (by fingerprint, or by a CA's serial,
// seen or not), and every server's in-memory view of them that the identity room probes.
// This file is the only door gateway/ and http/ may use (npm run lint enforces it).

export { crlsInForce, getCaCrl, uploadCaCrl, type CaCrl, type CaCrlUploadResult } from './ca-crls.js';
export type { CrlCuts } from './crl-cuts.js';
export { CRL_FETCH_INTERVAL_MS, CrlFetcher } from './crl-fetcher.js';
export { setCaCrlUrl } from './crl-urls.js';
export { CRL_REASON_OF, REVOCATION_REASONS, type RevocationReason } from './revocation-reasons.js';
export { ManagedCaPublication, OCSP_VALIDITY_SECONDS } from './managed-ca-publication.js';
export { RevocationSets, ProjectRevocations, type PathMember, type RevocationFact, type RevokedMember, type StaleCrlMember } from './revocation-sets.js';
export { listRevocations, MAX_REVOCATIONS_PER_REQUEST, revokeCertificates, type Revocation, type RevocationOutcome, type RevocationQuery, type RevocationRequest, type RevocationResult, type RevocationTarget } from './revocations.js';
export { parseSerialNumberText, serialNumberText } from './serial-number-text.js';
