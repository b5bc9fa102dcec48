import type { Transaction } from 'kysely';
import type { Database, ProjectRow, RevocationsTable } from '../../store/schema.js';
import { ServiceError } from '../../service-error.js';
import { auditRow } from '../shared/audit-log.js';
import { fetchPage, ID_KEY, INSTANT_KEY, type Page, type PageRequest } from '../shared/pagination.js';
import { actorName, type Principal } from '../shared/principal.js';
import { bumpGenerations } from '../shared/project-generations.js';
import type { ServiceDeps } from '../shared/service-deps.js';
import { timeOrderedId } from '../shared/time-ordered-id.js';
import type { RevocationReason } from './revocation-reasons.js';
import { caSerialKey, parseSerialNumberText } from './serial-number-text.js';

/** Bound on one revocation request: a factory batch, applied in one transaction. */
export const MAX_REVOCATIONS_PER_REQUEST = 10_000;

/** A certificate to revoke: one the platform knows, by fingerprint, or any certificate a project CA issued, by serial. */
export type RevocationTarget = { readonly fingerprintSha256: string } | { readonly caId: string; readonly serialNumber: string };

export interface RevocationRequest {
  readonly certificates: readonly RevocationTarget[];
  readonly reason: RevocationReason;
}

export interface RevocationResult {
  readonly index: number;
  readonly fingerprintSha256?: string;
  readonly caId?: string;
  readonly serialNumber?: string;
  /** `already-revoked`: revoked before (or earlier in this request); its first revocation stands. */
  readonly status: 'revoked' | 'already-revoked';
}

export interface RevocationOutcome {
  readonly results: readonly RevocationResult[];
  readonly revoked: number;
  readonly alreadyRevoked: number;
}

export interface Revocation {
  readonly id: string;
  readonly fingerprintSha256: string | null;
  readonly caId: string | null;
  readonly serialNumber: string | null;
  readonly reason: RevocationReason;
  readonly revokedAt: string;
  readonly actor: string;
}

/** Statements stay under SQLite's 32,766 bound parameters: 500 rows of at most 9 columns. */
const CHUNK = 500;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

type Normalized = { readonly index: number; readonly fingerprintSha256: string } | { readonly index: number; readonly caId: string; readonly serialNumber: string };

/** `AB:CD:…` (openssl's `-fingerprint`) or plain hex, as the lower-case hex the store keeps. */
function normalizeFingerprint(input: string): string | undefined {
  const hex = input.trim().replace(/:/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

function normalize(targets: readonly RevocationTarget[]): Normalized[] {
  if (targets.length === 0 || targets.length > MAX_REVOCATIONS_PER_REQUEST) {
    throw new ServiceError('VALIDATION_FAILED', `a revocation request names 1 to ${MAX_REVOCATIONS_PER_REQUEST} certificates, not ${targets.length}`);
  }
  return targets.map((target, index) => {
    if ('fingerprintSha256' in target) {
      const fingerprintSha256 = normalizeFingerprint(target.fingerprintSha256);
      if (!fingerprintSha256) throw new ServiceError('FINGERPRINT_INVALID', `certificates[${index}]: a SHA-256 fingerprint is 64 hex digits`, { index });
      return { index, fingerprintSha256 };
    }
    const serialNumber = parseSerialNumberText(target.serialNumber);
    if (!serialNumber) throw new ServiceError('SERIAL_NUMBER_INVALID', `certificates[${index}]: a serial number is a positive integer of at most 20 octets, in hex`, { index });
    return { index, caId: target.caId, serialNumber };
  });
}

/**
 * Revokes certificates of a project in one transaction (DESIGN §8): every target is checked
 * first (a serial's CA is the project's, a fingerprint is a certificate the project has seen
 * or issued) and the first that is not refuses the whole request, storing nothing. The
 * revocations, the inventory's statuses and one audit event per certificate commit together,
 * with the generations that make every server reload the project's revocations and re-check its
 * live connections.
 */
export async function revokeCertificates(deps: ServiceDeps, principal: Principal | { readonly actor: string }, project: ProjectRow, request: RevocationRequest): Promise<RevocationOutcome> {
  const targets = normalize(request.certificates);
  const now = deps.now();
  const at = now.toISOString();
  // A protocol revoking on a device's behalf (CMP) names itself; a key is named by its prefix.
  const actor = 'actor' in principal ? principal.actor : actorName(principal);
  return deps.db.transaction().execute(async (trx) => {
    await checkTargetsExist(trx, project, targets);
    const known = await existingRevocations(trx, project, targets);
    const results: RevocationResult[] = [];
    const rows: RevocationsTable[] = [];
    for (const target of targets) {
      const key = 'fingerprintSha256' in target ? target.fingerprintSha256 : caSerialKey(target.caId, target.serialNumber);
      const fresh = !known.has(key);
      known.add(key);
      const shown = 'fingerprintSha256' in target ? { fingerprintSha256: target.fingerprintSha256 } : { caId: target.caId, serialNumber: target.serialNumber };
      results.push({ index: target.index, ...shown, status: fresh ? 'revoked' : 'already-revoked' });
      if (!fresh) continue;
      rows.push({
        id: timeOrderedId(now),
        project_id: project.id,
        fingerprint_sha256: 'fingerprintSha256' in target ? target.fingerprintSha256 : null,
        ca_id: 'caId' in target ? target.caId : null,
        serial_number: 'serialNumber' in target ? target.serialNumber : null,
        reason: request.reason,
        revoked_at: at,
        actor,
      });
    }
    for (const chunk of chunks(rows)) await trx.insertInto('revocations').values(chunk).execute();
    await markInventory(trx, project, rows, request.reason, at);
    const audits = rows.map((row) =>
      auditRow(now, {
        actor,
        action: 'certificate.revoke',
        targetType: 'certificate',
        targetId: row.fingerprint_sha256 ?? `${row.ca_id}:${row.serial_number}`,
        projectId: project.id,
        details: { reason: request.reason, ...(row.ca_id !== null ? { caId: row.ca_id, serialNumber: row.serial_number } : { fingerprintSha256: row.fingerprint_sha256 }) },
      }),
    );
    for (const chunk of chunks(audits)) await trx.insertInto('audit_events').values(chunk).execute();
    if (rows.length > 0) await bumpGenerations(trx, project.id, { ca: false, revocations: true });
    return { results, revoked: rows.length, alreadyRevoked: results.length - rows.length };
  });
}

/** Refuses the request at the first target the project cannot revoke: an unknown CA, or a fingerprint it never saw nor issued. */
async function checkTargetsExist(trx: Transaction<Database>, project: ProjectRow, targets: readonly Normalized[]): Promise<void> {
  const caIds = [...new Set(targets.flatMap((t) => ('caId' in t ? [t.caId] : [])))];
  const cas = new Set<string>();
  for (const chunk of chunks(caIds)) {
    for (const row of await trx.selectFrom('ca_certificates').select('id').where('project_id', '=', project.id).where('id', 'in', chunk).execute()) cas.add(row.id);
  }
  const fingerprints = [...new Set(targets.flatMap((t) => ('fingerprintSha256' in t ? [t.fingerprintSha256] : [])))];
  const seen = new Set<string>();
  for (const chunk of chunks(fingerprints)) {
    const [inventory, issued] = await Promise.all([
      trx.selectFrom('device_certificates').select('fingerprint_sha256').where('project_id', '=', project.id).where('fingerprint_sha256', 'in', chunk).execute(),
      trx.selectFrom('issued_certificates').select('fingerprint_sha256').where('project_id', '=', project.id).where('fingerprint_sha256', 'in', chunk).execute(),
    ]);
    for (const row of [...inventory, ...issued]) seen.add(row.fingerprint_sha256);
  }
  for (const target of targets) {
    if ('caId' in target && !cas.has(target.caId)) {
      throw new ServiceError('CA_NOT_FOUND', `certificates[${target.index}]: no CA certificate ${target.caId} in project ${project.slug}`, { certificateId: target.caId, index: target.index });
    }
    if ('fingerprintSha256' in target && !seen.has(target.fingerprintSha256)) {
      throw new ServiceError('DEVICE_CERTIFICATE_NOT_FOUND', `certificates[${target.index}]: project ${project.slug} has neither seen nor issued a certificate with this fingerprint; revoke by --ca and --serial`, {
        fingerprintSha256: target.fingerprintSha256,
        index: target.index,
      });
    }
  }
}

/** The targets revoked before, as the keys `revokeCertificates` compares. */
async function existingRevocations(trx: Transaction<Database>, project: ProjectRow, targets: readonly Normalized[]): Promise<Set<string>> {
  const known = new Set<string>();
  const fingerprints = targets.flatMap((t) => ('fingerprintSha256' in t ? [t.fingerprintSha256] : []));
  for (const chunk of chunks(fingerprints)) {
    const rows = await trx.selectFrom('revocations').select('fingerprint_sha256').where('project_id', '=', project.id).where('fingerprint_sha256', 'in', chunk).execute();
    for (const row of rows) if (row.fingerprint_sha256 !== null) known.add(row.fingerprint_sha256);
  }
  const byCa = new Map<string, string[]>();
  for (const t of targets) if ('caId' in t) byCa.set(t.caId, [...(byCa.get(t.caId) ?? []), t.serialNumber]);
  for (const [caId, serials] of byCa) {
    for (const chunk of chunks(serials)) {
      const rows = await trx.selectFrom('revocations').select('serial_number').where('project_id', '=', project.id).where('ca_id', '=', caId).where('serial_number', 'in', chunk).execute();
      for (const row of rows) if (row.serial_number !== null) known.add(caSerialKey(caId, row.serial_number));
    }
  }
  return known;
}

/** The inventory's rows of the revoked certificates say so (a serial may match a certificate seen under that CA). */
async function markInventory(trx: Transaction<Database>, project: ProjectRow, rows: readonly RevocationsTable[], reason: RevocationReason, at: string): Promise<void> {
  const revoked = { status: 'revoked' as const, revoked_at: at, revocation_reason: reason };
  const fingerprints = rows.flatMap((r) => (r.fingerprint_sha256 !== null ? [r.fingerprint_sha256] : []));
  for (const chunk of chunks(fingerprints)) {
    await trx.updateTable('device_certificates').set(revoked).where('project_id', '=', project.id).where('fingerprint_sha256', 'in', chunk).where('status', '!=', 'revoked').execute();
  }
  const byCa = new Map<string, string[]>();
  for (const r of rows) if (r.ca_id !== null && r.serial_number !== null) byCa.set(r.ca_id, [...(byCa.get(r.ca_id) ?? []), r.serial_number]);
  for (const [caId, serials] of byCa) {
    for (const chunk of chunks(serials)) {
      await trx.updateTable('device_certificates').set(revoked).where('project_id', '=', project.id).where('issuer_ca_id', '=', caId).where('serial_number', 'in', chunk).where('status', '!=', 'revoked').execute();
    }
  }
}

export interface RevocationQuery extends PageRequest {
  readonly reason?: RevocationReason | undefined;
  readonly caId?: string | undefined;
  readonly fingerprintSha256?: string | undefined;
  readonly serialNumber?: string | undefined;
}

/** The project's revocations, newest first, filtered. */
export async function listRevocations(deps: ServiceDeps, project: ProjectRow, query: RevocationQuery): Promise<Page<Revocation>> {
  let filtered = deps.db.selectFrom('revocations').where('project_id', '=', project.id);
  if (query.reason) filtered = filtered.where('reason', '=', query.reason);
  if (query.caId) filtered = filtered.where('ca_id', '=', query.caId);
  const fingerprint = query.fingerprintSha256 === undefined ? undefined : normalizeFingerprint(query.fingerprintSha256);
  if (query.fingerprintSha256 !== undefined) {
    if (!fingerprint) throw new ServiceError('FINGERPRINT_INVALID', 'a SHA-256 fingerprint is 64 hex digits');
    filtered = filtered.where('fingerprint_sha256', '=', fingerprint);
  }
  if (query.serialNumber !== undefined) {
    const serial = parseSerialNumberText(query.serialNumber);
    if (!serial) throw new ServiceError('SERIAL_NUMBER_INVALID', 'a serial number is a positive integer of at most 20 octets, in hex');
    filtered = filtered.where('serial_number', '=', serial);
  }
  return fetchPage(
    deps.db,
    filtered,
    (q) => q.selectAll(),
    (row) => ({
      id: row.id,
      fingerprintSha256: row.fingerprint_sha256,
      caId: row.ca_id,
      serialNumber: row.serial_number,
      reason: row.reason as RevocationReason,
      revokedAt: row.revoked_at,
      actor: row.actor,
    }),
    query,
    { columns: ['revoked_at', 'id'], direction: 'desc', key: (row) => [row.revoked_at, row.id], patterns: [INSTANT_KEY, ID_KEY] },
  );
}
