import { isServiceError } from '../../service-error.js';
import { PostgresAdapter, sql } from 'kysely';
import type { DevicesTable, ProjectRow } from '../../store/schema.js';
import { isForeignKeyViolation, isUniqueViolation } from '../../store/constraint-violations.js';
import { recordAudit } from '../shared/audit-log.js';
import { timeOrderedId } from '../shared/time-ordered-id.js';
import { actorName, type Principal } from '../shared/principal.js';
import type { ServiceDeps } from '../shared/service-deps.js';
import { checkCertificateId, checkDeviceName, preProvisionedDevice } from './devices.js';
import { projectGone } from './projects.js';

/** Rows per transaction: one lookup, one insert and one audit event per batch. */
export const IMPORT_BATCH_ROWS = 1000;

/** A row as read from the body (line numbers from 1), or why it could not be read. */
export type ImportRow = { readonly line: number; readonly name: unknown; readonly certificateId?: unknown } | { readonly line: number; readonly error: { readonly code: string; readonly message: string } };

export type ImportOutcome = 'created' | 'unchanged' | 'conflict' | 'invalid';

export interface ImportRowResult {
  readonly line: number;
  readonly name?: string;
  readonly result: ImportOutcome;
  readonly deviceId?: string;
  readonly code?: string;
  readonly message?: string;
}

export interface ImportSummary {
  readonly rows: number;
  readonly created: number;
  readonly unchanged: number;
  readonly conflict: number;
  readonly invalid: number;
}

interface Candidate {
  readonly line: number;
  readonly name: string;
  readonly certificateId: string | null;
}

/**
 * Bulk pre-provisioning (issue 19, 2): devices by name, idempotent, a batch at a time. Per row:
 * `created`; `unchanged` when a device of that name exists with the same certificate ID (or the
 * row gives none), so an import run twice changes nothing; `conflict` when the name exists with
 * another certificate ID, or the certificate ID belongs to another device; `invalid` when the row
 * cannot be a device. A bad row never stops or half-applies its batch: the others go in together.
 * Results come back batch by batch, in line order, as the rows are read.
 */
export async function* importDevices(deps: ServiceDeps, principal: Principal, project: ProjectRow, rows: AsyncIterable<ImportRow>): AsyncGenerator<ImportRowResult[], ImportSummary> {
  const summary = { rows: 0, created: 0, unchanged: 0, conflict: 0, invalid: 0 };
  let batch: ImportRow[] = [];
  const flush = async (): Promise<ImportRowResult[]> => {
    const results = await importBatch(deps, principal, project, batch);
    batch = [];
    for (const result of results) summary[result.result] += 1;
    summary.rows += results.length;
    return results;
  };
  // Statistics are refreshed as the import grows the table tenfold (10,000, 100,000, … created), and at its end.
  let refreshAt = REFRESH_STATISTICS_AFTER;
  let refreshedAt = 0;
  const refreshIfGrown = async (): Promise<void> => {
    if (summary.created < refreshAt) return;
    await refreshStatistics(deps);
    refreshedAt = summary.created;
    while (refreshAt <= summary.created) refreshAt *= 10;
  };
  for await (const row of rows) {
    batch.push(row);
    if (batch.length >= IMPORT_BATCH_ROWS) {
      yield await flush();
      await refreshIfGrown();
    }
  }
  if (batch.length > 0) yield await flush();
  if (summary.created - refreshedAt >= REFRESH_STATISTICS_AFTER) await refreshStatistics(deps);
  return summary;
}

/** Devices created by one import past which the store's planner statistics are refreshed. */
const REFRESH_STATISTICS_AFTER = 10_000;

/**
 * PostgreSQL plans from statistics that a bulk import leaves stale until autovacuum comes by:
 * the list's bounded count then read the whole project's index (77 ms for 200,000 devices,
 * 3 ms after ANALYZE), and the import's own name lookups slowed as the table grew (1,000,000
 * rows: 226 s). SQLite plans from its indexes alone and needs nothing.
 */
async function refreshStatistics(deps: ServiceDeps): Promise<void> {
  if (deps.db.getExecutor().adapter instanceof PostgresAdapter) await sql`ANALYZE devices`.execute(deps.db);
}

async function importBatch(deps: ServiceDeps, principal: Principal, project: ProjectRow, rows: readonly ImportRow[]): Promise<ImportRowResult[]> {
  const results = new Map<number, ImportRowResult>();
  let deferred: Candidate[] = [];
  for (const row of rows) {
    if ('error' in row) {
      results.set(row.line, { line: row.line, result: 'invalid', code: row.error.code, message: row.error.message });
      continue;
    }
    const candidate = candidateOf(row);
    if ('result' in candidate) results.set(row.line, candidate);
    else deferred.push(candidate);
  }
  // In waves of distinct names: a name the batch repeats is judged once its earlier row has been
  // stored (or refused), against the store as it then is — as it would be in a later batch.
  while (deferred.length > 0) {
    const wave: Candidate[] = [];
    const later: Candidate[] = [];
    const names = new Set<string>();
    for (const candidate of deferred) {
      if (names.has(candidate.name)) later.push(candidate);
      else {
        names.add(candidate.name);
        wave.push(candidate);
      }
    }
    const fresh = await judgeAgainstStore(deps, project, wave, results);
    if (fresh.length > 0) await insertFresh(deps, principal, project, fresh, results);
    deferred = later;
  }
  return rows.map((row) => results.get(row.line) as ImportRowResult);
}

function candidateOf(row: Extract<ImportRow, { name: unknown }>): Candidate | ImportRowResult {
  const refuse = (code: string, message: string, name?: string): ImportRowResult => ({ line: row.line, ...(name === undefined ? {} : { name }), result: 'invalid', code, message });
  if (typeof row.name !== 'string') return refuse('DEVICE_NAME_INVALID', 'the row has no name (a string)');
  if (row.certificateId !== undefined && row.certificateId !== null && typeof row.certificateId !== 'string') return refuse('CERTIFICATE_ID_INVALID', 'certificateId is a string', row.name);
  try {
    checkDeviceName(row.name);
    if (typeof row.certificateId === 'string') checkCertificateId(row.certificateId);
  } catch (error) {
    if (isServiceError(error)) return refuse(error.code, error.message, row.name);
    throw error;
  }
  return { line: row.line, name: row.name, certificateId: typeof row.certificateId === 'string' ? row.certificateId : null };
}

/** A row without a certificate ID matches whatever the device has; one with it must match exactly. */
function sameDevice(existing: string | null, candidate: Candidate): boolean {
  return candidate.certificateId === null || candidate.certificateId === existing;
}

function nameTaken(candidate: Candidate): ImportRowResult {
  return { line: candidate.line, name: candidate.name, result: 'conflict', code: 'DEVICE_NAME_TAKEN', message: 'a device of this name exists with another certificate ID' };
}

/** Sorts the batch's rows against the store: existing names are unchanged or conflicts; the rest are fresh. */
async function judgeAgainstStore(deps: ServiceDeps, project: ProjectRow, candidates: readonly Candidate[], results: Map<number, ImportRowResult>): Promise<Candidate[]> {
  if (candidates.length === 0) return [];
  const names = candidates.map((c) => c.name);
  const certificateIds = candidates.flatMap((c) => (c.certificateId === null ? [] : [c.certificateId]));
  const [byName, byCertificateId] = await Promise.all([
    deps.db.selectFrom('devices').select(['id', 'name', 'certificate_id']).where('project_id', '=', project.id).where('name', 'in', names).execute(),
    certificateIds.length === 0 ? [] : deps.db.selectFrom('devices').select(['name', 'certificate_id']).where('project_id', '=', project.id).where('certificate_id', 'in', certificateIds).execute(),
  ]);
  const existing = new Map(byName.map((row) => [row.name, row]));
  const holders = new Map(byCertificateId.map((row) => [row.certificate_id as string, row.name]));
  const fresh: Candidate[] = [];
  for (const candidate of candidates) {
    const device = existing.get(candidate.name);
    if (device) {
      results.set(candidate.line, sameDevice(device.certificate_id, candidate) ? { line: candidate.line, name: candidate.name, result: 'unchanged', deviceId: device.id } : nameTaken(candidate));
      continue;
    }
    const holder = candidate.certificateId === null ? undefined : holders.get(candidate.certificateId);
    if (holder !== undefined) {
      results.set(candidate.line, { line: candidate.line, name: candidate.name, result: 'conflict', code: 'CERTIFICATE_ID_TAKEN', message: `device ${JSON.stringify(holder)} has this certificate ID` });
      continue;
    }
    fresh.push(candidate);
  }
  // Two new rows of the batch with one certificate ID: the first takes it.
  const claimed = new Set<string>();
  return fresh.filter((candidate) => {
    if (candidate.certificateId === null) return true;
    if (!claimed.has(candidate.certificateId)) return claimed.add(candidate.certificateId);
    results.set(candidate.line, { line: candidate.line, name: candidate.name, result: 'conflict', code: 'CERTIFICATE_ID_TAKEN', message: 'an earlier row of this import has this certificate ID' });
    return false;
  });
}

/**
 * Inserts the fresh rows and one audit event in one transaction. Another writer may have taken a
 * name or certificate ID since the lookup (a device's first connection, another import): the
 * batch is then judged again against the store and the rest inserted, so no row is lost.
 */
async function insertFresh(deps: ServiceDeps, principal: Principal, project: ProjectRow, rows: readonly Candidate[], results: Map<number, ImportRowResult>): Promise<void> {
  let fresh = rows;
  for (let attempt = 0; ; attempt++) {
    const now = deps.now();
    const at = now.toISOString();
    // Time-ordered ids: a million imported devices append to the id index instead of landing on random pages.
    const devices: DevicesTable[] = fresh.map((candidate) => preProvisionedDevice(timeOrderedId(now), project.id, candidate.name, candidate.certificateId, true, at));
    try {
      await deps.db.transaction().execute(async (trx) => {
        // Bounded statements: nine values a row stays under both stores' parameter limits.
        for (let i = 0; i < devices.length; i += 500) await trx.insertInto('devices').values(devices.slice(i, i + 500)).execute();
        await recordAudit(trx, deps.now(), {
          actor: actorName(principal),
          action: 'device.import',
          targetType: 'project',
          targetId: project.id,
          projectId: project.id,
          details: { created: devices.length, firstLine: fresh[0]?.line, lastLine: fresh.at(-1)?.line },
        });
      });
      devices.forEach((device, i) => results.set((fresh[i] as Candidate).line, { line: (fresh[i] as Candidate).line, name: device.name, result: 'created', deviceId: device.id }));
      return;
    } catch (error) {
      if (isForeignKeyViolation(error)) throw projectGone(project);
      if (!isUniqueViolation(error) || attempt >= 2) throw error;
    }
    fresh = await judgeAgainstStore(deps, project, fresh, results);
    if (fresh.length === 0) return;
  }
}

/** The error an import's body ends with, when it ends early (the rows before it are imported). */
export function importStopped(error: unknown): { code: string; message: string } {
  return isServiceError(error) ? { code: error.code, message: error.message } : { code: 'INTERNAL_ERROR', message: 'the import stopped: the store failed' };
}

