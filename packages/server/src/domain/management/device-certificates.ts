import type { DeviceCertificatesTable, ProjectRow } from '../../store/schema.js';
import { ServiceError } from '../../service-error.js';
import { fetchPage, INSTANT_KEY, offsetOf, type KeysetOrder, type Page, type PageRequest } from '../shared/pagination.js';
import { instantFilter } from '../shared/instant-filter.js';
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

/** The inventory's order: soonest to expire first, the fingerprint breaking ties. */
const SOONEST_TO_EXPIRE: KeysetOrder<DeviceCertificatesTable> = {
  columns: ['not_after', 'fingerprint_sha256'],
  direction: 'asc',
  key: (row) => [row.not_after, row.fingerprint_sha256],
  patterns: [INSTANT_KEY, /^[0-9a-f]{64}$/],
};

/** The project's device certificates, soonest to expire first, filtered (DESIGN §8); by page, or by cursor. */
export async function listDeviceCertificates(deps: ServiceDeps, project: ProjectRow, query: DeviceCertificateQuery, deviceId?: string): Promise<Page<DeviceCertificate>> {
  if (deviceId !== undefined) await getDevice(deps, project, deviceId);
  let filtered = deps.db.selectFrom('device_certificates').where('project_id', '=', project.id);
  if (deviceId !== undefined) filtered = filtered.where('device_id', '=', deviceId);
  if (query.status) filtered = filtered.where('status', '=', query.status);
  if (query.source) filtered = filtered.where('source', '=', query.source);
  if (query.caId) filtered = filtered.where('ca_id', '=', query.caId);
  if (query.expiresBefore) filtered = filtered.where('not_after', '<', instantFilter(query.expiresBefore, 'expiresBefore'));
  if (query.expiresAfter) filtered = filtered.where('not_after', '>', instantFilter(query.expiresAfter, 'expiresAfter'));
  return fetchPage(deps.db, filtered, (q) => q.selectAll(), view, query, SOONEST_TO_EXPIRE);
}

export async function getDeviceCertificate(deps: ServiceDeps, project: ProjectRow, fingerprint: string): Promise<DeviceCertificate> {
  const normalized = fingerprint.trim().replace(/:/g, '').toLowerCase();
  const row = await deps.db.selectFrom('device_certificates').selectAll().where('project_id', '=', project.id).where('fingerprint_sha256', '=', normalized).executeTakeFirst();
  if (!row) throw new ServiceError('DEVICE_CERTIFICATE_NOT_FOUND', `project ${project.slug} has no device certificate with this fingerprint`, { fingerprintSha256: normalized });
  return view(row);
}

/** A device a CA certificate's change would cut: its latest accepted certificate's path ends at that CA. */
export interface AffectedDevice {
  readonly deviceId: string;
  readonly name: string;
  readonly certificateId: string | null;
  readonly fingerprintSha256: string;
  readonly lastSeenAt: string | null;
}

export interface CaBlastRadius {
  readonly caId: string;
  /** Devices whose latest accepted certificate chains to the CA (disabling, deleting or a CRL would cut them). */
  readonly deviceCount: number;
  /** Active certificates in the inventory that chain to it, of any device. */
  readonly certificateCount: number;
  readonly devices: Page<AffectedDevice>;
}

/**
 * DESIGN §8 (issue 16, 4): who a CA certificate's disable, delete or CRL would cut, before the
 * operator confirms — each device counted once, by the latest certificate it was accepted with.
 */
export async function caBlastRadius(deps: ServiceDeps, project: ProjectRow, caId: string, request: PageRequest): Promise<CaBlastRadius> {
  const ca = await deps.db.selectFrom('ca_certificates').select('id').where('project_id', '=', project.id).where('id', '=', caId).executeTakeFirst();
  if (!ca) throw new ServiceError('CA_NOT_FOUND', `no CA certificate ${caId} in project ${project.slug}`, { certificateId: caId });
  const latest = deps.db
    .selectFrom('device_certificates as dc')
    .innerJoin('devices as d', 'd.id', 'dc.device_id')
    .where('dc.project_id', '=', project.id)
    .where('dc.ca_id', '=', caId)
    .where('dc.status', '=', 'active')
    .where(({ eb, selectFrom }) =>
      eb(
        'dc.last_seen_at',
        '=',
        selectFrom('device_certificates as newer')
          .select(({ fn }) => fn.max('newer.last_seen_at').as('latest'))
          .whereRef('newer.project_id', '=', 'dc.project_id')
          .whereRef('newer.device_id', '=', 'dc.device_id'),
      ),
    );
  const [rows, total, certificates] = await Promise.all([
    latest
      .select(['dc.device_id as deviceId', 'd.name as name', 'd.certificate_id as certificateId', 'dc.fingerprint_sha256 as fingerprintSha256', 'dc.last_seen_at as lastSeenAt'])
      .orderBy('d.name')
      .orderBy('dc.fingerprint_sha256')
      .limit(request.perPage)
      .offset(offsetOf(request))
      .execute(),
    latest.select(({ fn }) => fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    deps.db.selectFrom('device_certificates').select(({ fn }) => fn.countAll<number>().as('n')).where('project_id', '=', project.id).where('ca_id', '=', caId).where('status', '=', 'active').executeTakeFirstOrThrow(),
  ]);
  const devices: Page<AffectedDevice> = {
    list: rows.map((row) => ({ deviceId: row.deviceId as string, name: row.name, certificateId: row.certificateId, fingerprintSha256: row.fingerprintSha256, lastSeenAt: row.lastSeenAt })),
    page: request.page,
    perPage: request.perPage,
    total: Number(total.n),
    nextCursor: null,
  };
  return { caId, deviceCount: Number(total.n), certificateCount: Number(certificates.n), devices };
}
