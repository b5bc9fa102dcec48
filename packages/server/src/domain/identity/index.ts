// Who a device is: the one identity decision every transport asks (certificate chain or PSK),
// its caches, refusal throttling, the authentication journal and zero-touch provisioning.
// This file is the only door gateway/ and http/ may use (npm run lint enforces it).

export { AuthenticationJournal, type CertificateSighting } from './authentication-journal.js';
export { ConnectionReview, type ProjectGenerations } from './connection-review.js';
export { DeviceAuthenticator, MAX_PEER_CHAIN } from './device-authentication.js';
export type { AuthenticatedDevice, AuthenticationTransport, CertificateAuthenticatedDevice, CertificateRenewal, ConnectionFacts, DeviceAuthFailureCode, DeviceAuthResult, DeviceRefusal, DeviceTransport, HandshakeFailure, PskAuthenticatedDevice } from './identity-types.js';
export { ProjectAnchorCache } from './project-anchors.js';
export { PskAuthenticator } from './psk-authentication.js';
export { refusalStatus } from './refusal-status.js';
