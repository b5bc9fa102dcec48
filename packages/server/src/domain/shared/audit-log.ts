import type { Insertable, Kysely, Transaction } from 'kysely';
import type { AuditEventsTable, Database } from '../../store/schema.js';
import { fetchPage, type Page, type PageRequest } from './pagination.js';
import type { ServiceDeps } from './service-deps.js';

export interface AuditEntry {
  readonly actor: string;
  readonly action: string;
  readonly targetType: string;
  readonly targetId: string;
  readonly projectId: string | null;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface AuditEvent {
  readonly id: number;
  /** The project's internal id (kept after the project is deleted), null for platform events. */
  readonly projectKey: string | null;
  readonly actor: string;
  readonly action: string;
  readonly targetType: string;
  readonly targetId: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
}

/**
 * Records a change in the same transaction as the change itself: either both are stored or
 * neither is, so the log never claims what did not happen nor misses what did.
 */
export async function recordAudit(trx: Transaction<Database> | Kysely<Database>, at: Date, entry: AuditEntry): Promise<void> {
  await trx.insertInto('audit_events').values(auditRow(at, entry)).execute();
}

/** An audit entry as the store keeps it. */
export function auditRow(at: Date, entry: AuditEntry): Insertable<AuditEventsTable> {
  return {
    project_id: entry.projectId,
    actor: entry.actor,
    action: entry.action,
    target_type: entry.targetType,
    target_id: entry.targetId,
    details: JSON.stringify(entry.details ?? {}),
    created_at: at.toISOString(),
  };
}

/** A page of the log, optionally only some actions, one target or one actor. */
export interface AuditQuery extends PageRequest {
  readonly action?: readonly string[] | undefined;
  readonly targetId?: string | undefined;
  readonly actor?: string | undefined;
}

/**
 * Audit events, newest first: one project's (by its internal id), or with `null` every event
 * of the platform — including those of deleted projects and those tied to no project (the
 * admin key's creation, devices whose certificate names no project).
 */
export async function listAuditEvents(deps: ServiceDeps, projectId: string | null, request: AuditQuery): Promise<Page<AuditEvent>> {
  let query = projectId === null ? deps.db.selectFrom('audit_events') : deps.db.selectFrom('audit_events').where('project_id', '=', projectId);
  if (request.action !== undefined && request.action.length > 0) query = query.where('action', 'in', request.action);
  if (request.targetId !== undefined) query = query.where('target_id', '=', request.targetId);
  if (request.actor !== undefined) query = query.where('actor', '=', request.actor);
  return fetchPage(
    deps.db,
    query,
    (q) => q.selectAll(),
    (row) => ({
      projectKey: row.project_id,
      id: Number(row.id),
      actor: row.actor,
      action: row.action,
      targetType: row.target_type,
      targetId: row.target_id,
      details: JSON.parse(row.details) as Record<string, unknown>,
      createdAt: row.created_at,
    }),
    request,
    { columns: ['id'], direction: 'desc', key: (row) => [String(row.id)], patterns: [/^\d{1,18}$/], values: (key) => key.map(Number) },
  );
}
