import type { DeviceCertificatesTable, ProjectRow } from '../../store/schema.js';
import { ServiceError } from '../../service-error.js';
import { fetchPage, offsetOf, type Page, type PageRequest } from '../shared/pagination.js';
import { decodeCursor, encodeCursor } from '../shared/keyset-cursor.js';
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
  /** Keyset paging: the `nextCursor` of the previous page (then `page` is not read). */
  readonly cursor?: string | undefined;
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

/** A page of the inventory: with `nextCursor` (null on the last page) for keyset paging. */
export type DeviceCertificatePage = Page<DeviceCertificate> & { readonly nextCursor: string | null };

/** The inventory's order is (notAfter, fingerprint): a cursor holds both. */
const CURSOR_KEY = [/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, /^[0-9a-f]{64}$/];

/** The project's device certificates, soonest to expire first, filtered (DESIGN §8); by page, or by cursor. */
export async function listDeviceCertificates(deps: ServiceDeps, project: ProjectRow, query: DeviceCertificateQuery, deviceId?: string): Promise<DeviceCertificatePage> {
  if (deviceId !== undefined) await getDevice(deps, project, deviceId);
  let filtered = deps.db.selectFrom('device_certificates').where('project_id', '=', project.id);
  if (deviceId !== undefined) filtered = filtered.where('device_id', '=', deviceId);
  if (query.status) filtered = filtered.where('status', '=', query.status);
  if (query.source) filtered = filtered.where('source', '=', query.source);
  if (query.caId) filtered = filtered.where('ca_id', '=', query.caId);
  if (query.expiresBefore) filtered = filtered.where('not_after', '<', instant(query.expiresBefore, 'expiresBefore'));
  if (query.expiresAfter) filtered = filtered.where('not_after', '>', instant(query.expiresAfter, 'expiresAfter'));
  const ordered = (q: typeof filtered) => q.selectAll().orderBy('not_after', 'asc').orderBy('fingerprint_sha256', 'asc');
  let page: Page<DeviceCertificate>;
  if (query.cursor === undefined) page = await fetchPage(filtered, ordered, view, query);
  else {
    const [notAfter, fingerprint] = decodeCursor(query.cursor, CURSOR_KEY) as [string, string];
    const after = filtered.where((eb) => eb.or([eb('not_after', '>', notAfter), eb.and([eb('not_after', '=', notAfter), eb('fingerprint_sha256', '>', fingerprint)])]));
    const [rows, count] = await Promise.all([ordered(after).limit(query.perPage).execute(), filtered.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow()]);
    page = { list: rows.map(view), page: query.page, perPage: query.perPage, total: Number(count.total) };
  }
  const last = page.list.at(-1);
  const nextCursor = last && page.list.length === query.perPage ? encodeCursor([last.notAfter, last.fingerprintSha256]) : null;
  return { ...page, nextCursor };
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
  };
  return { caId, deviceCount: devices.total, certificateCount: Number(certificates.n), devices };
}
