import { randomUUID } from 'node:crypto';
import { isValidProjectSlug } from '@fleetpki/pki';
import { ServiceError } from '../../service-error.js';
import type { ProjectRow } from '../../store/schema.js';
import { isUniqueViolation } from '../../store/constraint-violations.js';
import { recordAudit } from '../shared/audit-log.js';
import { fetchPage, TEXT_KEY, type Page, type PageRequest } from '../shared/pagination.js';
import { actorName, type Principal } from '../shared/principal.js';
import { bumpGenerations } from '../shared/project-generations.js';
import type { ServiceDeps } from '../shared/service-deps.js';
import { projectSettingsOf, type ProjectSettings } from './project-settings.js';

export interface Project {
  /** The slug: the project ID in every path (DESIGN §3). */
  readonly id: string;
  readonly slug: string;
  readonly name: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly settings: ProjectSettings;
}

export const MAX_PROJECT_NAME_LENGTH = 200;

export function projectView(row: ProjectRow): Project {
  return { id: row.slug, slug: row.slug, name: row.name, createdAt: row.created_at, updatedAt: row.updated_at, settings: projectSettingsOf(row) };
}

/** A slug from a display name, for callers that give only a name ("Acme Sensors" -> "acme-sensors"). */
export function slugFromName(name: string): string {
  return name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
}

/** A project deleted by a concurrent request while this one was writing into it. */
export function projectGone(project: ProjectRow): ServiceError {
  return new ServiceError('PROJECT_NOT_FOUND', `no project ${JSON.stringify(project.slug)} (it was deleted)`, { projectId: project.slug });
}

export function requireAdmin(principal: Principal, what: string): void {
  if (principal.kind !== 'admin') throw new ServiceError('ADMIN_KEY_REQUIRED', `${what} needs the admin API key; a project key sees only its project`);
}

/**
 * Resolves the project a path names and checks the caller may see it. A project key used on
 * any other project gets PROJECT_ACCESS_DENIED, whether that project exists or not, so a key
 * cannot enumerate the platform's slugs; the admin gets PROJECT_NOT_FOUND for a missing one.
 */
export async function projectForPrincipal(deps: ServiceDeps, principal: Principal, slug: string): Promise<ProjectRow> {
  return projectForPrincipalRow(principal, slug, await deps.db.selectFrom('projects').selectAll().where('slug', '=', slug).executeTakeFirst());
}

/** The project a principal may reach, from its row as read (undefined: there is none). */
export function projectForPrincipalRow(principal: Principal, slug: string, row: ProjectRow | undefined): ProjectRow {
  if (principal.kind === 'project' && principal.projectId !== row?.id) {
    throw new ServiceError('PROJECT_ACCESS_DENIED', `this API key belongs to another project; it cannot reach ${JSON.stringify(slug)}`, { projectId: slug });
  }
  if (!row) throw new ServiceError('PROJECT_NOT_FOUND', `no project ${JSON.stringify(slug)}`, { projectId: slug });
  return row;
}

export async function createProject(deps: ServiceDeps, principal: Principal, input: { name: string; slug?: string | undefined }): Promise<Project> {
  requireAdmin(principal, 'creating a project');
  const slug = input.slug ?? slugFromName(input.name);
  if (!isValidProjectSlug(slug)) {
    throw new ServiceError('PROJECT_SLUG_INVALID', `project slug ${JSON.stringify(slug)} must match ^[a-z0-9][a-z0-9-]{1,62}$`, { slug });
  }
  const at = deps.now().toISOString();
  const row: ProjectRow = { id: randomUUID(), slug, name: input.name, created_at: at, updated_at: at, ca_generation: 0, auth_generation: 0, revocation_generation: 0, settings: '{}' };
  try {
    await deps.db.transaction().execute(async (trx) => {
      await trx.insertInto('projects').values(row).execute();
      await recordAudit(trx, deps.now(), { actor: actorName(principal), action: 'project.create', targetType: 'project', targetId: slug, projectId: row.id, details: { name: row.name } });
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new ServiceError('PROJECT_SLUG_TAKEN', `a project with slug ${JSON.stringify(slug)} already exists`, { slug });
    throw error;
  }
  return projectView(row);
}

export async function listProjects(deps: ServiceDeps, principal: Principal, request: PageRequest): Promise<Page<Project>> {
  let query = deps.db.selectFrom('projects');
  if (principal.kind === 'project') query = query.where('id', '=', principal.projectId);
  return fetchPage(deps.db, query, (q) => q.selectAll(), projectView, request, { columns: ['slug'], direction: 'asc', key: (row) => [row.slug], patterns: [TEXT_KEY] });
}

/**
 * Renames a project and changes its settings (DESIGN §8). A settings change is announced like a
 * revocation (servers reload the project's revocation set, which applies staleCrl, and re-check
 * its live connections), in the transaction that makes it, with its audit event.
 */
export async function updateProject(deps: ServiceDeps, principal: Principal, slug: string, input: { name?: string | undefined; settings?: Partial<ProjectSettings> | undefined }): Promise<Project> {
  const row = await projectForPrincipal(deps, principal, slug);
  const current = projectSettingsOf(row);
  const changedSettings = Object.fromEntries(Object.entries(input.settings ?? {}).filter(([name, value]) => value !== undefined && JSON.stringify(current[name as keyof ProjectSettings]) !== JSON.stringify(value)));
  const renamed = input.name !== undefined && input.name !== row.name;
  if (!renamed && Object.keys(changedSettings).length === 0) return projectView(row);
  const settings = JSON.stringify({ ...JSON.parse(row.settings || '{}'), ...changedSettings });
  const updated: ProjectRow = { ...row, name: renamed ? (input.name as string) : row.name, settings, updated_at: deps.now().toISOString() };
  await deps.db.transaction().execute(async (trx) => {
    await trx.updateTable('projects').set({ name: updated.name, settings, updated_at: updated.updated_at }).where('id', '=', row.id).execute();
    if (Object.keys(changedSettings).length > 0) await bumpGenerations(trx, row.id, { ca: false, revocations: true });
    await recordAudit(trx, deps.now(), {
      actor: actorName(principal),
      action: 'project.update',
      targetType: 'project',
      targetId: slug,
      projectId: row.id,
      details: { ...(renamed ? { name: updated.name } : {}), ...(Object.keys(changedSettings).length > 0 ? { settings: changedSettings } : {}) },
    });
  });
  return projectView(updated);
}

/** Deletes a project with its CA certificates, devices and keys; its audit log stays. */
export async function deleteProject(deps: ServiceDeps, principal: Principal, slug: string): Promise<void> {
  requireAdmin(principal, 'deleting a project');
  const row = await projectForPrincipal(deps, principal, slug);
  await deps.db.transaction().execute(async (trx) => {
    const deleted = await trx.deleteFrom('projects').where('id', '=', row.id).executeTakeFirst();
    if (Number(deleted.numDeletedRows) !== 1) throw projectGone(row);
    await recordAudit(trx, deps.now(), { actor: actorName(principal), action: 'project.delete', targetType: 'project', targetId: slug, projectId: row.id });
  });
}
