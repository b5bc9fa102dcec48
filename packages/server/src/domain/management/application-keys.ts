import { ServiceError } from '../../service-error.js';
import { presentedKeyHash } from './api-keys.js';
import { scopesOf, type ApiKeyScope } from './api-key-scopes.js';
import type { ServiceDeps } from '../shared/service-deps.js';

/** The MQTT scopes: a key with neither is not an application key. */
const MQTT_SCOPES: readonly ApiKeyScope[] = ['mqtt:subscribe', 'mqtt:publish'];

/** An application the broker admitted: which key, of which project, allowed what. */
export interface ApplicationCredential {
  readonly keyId: string;
  readonly keyPrefix: string;
  /** The project's slug: the first level of every topic it may use. */
  readonly projectId: string;
  /** The project's internal id. */
  readonly projectKey: string;
  readonly scopes: readonly ApiKeyScope[];
}

/**
 * An application's MQTT credentials: username the project's slug, password one of that project's
 * API keys made with an `mqtt:*` scope. The admin key and another project's key are refused as
 * an unknown key is, so the answer tells a guesser nothing about which projects exist.
 */
export async function authenticateApplication(deps: ServiceDeps, slug: string | undefined, presented: Buffer | undefined): Promise<ApplicationCredential> {
  if (slug === undefined || slug === '' || presented === undefined || presented.length === 0) {
    throw new ServiceError('API_KEY_MISSING', 'an application connects with the project slug as username and an API key as password');
  }
  const hash = presentedKeyHash(presented.toString('utf8'));
  const row = await deps.db
    .selectFrom('api_keys as k')
    .innerJoin('projects as p', 'p.id', 'k.project_id')
    .select(['k.id', 'k.key_prefix', 'k.revoked_at', 'k.scopes', 'p.id as project_key', 'p.slug'])
    .where('k.key_hash', '=', hash)
    .executeTakeFirst();
  if (!row || row.revoked_at !== null || row.slug !== slug) throw new ServiceError('API_KEY_INVALID', 'the API key is not valid for this project (unknown, revoked or another project’s)');
  const scopes = scopesOf(row.scopes);
  if (!MQTT_SCOPES.some((scope) => scopes.includes(scope))) throw new ServiceError('API_KEY_SCOPE_MISSING', 'this API key has no mqtt:subscribe or mqtt:publish scope', { scope: 'mqtt:subscribe' });
  return { keyId: row.id, keyPrefix: row.key_prefix, projectId: row.slug, projectKey: row.project_key, scopes };
}

/** Of `keyIds`, those still live (not revoked, their project not deleted): one read for every session a node holds. */
export async function liveApiKeys(deps: ServiceDeps, keyIds: readonly string[]): Promise<Set<string>> {
  const live = new Set<string>();
  // Bounded IN lists: SQLite allows 32,766 parameters, and a node may hold many applications.
  for (let i = 0; i < keyIds.length; i += 500) {
    const rows = await deps.db
      .selectFrom('api_keys')
      .select('id')
      .where('id', 'in', keyIds.slice(i, i + 500))
      .where('revoked_at', 'is', null)
      .execute();
    for (const row of rows) live.add(row.id);
  }
  return live;
}
