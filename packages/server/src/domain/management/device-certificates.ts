import type { DeviceCertificatesTable, ProjectRow } from '../../store/schema.js';
import { ServiceError } from '../../service-error.js';
import { fetchPage, type Page, type PageRequest } from '../shared/pagination.js';
import type { ServiceDeps } from '../shared/service-deps.js';
import { getDevice } from './devices.js';

/** One device certificate of the inventory (DESIGN §8), as the API shows it. */
export interface DeviceCertificate {
  readonly fingerprintSha256: string;
  readonly serialNumber: string;
  readonly issuer: string;
  readonly subject: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly caId: string | null;
  readonly deviceId: string | null;
  readonly source: 'seen' | 'issued';
  readonly status: 'active' | 'superseded' | 'revoked';
  readonly revokedAt: string | null;
  readonly revocationReason: string | null;
  readonly supersededAt: string | null;
  readonly firstSeenAt: string | null;
  readonly lastSeenAt: string | null;
}

export interface DeviceCertificateQuery extends PageRequest {
  readonly status?: DeviceCertificate['status'] | undefined;
  readonly source?: DeviceCertificate['source'] | undefined;
  readonly caId?: string | undefined;
  /** ISO 8601: only certificates whose notAfter is before it. */
  readonly expiresBefore?: string | undefined;
  readonly expiresAfter?: string | undefined;
}

function view(row: DeviceCertificatesTable): DeviceCertificate {
  return {
    fingerprintSha256: row.fingerprint_sha256,
    serialNumber: row.serial_number,
    issuer: row.issuer,
    subject: row.subject,
    notBefore: row.not_before,
    notAfter: row.not_after,
    caId: row.ca_id,
    deviceId: row.device_id,
    source: row.source,
    status: row.status,
    revokedAt: row.revoked_at,
    revocationReason: row.revocation_reason,
    supersededAt: row.superseded_at,
    firstSeenAt: row.first_seen_at,
    lastSeenAt: row.last_seen_at,
  };
}

/** A date filter as the store compares it (ISO 8601 in UTC sorts as text). */
function instant(value: string, name: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new ServiceError('VALIDATION_FAILED', `${name} must be an ISO 8601 date-time`);
  return new Date(ms).toISOString();
}

/** The project's device certificates, soonest to expire first, filtered (DESIGN §8). */
export async function listDeviceCertificates(deps: ServiceDeps, project: ProjectRow, query: DeviceCertificateQuery, deviceId?: string): Promise<Page<DeviceCertificate>> {
  if (deviceId !== undefined) await getDevice(deps, project, deviceId);
  let filtered = deps.db.selectFrom('device_certificates').where('project_id', '=', project.id);
  if (deviceId !== undefined) filtered = filtered.where('device_id', '=', deviceId);
  if (query.status) filtered = filtered.where('status', '=', query.status);
  if (query.source) filtered = filtered.where('source', '=', query.source);
  if (query.caId) filtered = filtered.where('ca_id', '=', query.caId);
  if (query.expiresBefore) filtered = filtered.where('not_after', '<', instant(query.expiresBefore, 'expiresBefore'));
  if (query.expiresAfter) filtered = filtered.where('not_after', '>', instant(query.expiresAfter, 'expiresAfter'));
  return fetchPage(filtered, (q) => q.selectAll().orderBy('not_after', 'asc').orderBy('fingerprint_sha256', 'asc'), view, query);
}

export async function getDeviceCertificate(deps: ServiceDeps, project: ProjectRow, fingerprint: string): Promise<DeviceCertificate> {
  const normalized = fingerprint.trim().replace(/:/g, '').toLowerCase();
  const row = await deps.db.selectFrom('device_certificates').selectAll().where('project_id', '=', project.id).where('fingerprint_sha256', '=', normalized).executeTakeFirst();
  if (!row) throw new ServiceError('DEVICE_CERTIFICATE_NOT_FOUND', `project ${project.slug} has no device certificate with this fingerprint`, { fingerprintSha256: normalized });
  return view(row);
}
