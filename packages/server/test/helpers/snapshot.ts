import type { RunningServer } from '@fleetpki/server';

/** Every row of every table, so a test can prove a refused request changed nothing. */
export async function storeSnapshot(server: RunningServer): Promise<string> {
  const db = server.store.db;
  const tables = await Promise.all([
    db.selectFrom('projects').selectAll().orderBy('id').execute(),
    db.selectFrom('ca_certificates').select(['id', 'project_id', 'enabled', 'fingerprint_sha256', 'updated_at']).orderBy('id').execute(),
    db.selectFrom('devices').selectAll().orderBy('id').execute(),
    db.selectFrom('api_keys').selectAll().orderBy('id').execute(),
    db.selectFrom('audit_events').select(['id', 'action', 'target_id']).orderBy('id').execute(),
  ]);
  return JSON.stringify(tables);
}
