import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { ServiceError } from '../../service-error.js';
import type { ApiKeysTable, ProjectRow } from '../../store/schema.js';
import { isForeignKeyViolation, isUniqueViolation } from '../../store/constraint-violations.js';
import { projectGone } from './projects.js';
import { recordAudit } from '../shared/audit-log.js';
import { fetchPage, oldestFirst, type Page, type PageRequest } from '../shared/pagination.js';
import { actorName, type Principal } from '../shared/principal.js';
import type { ServiceDeps } from '../shared/service-deps.js';
import { requireScope, scopesOf, storedScopes, type ApiKeyScope } from './api-key-scopes.js';

/** Keys look like `fpk_<43 base64url chars>`: 256 random bits, recognisable in a leaked log. */
const KEY_PREFIX = 'fpk_';
const KEY_PATTERN = /^fpk_[A-Za-z0-9_-]{43}$/;
const SHOWN_PREFIX_LENGTH = 12;
const ADMIN_KEY_SETTING = 'admin-api-key-id';

export interface ApiKey {
  readonly id: string;
  readonly name: string;
  /** The first characters of the key, enough to tell keys apart. */
  readonly prefix: string;
  readonly createdAt: string;
  readonly revokedAt: string | null;
  /** What the key may be used for (api-key-scopes.ts). */
  readonly scopes: readonly ApiKeyScope[];
}

/** A key just made: the only time its secret is shown. */
export interface NewApiKey extends ApiKey {
  readonly key: string;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function newKey(): { key: string; hash: string; prefix: string } {
  const key = KEY_PREFIX + randomBytes(32).toString('base64url');
  return { key, hash: hashApiKey(key), prefix: key.slice(0, SHOWN_PREFIX_LENGTH) };
}

function apiKeyView(row: ApiKeysTable): ApiKey {
  return { id: row.id, name: row.name, prefix: row.key_prefix, createdAt: row.created_at, revokedAt: row.revoked_at, scopes: scopesOf(row.scopes) };
}

/** Resolves an `x-api-key` header to the principal it stands for. */
export async function authenticate(deps: ServiceDeps, presented: string | undefined): Promise<Principal> {
  const hash = presentedKeyHash(presented);
  return principalOf(await deps.db.selectFrom('api_keys').selectAll().where('key_hash', '=', hash).executeTakeFirst());
}

/** The stored hash to look a presented key up by; a missing or malformed key is refused without touching the store. */
export function presentedKeyHash(presented: string | undefined): string {
  if (presented === undefined || presented === '') throw new ServiceError('API_KEY_MISSING', 'send an API key in the x-api-key header');
  if (!KEY_PATTERN.test(presented)) throw new ServiceError('API_KEY_INVALID', 'the API key is not valid');
  return hashApiKey(presented);
}

/** The principal a key's row stands for on the management API, if the key is live and made for it. */
export function principalOf(row: Pick<ApiKeysTable, 'id' | 'project_id' | 'key_prefix' | 'revoked_at' | 'scopes'> | undefined): Principal {
  if (!row || row.revoked_at !== null) throw new ServiceError('API_KEY_INVALID', 'the API key is not valid (unknown or revoked)');
  requireScope(scopesOf(row.scopes), 'api');
  return row.project_id === null
    ? { kind: 'admin', keyId: row.id, keyPrefix: row.key_prefix }
    : { kind: 'project', keyId: row.id, keyPrefix: row.key_prefix, projectId: row.project_id };
}

/** Where the admin key is kept for its operator, written before the key is committed. */
export interface AdminKeyKeeper {
  /** Stores the key durably (the data directory's 0600 file); a throw cancels the commit. */
  keep(key: string): void;
  /** Another server committed its key first: forget the one kept for this attempt. */
  discard(key: string): void;
}

/**
 * Creates the admin key when the store has none (first start): returns it, or undefined when
 * an admin key already exists. The key is kept (written to its file) before it is committed,
 * so a crash in between leaves a file nobody relies on rather than a key nobody has.
 * Servers sharing a database share its admin key.
 */
export async function ensureAdminKey(deps: ServiceDeps, keeper: AdminKeyKeeper): Promise<NewApiKey | undefined> {
  const claimed = await deps.db.selectFrom('platform_settings').select('value').where('name', '=', ADMIN_KEY_SETTING).executeTakeFirst();
  if (claimed) return undefined;
  const { key, hash, prefix } = newKey();
  const row: ApiKeysTable = { id: randomUUID(), project_id: null, name: 'admin', key_hash: hash, key_prefix: prefix, created_at: deps.now().toISOString(), revoked_at: null, scopes: null };
  keeper.keep(key);
  try {
    await deps.db.transaction().execute(async (trx) => {
      // The settings row is the claim: of two servers starting together on one database, one
      // inserts it and the other's insert fails on the primary key, so exactly one admin key exists.
      await trx.insertInto('platform_settings').values({ name: ADMIN_KEY_SETTING, value: row.id }).execute();
      await trx.insertInto('api_keys').values(row).execute();
      await recordAudit(trx, deps.now(), { actor: 'server', action: 'api-key.create', targetType: 'api-key', targetId: row.id, projectId: null, details: { admin: true, prefix } });
    });
  } catch (error) {
    keeper.discard(key);
    if (isUniqueViolation(error)) return undefined;
    throw error;
  }
  return { ...apiKeyView(row), key };
}

/**
 * Revokes every admin key, so the next ensureAdminKey makes a new one: the way back for an
 * operator who lost the key file (`fleetpki serve --reset-admin-key`, run on the server itself).
 */
export async function revokeAdminKeys(deps: ServiceDeps): Promise<number> {
  return deps.db.transaction().execute(async (trx) => {
    const at = deps.now();
    const revoked = await trx.updateTable('api_keys').set({ revoked_at: at.toISOString() }).where('project_id', 'is', null).where('revoked_at', 'is', null).executeTakeFirst();
    await trx.deleteFrom('platform_settings').where('name', '=', ADMIN_KEY_SETTING).execute();
    const count = Number(revoked.numUpdatedRows);
    await recordAudit(trx, at, { actor: 'server', action: 'api-key.revoke', targetType: 'api-key', targetId: 'admin', projectId: null, details: { admin: true, reset: true, count } });
    return count;
  });
}

/**
 * Project keys are made and revoked with the admin key only: a leaked project key must not be
 * able to mint a successor that outlives its own revocation.
 */
function requireAdminForKeys(principal: Principal): void {
  if (principal.kind !== 'admin') throw new ServiceError('ADMIN_KEY_REQUIRED', 'project API keys are created and revoked with the admin API key');
}

export async function createProjectApiKey(deps: ServiceDeps, principal: Principal, project: ProjectRow, input: { name?: string | undefined; scopes?: readonly string[] | undefined }): Promise<NewApiKey> {
  requireAdminForKeys(principal);
  const scopes = storedScopes(input.scopes);
  const { key, hash, prefix } = newKey();
  const row: ApiKeysTable = {
    id: randomUUID(),
    project_id: project.id,
    name: input.name ?? 'api key',
    key_hash: hash,
    key_prefix: prefix,
    created_at: deps.now().toISOString(),
    revoked_at: null,
    scopes,
  };
  await deps.db.transaction().execute(async (trx) => {
    await trx.insertInto('api_keys').values(row).execute().catch((error: unknown) => {
      throw isForeignKeyViolation(error) ? projectGone(project) : error;
    });
    await recordAudit(trx, deps.now(), { actor: actorName(principal), action: 'api-key.create', targetType: 'api-key', targetId: row.id, projectId: project.id, details: { name: row.name, prefix, scopes: scopesOf(scopes) } });
  });
  return { ...apiKeyView(row), key };
}

export async function listProjectApiKeys(deps: ServiceDeps, project: ProjectRow, request: PageRequest): Promise<Page<ApiKey>> {
  const query = deps.db.selectFrom('api_keys').where('project_id', '=', project.id);
  return fetchPage(deps.db, query, (q) => q.selectAll(), apiKeyView, request, oldestFirst());
}

/** Revokes a key: it stops working at once and stays listed (with revokedAt) for the record. */
export async function revokeProjectApiKey(deps: ServiceDeps, principal: Principal, project: ProjectRow, id: string): Promise<ApiKey> {
  requireAdminForKeys(principal);
  const row = await deps.db.selectFrom('api_keys').selectAll().where('project_id', '=', project.id).where('id', '=', id).executeTakeFirst();
  if (!row) throw new ServiceError('API_KEY_NOT_FOUND', `no API key ${JSON.stringify(id)} in project ${JSON.stringify(project.slug)}`, { apiKeyId: id });
  if (row.revoked_at !== null) return apiKeyView(row);
  const revoked: ApiKeysTable = { ...row, revoked_at: deps.now().toISOString() };
  await deps.db.transaction().execute(async (trx) => {
    const changed = await trx.updateTable('api_keys').set({ revoked_at: revoked.revoked_at }).where('id', '=', row.id).where('revoked_at', 'is', null).executeTakeFirst();
    // Revoked by a concurrent request: that one is audited.
    if (Number(changed.numUpdatedRows) !== 1) return;
    await recordAudit(trx, deps.now(), { actor: actorName(principal), action: 'api-key.revoke', targetType: 'api-key', targetId: row.id, projectId: project.id, details: { prefix: row.key_prefix } });
  });
  return apiKeyView(revoked);
}
