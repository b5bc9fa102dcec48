import type { PkiErrorCode, PkiErrorContext } from '@fleetpki/pki';
import type { PathMember } from '../revocation/index.js';
import type { ProvisioningOutcome } from './zero-touch-provisioning.js';

/**
 * The identity room's vocabulary, in one file so every module of the room (and every transport)
 * names a device, a verdict and a refusal the same way without importing the service itself.
 */

/** Why a device was refused: the path validator's codes and the platform's own. */
export type DeviceAuthFailureCode =
  | PkiErrorCode
  | 'NO_CLIENT_CERTIFICATE'
  | 'CERT_UNPARSABLE'
  | 'UNKNOWN_PROJECT'
  | 'CA_DISABLED'
  | 'DEVICE_DISABLED'
  /** The handshake's CertificateVerify did not verify with the certificate's key: a certificate without its key. */
  | 'KEY_POSSESSION_NOT_PROVEN'
  /** The handshake failed after the client sent a certificate, for another reason. */
  | 'TLS_HANDSHAKE_FAILED'
  /** DTLS with a pre-shared key: the identity names no credential. */
  | 'PSK_IDENTITY_UNKNOWN'
  /** DTLS with a pre-shared key: the identity is known, the handshake did not prove the key. */
  | 'PSK_MISMATCH'
  /** The CRL in force for a CA of the path is past its nextUpdate and the project refuses meanwhile (`staleCrl: "refuse"`). */
  | 'CRL_STALE'
  /** The device has since authenticated with a certificate that supersedes this one, and the project's grace period is over. */
  | 'CERT_SUPERSEDED';

export type DeviceTransport = 'https' | 'mqtt' | 'coap';

/**
 * Where an authentication was asked: a device transport, or forward-auth, where a TLS-terminating
 * proxy held the handshake and asks once per request (no connection of ours to register or end).
 * The audit log records it as the event's `transport`.
 */
export type AuthenticationTransport = DeviceTransport | 'forward-auth' | 'cmp';

/** What every admitted device is, whatever proved it (DESIGN §5 `GET /v1/device/identity`). */
interface AdmittedDevice {
  /** The project slug. */
  readonly projectId: string;
  /** The project's internal id, for the connection registry. */
  readonly projectKey: string;
  readonly deviceId: string;
  readonly deviceName: string;
  readonly provisioning: ProvisioningOutcome;
  /** The project's auth_generation when this authentication read it (see ConnectionEnforcer). */
  readonly authGeneration: number;
}

/** A device that presented a certificate whose path validated, and proved its key. */
export interface CertificateAuthenticatedDevice extends AdmittedDevice {
  readonly credential: 'certificate';
  readonly certificateId: string;
  /** The CA certificate (by id) the validated path ends at: disabling it ends the connection. */
  readonly anchorCaId: string;
  readonly fingerprintSha256: string;
  /** The end of the validated path's validity (ms): the connection ends then (ConnectionEnforcer). */
  readonly validUntil: number;
  /** The validated path but its anchor, so a revocation made while connected ends the connection. */
  readonly path: readonly PathMember[];
  /** The certificate it presented and when to renew it (DESIGN §8: every identity answer carries it). */
  readonly certificate: CertificateRenewal;
  /** The leaf's notBefore (ms), from which its renewal window is computed again (a forced renewal since). */
  readonly certificateNotBefore: number;
}

/** DESIGN §8 `certificate: {fingerprintSha256, notAfter, renewAfter}`. */
export interface CertificateRenewal {
  readonly fingerprintSha256: string;
  readonly notAfter: string;
  readonly renewAfter: string;
}

/** A device that proved a pre-shared key (CoAP over DTLS): no certificate, no path, no expiry. */
export interface PskAuthenticatedDevice extends AdmittedDevice {
  readonly credential: 'pre-shared-key';
  readonly pskIdentity: string;
  /** The device's certificate ID when it has one too; null for a PSK-only device. */
  readonly certificateId: string | null;
}

/** A device the platform let in: a union on how it proved itself. */
export type AuthenticatedDevice = CertificateAuthenticatedDevice | PskAuthenticatedDevice;

/** A refusal: its code, the words, and, for the path validator's codes, the code's facts (CERT_EXPIRED's notAfter …). */
export interface DeviceRefusal {
  readonly ok: false;
  readonly code: DeviceAuthFailureCode;
  readonly message: string;
  readonly context?: PkiErrorContext | StaleCrlFacts | SupersededFacts;
}

/** CERT_SUPERSEDED's facts: since when, the grace period, and when it stopped connecting. */
export type SupersededFacts = {
  readonly supersededAt: string;
  readonly gracePeriodSeconds: number;
  readonly refusedFrom: string;
};

/** CRL_STALE's facts: the CA whose CRL is stale, since when, and where in the path. */
export type StaleCrlFacts = {
  readonly certIndex: number;
  readonly caId: string;
  readonly nextUpdate: string | null;
};

export type DeviceAuthResult = { readonly ok: true; readonly device: AuthenticatedDevice } | DeviceRefusal;

export interface ConnectionFacts {
  readonly transport: AuthenticationTransport;
  readonly remoteAddress?: string | undefined;
}

/**
 * A handshake that failed after the client presented a certificate, as neutral facts: the
 * transport says what happened, the identity service decides what it means.
 */
export interface HandshakeFailure {
  /** The certificates the client sent, leaf first, DER. */
  readonly chain: readonly Buffer[];
  /** A signature of the client's did not verify (for a server, only CertificateVerify: the key was not proven). */
  readonly signatureFailed: boolean;
  /** The TLS stack's own words, for the audit. */
  readonly reason: string;
}
