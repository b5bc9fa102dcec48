import type { Kysely } from 'kysely';
import { perStore, preparedQuery } from '../../store/prepared-query.js';
import type { Database, ProjectRow } from '../../store/schema.js';
import { presentedKeyHash, principalOf } from './api-keys.js';
import type { Principal } from '../shared/principal.js';
import { projectForPrincipalRow } from './projects.js';
import type { ServiceDeps } from '../shared/service-deps.js';
import { KeyAndProjectCache } from './key-and-project-cache.js';

interface KeyAndProjectRow {
  readonly key_id: string;
  readonly key_project_id: string | null;
  readonly key_prefix: string;
  readonly key_revoked_at: string | null;
  readonly key_scopes: string | null;
  readonly id: string | null;
  readonly slug: string | null;
  readonly name: string | null;
  readonly created_at: string | null;
  readonly updated_at: string | null;
  readonly ca_generation: number | null;
  readonly auth_generation: number | null;
  readonly revocation_generation: number | null;
  readonly settings: string | null;
}

type KeyAndProjectQuery = (values: { hash: string; slug: string }) => Promise<KeyAndProjectRow | undefined>;

/** Compiled once per store: the request path of a factory line runs it for every certificate. */
const keyAndProjectQuery = perStore<Database, KeyAndProjectQuery>(
  (db) =>
    preparedQuery(db, ['hash', 'slug'], (q, p) =>
      q
        .selectFrom('api_keys as k')
        .leftJoin('projects as p', (join) => join.on('p.slug', '=', p.slug))
        .select([
          'k.id as key_id',
          'k.project_id as key_project_id',
          'k.key_prefix as key_prefix',
          'k.revoked_at as key_revoked_at',
          'k.scopes as key_scopes',
          'p.id',
          'p.slug',
          'p.name',
          'p.created_at',
          'p.updated_at',
          'p.ca_generation',
          'p.auth_generation',
          'p.revocation_generation',
          'p.settings',
        ])
        .where('k.key_hash', '=', p.hash),
    ) as KeyAndProjectQuery,
);

const keyAndProjectCache = perStore<Database, KeyAndProjectCache<KeyAndProjectRow>>(() => new KeyAndProjectCache());

/** After a change through the management API (a key made or revoked, a project changed): read afresh. */
export function forgetKeysAndProjects(db: Kysely<Database>): void {
  keyAndProjectCache(db).forget();
}

/**
 * `authenticate` and `projectForPrincipal` in one read (kept for a second, key-and-project-cache.ts), for the routes a factory line calls per
 * certificate, where the two round trips were a tenth of the request. A missing or bad key is
 * refused at once; the project's refusals (no project, another project's key) wait in
 * `project()`, so the caller says them where the app does — after the body's own checks.
 */
export async function authenticateForProject(deps: ServiceDeps, presented: string | undefined, slug: string): Promise<{ principal: Principal; project: () => ProjectRow }> {
  const hash = presentedKeyHash(presented);
  const row = await keyAndProjectCache(deps.db).read(`${hash}\u0000${slug}`, () => keyAndProjectQuery(deps.db)({ hash, slug }));
  const principal = principalOf(row && { id: row.key_id, project_id: row.key_project_id, key_prefix: row.key_prefix, revoked_at: row.key_revoked_at, scopes: row.key_scopes });
  const project =
    row?.id != null
      ? ({
          id: row.id,
          slug: row.slug as string,
          name: row.name as string,
          created_at: row.created_at as string,
          updated_at: row.updated_at as string,
          ca_generation: row.ca_generation as number,
          auth_generation: row.auth_generation as number,
          revocation_generation: row.revocation_generation as number,
          settings: row.settings as string,
        } satisfies ProjectRow)
      : undefined;
  return { principal, project: () => projectForPrincipalRow(principal, slug, project) };
}
