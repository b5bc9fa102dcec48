import type { Insertable } from 'kysely';
import type { DeviceCertificatesTable } from '../../src/store/schema.js';

/** The inventory row an issuance record carries, for sink tests that make records by hand. */
export function issuedInventoryRow(projectId: string, fingerprint: string, at: string): Insertable<DeviceCertificatesTable> {
  return {
    project_id: projectId,
    fingerprint_sha256: fingerprint,
    serial_number: fingerprint.replaceAll('-', '').toUpperCase(),
    issuer: '/CN=test CA',
    subject: '/O=test/CN=device',
    not_before: at,
    not_after: at,
    ca_id: null,
    issuer_ca_id: null,
    device_id: null,
    source: 'issued',
    status: 'active',
    issued_at: at,
  };
}
