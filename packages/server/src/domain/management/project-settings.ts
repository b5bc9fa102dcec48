import type { ProjectRow } from '../../store/schema.js';

/**
 * A project's settings (DESIGN §8): stored on the project as JSON, shown whole with defaults
 * filled in, changed by `PATCH /v1/projects/{p} {settings}`. Durations are seconds. Each
 * setting is added here by the work that reads it; an unknown name is refused by the API schema.
 */
export interface ProjectSettings {
  /** A CRL past its nextUpdate: `apply` keeps refusing its entries only; `refuse` also refuses every device under its CA (CRL_STALE). */
  readonly staleCrl: 'apply' | 'refuse';
  /** How long a managed CA's CRL is valid; it is re-signed at half of it (and on every revocation). */
  readonly crlValiditySeconds: number;
  /** After a device first authenticates with a certificate that supersedes its others, how long those still connect (CERT_SUPERSEDED after). */
  readonly rotationGracePeriodSeconds: number;
  /** For uploaded CAs too: a certificate with a later notBefore supersedes the device's older ones (issued certificates always do). */
  readonly supersedeOnNewerCertificate: boolean;
  /** The fraction of a certificate's lifetime after which it should be renewed (its renewAfter). */
  readonly renewAtLifetimeFraction: number;
  /** renewAfter is spread over this many seconds after that point, per certificate, so a fleet issued together does not renew together. */
  readonly renewalJitterSeconds: number;
  /** Days before notAfter at which `certificate.expiring` is reported, once each per certificate. */
  readonly expiryAlertDays: readonly number[];
  /** How long a device identity token (POST /v1/token on the gateway, RFC 8705) is valid. */
  readonly tokenLifetimeSeconds: number;
  /** The audiences a device may ask a token for; none (the default) gives no tokens. */
  readonly tokenAudiences: readonly string[];
  /** EST serverkeygen (RFC 7030 §4.4): the server makes a constrained device's key and sends it back over TLS. Off by default. */
  readonly allowServerKeygen: boolean;
}

export const DEFAULT_PROJECT_SETTINGS: ProjectSettings = {
  staleCrl: 'apply',
  crlValiditySeconds: 7 * 24 * 3600,
  rotationGracePeriodSeconds: 3600,
  supersedeOnNewerCertificate: false,
  renewAtLifetimeFraction: 0.67,
  renewalJitterSeconds: 0,
  expiryAlertDays: [30, 7, 1],
  tokenLifetimeSeconds: 600,
  tokenAudiences: [],
  allowServerKeygen: false,
};

/** Bounds of the duration settings, in seconds. */
export const CRL_VALIDITY_SECONDS_BOUNDS = { min: 3600, max: 366 * 24 * 3600 } as const;
export const ROTATION_GRACE_SECONDS_BOUNDS = { min: 0, max: 365 * 24 * 3600 } as const;
export const RENEWAL_JITTER_SECONDS_BOUNDS = { min: 0, max: 30 * 24 * 3600 } as const;
/** expiryAlertDays: at most this many thresholds, each 1 to 3650 days. */
export const EXPIRY_ALERT_DAYS_BOUNDS = { count: 10, min: 1, max: 3650 } as const;
/** A device token lives at least a minute and at most a day: the signing keys stay published this long after they stop signing. */
export const TOKEN_LIFETIME_SECONDS_BOUNDS = { min: 60, max: 24 * 3600 } as const;
/** tokenAudiences: at most this many, each of 1 to `length` printable ASCII characters. */
export const TOKEN_AUDIENCES_BOUNDS = { count: 20, length: 256 } as const;

const numberOr = (value: unknown, fallback: number): number => (typeof value === 'number' && Number.isFinite(value) ? value : fallback);

/** The settings a project row holds, over the defaults (a setting stored by an older server and since removed is ignored). */
export function projectSettingsOf(row: Pick<ProjectRow, 'settings'>): ProjectSettings {
  let stored: Partial<Record<keyof ProjectSettings, unknown>> = {};
  try {
    stored = JSON.parse(row.settings || '{}') as typeof stored;
  } catch {
    stored = {};
  }
  const defaults = DEFAULT_PROJECT_SETTINGS;
  const alertDays = Array.isArray(stored.expiryAlertDays) && stored.expiryAlertDays.every((d) => typeof d === 'number') ? (stored.expiryAlertDays as number[]) : defaults.expiryAlertDays;
  return {
    staleCrl: stored.staleCrl === 'refuse' ? 'refuse' : 'apply',
    crlValiditySeconds: numberOr(stored.crlValiditySeconds, defaults.crlValiditySeconds),
    rotationGracePeriodSeconds: numberOr(stored.rotationGracePeriodSeconds, defaults.rotationGracePeriodSeconds),
    supersedeOnNewerCertificate: stored.supersedeOnNewerCertificate === true,
    renewAtLifetimeFraction: numberOr(stored.renewAtLifetimeFraction, defaults.renewAtLifetimeFraction),
    renewalJitterSeconds: numberOr(stored.renewalJitterSeconds, defaults.renewalJitterSeconds),
    expiryAlertDays: alertDays,
    tokenLifetimeSeconds: numberOr(stored.tokenLifetimeSeconds, defaults.tokenLifetimeSeconds),
    tokenAudiences: Array.isArray(stored.tokenAudiences) && stored.tokenAudiences.every((a) => typeof a === 'string') ? (stored.tokenAudiences as string[]) : defaults.tokenAudiences,
    allowServerKeygen: stored.allowServerKeygen === true,
  };
}
