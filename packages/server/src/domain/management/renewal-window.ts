import type { ProjectSettings } from './project-settings.js';

/** A device certificate as its renewal window reads it. */
export interface RenewableCertificate {
  readonly fingerprintSha256: string;
  /** ms since the epoch */
  readonly notBefore: number;
  readonly notAfter: number;
}

/**
 * When a certificate should be renewed (DESIGN §8 `renewAfter`): at `renewAtLifetimeFraction` of
 * its lifetime, plus a jitter of up to `renewalJitterSeconds` drawn from its fingerprint — the
 * same instant on every server and every transport, yet spread over a fleet issued in one batch.
 * A forced renewal (`POST …/renewals`) asked after the certificate was issued moves it to then.
 * Never later than notAfter. Whole seconds, ISO 8601.
 */
export function renewAfterOf(certificate: RenewableCertificate, settings: Pick<ProjectSettings, 'renewAtLifetimeFraction' | 'renewalJitterSeconds'>, renewalRequestedAt?: number): string {
  const lifetime = certificate.notAfter - certificate.notBefore;
  // The fingerprint's first 32 bits, as a fraction of the jitter: uniform over a fleet, fixed per certificate.
  const draw = Number.parseInt(certificate.fingerprintSha256.slice(0, 8), 16) / 0x1_0000_0000;
  const jitterMs = Math.floor(draw * settings.renewalJitterSeconds) * 1000;
  let at = Math.min(certificate.notBefore + Math.floor((lifetime * settings.renewAtLifetimeFraction) / 1000) * 1000 + jitterMs, certificate.notAfter);
  // A certificate issued at or after the request (whole seconds, as notBefore is) is the renewal itself.
  if (renewalRequestedAt !== undefined && certificate.notBefore < Math.floor(renewalRequestedAt / 1000) * 1000) at = Math.min(at, renewalRequestedAt);
  return new Date(Math.floor(at / 1000) * 1000).toISOString();
}
