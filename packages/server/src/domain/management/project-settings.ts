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
}

export const DEFAULT_PROJECT_SETTINGS: ProjectSettings = { staleCrl: 'apply', crlValiditySeconds: 7 * 24 * 3600 };

/** Bounds of the duration settings, in seconds. */
export const CRL_VALIDITY_SECONDS_BOUNDS = { min: 3600, max: 366 * 24 * 3600 } as const;

/** The settings a project row holds, over the defaults (a setting stored by an older server and since removed is ignored). */
export function projectSettingsOf(row: Pick<ProjectRow, 'settings'>): ProjectSettings {
  let stored: Partial<Record<keyof ProjectSettings, unknown>> = {};
  try {
    stored = JSON.parse(row.settings || '{}') as typeof stored;
  } catch {
    stored = {};
  }
  return {
    staleCrl: stored.staleCrl === 'refuse' ? 'refuse' : 'apply',
    crlValiditySeconds: typeof stored.crlValiditySeconds === 'number' ? stored.crlValiditySeconds : DEFAULT_PROJECT_SETTINGS.crlValiditySeconds,
  };
}
