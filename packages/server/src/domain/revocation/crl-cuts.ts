import type { AffectedDevice } from '../management/index.js';
import type { ProjectRow } from '../../store/schema.js';
import type { ServiceDeps } from '../shared/service-deps.js';

/** Devices shown by name in a CRL's cuts; the count covers the rest. */
const DEVICES_SHOWN = 20;
/** Serials per index probe: well under SQLite's and PostgreSQL's bound-parameter limits. */
const SERIALS_PER_PROBE = 500;

/** What putting a CRL in force would newly refuse: known device certificates it lists that the CRL in force does not. */
export interface CrlCuts {
  /** Devices holding an active certificate the CRL newly lists. */
  readonly deviceCount: number;
  /** Active inventory certificates it newly lists (devices or not). */
  readonly certificateCount: number;
  /** The first devices, by name. */
  readonly devices: readonly AffectedDevice[];
}

/**
 * DESIGN §8 (issue 16, 4): the blast radius of a CRL upload, shown before the operator confirms.
 * `newlyListed` are the serials (serial-number-text spelling) the CRL lists and the one in force
 * does not. Probes the inventory's (project, issuing CA, serial) index with the CRL's serials in chunks,
 * so a 100,000-entry CRL costs index lookups, never a scan of the fleet.
 */
export async function crlCuts(deps: ServiceDeps, project: ProjectRow, caId: string, newlyListed: readonly string[]): Promise<CrlCuts> {
  const listed = newlyListed;
  const byDevice = new Map<string, AffectedDevice>();
  let certificateCount = 0;
  for (let start = 0; start < listed.length; start += SERIALS_PER_PROBE) {
    const rows = await deps.db
      .selectFrom('device_certificates as dc')
      .leftJoin('devices as d', 'd.id', 'dc.device_id')
      .select(['dc.device_id as deviceId', 'd.name as name', 'd.certificate_id as certificateId', 'dc.fingerprint_sha256 as fingerprintSha256', 'dc.last_seen_at as lastSeenAt'])
      .where('dc.project_id', '=', project.id)
      .where('dc.issuer_ca_id', '=', caId)
      .where('dc.serial_number', 'in', listed.slice(start, start + SERIALS_PER_PROBE))
      .where('dc.status', '=', 'active')
      .execute();
    certificateCount += rows.length;
    for (const row of rows) {
      if (row.deviceId === null || row.name === null || byDevice.has(row.deviceId)) continue;
      byDevice.set(row.deviceId, { deviceId: row.deviceId, name: row.name, certificateId: row.certificateId, fingerprintSha256: row.fingerprintSha256, lastSeenAt: row.lastSeenAt });
    }
  }
  const devices = [...byDevice.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).slice(0, DEVICES_SHOWN);
  return { deviceCount: byDevice.size, certificateCount, devices };
}
