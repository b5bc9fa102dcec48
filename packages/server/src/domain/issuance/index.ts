// How a device certificate is issued: the one pipeline (authorize → profile → subject → lint →
// sign → record → audit), its profiles and records, and the ways in (API, rotation, EST tokens, manufacturer CAs).
// This file is the only door gateway/ and http/ may use (npm run lint enforces it).

export { issueThroughApi } from './api-issuance.js';
export { DEFAULT_TOKEN_VALID_HOURS, MAX_TOKENS_PER_BATCH, MAX_TOKEN_VALID_HOURS, createEnrollmentTokens, enrollWithToken } from './enrollment-tokens.js';
export { type IssuanceChannel, type IssuedDeviceCertificate, MAX_CSR_BYTES, issueDeviceCertificateFor } from './issuance-pipeline.js';
export { DEVICE_KEY_TYPES } from './issuance-profile.js';
export { type ClaimRefusal, type IssuanceClaims, type IssuanceRecord, type IssuanceRecordSink, kyselyRecordSink } from './issuance-record-sink.js';
export { IssuanceRecorder } from './issuance-recorder.js';
export { enrollWithManufacturerCertificate } from './manufacturer-enrollment.js';
export { type PkiDeps } from './pki-deps.js';
export { EnrollmentTokenSecrets, enrollmentTokenSealContext } from './enrollment-token-secrets.js';
export { answerCmp, CMP_CONFIRM_WINDOW_SECONDS, type CmpAnswer } from './cmp-server.js';
export { UnconfirmedCmpCertificates } from './cmp-unconfirmed.js';
export { CmpServices } from './cmp-services.js';
export { issueWithServerKey, type ServerGeneratedKey, type ServerKeygenEntitlement } from './server-keygen.js';
export { hashEnrollmentToken } from './enrollment-tokens.js';
export { renewDeviceCertificate } from './device-renewal.js';
