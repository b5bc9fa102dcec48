import type { RunningServer } from '@fleetpki/server';

/**
 * Every row of every table, so a test can prove a refused request changed nothing. A device's
 * last-seen time is left out: the gateway's journal moves it a moment after an earlier, accepted
 * connection, which is no change made by the request under test.
 */
export async function storeSnapshot(server: RunningServer): Promise<string> {
  const db = server.store.db;
  const tables = await Promise.all([
    db.selectFrom('projects').selectAll().orderBy('id').execute(),
    db.selectFrom('ca_certificates').select(['id', 'project_id', 'enabled', 'fingerprint_sha256', 'updated_at']).orderBy('id').execute(),
    db.selectFrom('devices').select(['id', 'project_id', 'name', 'certificate_id', 'enabled', 'provisioning', 'created_at', 'updated_at']).orderBy('id').execute(),
    db.selectFrom('api_keys').selectAll().orderBy('id').execute(),
    db.selectFrom('audit_events').select(['id', 'action', 'target_id']).orderBy('id').execute(),
  ]);
  return JSON.stringify(tables);
}
