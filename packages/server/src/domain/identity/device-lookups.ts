import type { Kysely } from 'kysely';
import type { Database, DevicesTable } from '../../store/schema.js';
import { perStore, preparedQuery } from '../../store/prepared-query.js';
import { sqliteReaderFor } from '../../store/sqlite-reader.js';

/** Certificate IDs one coalesced query asks for (one bound parameter each). */
const MAX_BATCH = 500;

export type DeviceLookup = (projectId: string, certificateId: string) => Promise<DevicesTable | undefined>;

interface Waiter {
  readonly resolve: (row: DevicesTable | undefined) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The device row every reconnecting device's handshake reads, by (project, certificate ID).
 * On SQLite it is a synchronous statement on the read connection, run at once. Over
 * PostgreSQL each read is a round trip and a statement for the server to run: a reconnect
 * storm finishes many handshakes in one turn of the event loop, so their reads are gathered
 * and sent as one `certificate_id IN (…)` query per project, each caller getting its own row.
 */
export const deviceLookup = perStore<Database, DeviceLookup>((db) => {
  if (sqliteReaderFor(db)) {
    const read = preparedQuery(db, ['projectId', 'certificateId'], (q, p) => q.selectFrom('devices').selectAll().where('project_id', '=', p.projectId).where('certificate_id', '=', p.certificateId));
    return (projectId, certificateId) => read({ projectId, certificateId });
  }
  return coalescedLookup(db);
});

function coalescedLookup(db: Kysely<Database>): DeviceLookup {
  /** Waiters by project, then certificate ID, for the next query. */
  let pending = new Map<string, Map<string, Waiter[]>>();
  let scheduled = false;

  async function query(projectId: string, waiting: Map<string, Waiter[]>): Promise<void> {
    const ids = [...waiting.keys()];
    for (let i = 0; i < ids.length; i += MAX_BATCH) {
      const chunk = ids.slice(i, i + MAX_BATCH);
      try {
        const rows = await db.selectFrom('devices').selectAll().where('project_id', '=', projectId).where('certificate_id', 'in', chunk).execute();
        const byId = new Map(rows.map((row) => [row.certificate_id, row]));
        for (const id of chunk) for (const waiter of waiting.get(id) ?? []) waiter.resolve(byId.get(id));
      } catch (error) {
        for (const id of chunk) for (const waiter of waiting.get(id) ?? []) waiter.reject(error);
      }
    }
  }

  function flush(): void {
    scheduled = false;
    const batch = pending;
    pending = new Map();
    for (const [projectId, waiting] of batch) void query(projectId, waiting);
  }

  return (projectId, certificateId) =>
    new Promise((resolve, reject) => {
      let byId = pending.get(projectId);
      if (!byId) pending.set(projectId, (byId = new Map()));
      const waiters = byId.get(certificateId);
      if (waiters) waiters.push({ resolve, reject });
      else byId.set(certificateId, [{ resolve, reject }]);
      if (!scheduled) {
        scheduled = true;
        // After the I/O callbacks of this turn: the handshakes that finished together ask together.
        setImmediate(flush);
      }
    });
}
