import { ServiceError } from '../../service-error.js';

/**
 * What a project API key may be used for (DESIGN §8):
 * - `api`: the management API (every key made before scopes existed has exactly this);
 * - `mqtt:subscribe`, `mqtt:publish`: an application on the MQTT broker, reading under
 *   `{project}/` and sending commands under `{project}/{certificateId}/` (docs/mqtt-applications.md).
 * A key carries only the scopes it was made with: they are never widened later, so a key handed
 * to a backend that only listens cannot be turned into one that manages the project.
 */
export const API_KEY_SCOPES = ['api', 'mqtt:subscribe', 'mqtt:publish'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** A key stored without scopes (the column is null) is a management key, as every key was. */
export const DEFAULT_API_KEY_SCOPES: readonly ApiKeyScope[] = ['api'];

function isScope(value: unknown): value is ApiKeyScope {
  return typeof value === 'string' && (API_KEY_SCOPES as readonly string[]).includes(value);
}

/**
 * The scopes a stored `api_keys.scopes` value holds. The column is written only by
 * `storedScopes`; anything else in it (a hand edit) grants nothing rather than guessing.
 */
export function scopesOf(stored: string | null): readonly ApiKeyScope[] {
  if (stored === null) return DEFAULT_API_KEY_SCOPES;
  let parsed: unknown;
  try {
    parsed = JSON.parse(stored);
  } catch {
    return [];
  }
  return Array.isArray(parsed) ? API_KEY_SCOPES.filter((scope) => parsed.includes(scope)) : [];
}

/** The column value for a new key's scopes, in the catalog's order, each once; null for the default. */
export function storedScopes(requested: readonly string[] | undefined): string | null {
  if (requested === undefined) return null;
  const unknown = requested.filter((scope) => !isScope(scope));
  if (unknown.length > 0) throw new ServiceError('VALIDATION_FAILED', `unknown API key scope ${JSON.stringify(unknown[0])}; scopes are ${API_KEY_SCOPES.join(', ')}`);
  if (requested.length === 0) throw new ServiceError('VALIDATION_FAILED', 'an API key needs at least one scope');
  const scopes = API_KEY_SCOPES.filter((scope) => requested.includes(scope));
  return scopes.length === 1 && scopes[0] === 'api' ? null : JSON.stringify(scopes);
}

/** Refuses a key that lacks `scope` (403 API_KEY_SCOPE_MISSING). */
export function requireScope(scopes: readonly ApiKeyScope[], scope: ApiKeyScope): void {
  if (!scopes.includes(scope)) throw new ServiceError('API_KEY_SCOPE_MISSING', `this API key lacks the ${scope} scope`, { scope });
}
