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
}

export const DEFAULT_PROJECT_SETTINGS: ProjectSettings = {
  staleCrl: 'apply',
  crlValiditySeconds: 7 * 24 * 3600,
  rotationGracePeriodSeconds: 3600,
  supersedeOnNewerCertificate: false,
  renewAtLifetimeFraction: 0.67,
  renewalJitterSeconds: 0,
  expiryAlertDays: [30, 7, 1],
};

/** Bounds of the duration settings, in seconds. */
export const CRL_VALIDITY_SECONDS_BOUNDS = { min: 3600, max: 366 * 24 * 3600 } as const;
export const ROTATION_GRACE_SECONDS_BOUNDS = { min: 0, max: 365 * 24 * 3600 } as const;
export const RENEWAL_JITTER_SECONDS_BOUNDS = { min: 0, max: 30 * 24 * 3600 } as const;
/** expiryAlertDays: at most this many thresholds, each 1 to 3650 days. */
export const EXPIRY_ALERT_DAYS_BOUNDS = { count: 10, min: 1, max: 3650 } as const;

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
  };
}
