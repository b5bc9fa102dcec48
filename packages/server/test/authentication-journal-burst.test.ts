import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuthenticationJournal, JOURNAL_BATCH } from '../src/domain/identity/authentication-journal.js';
import { startTestApi, type TestApi } from './helpers/api.js';
import { DIALECTS } from './helpers/stores.js';

const DEVICES = 2_400;

/**
 * Issue 19, 3: a reconnect storm puts thousands of devices in the journal between two writes.
 * Every device's last-seen time and every audit event arrive, none dropped, whatever the store;
 * a device seen twice keeps its later time.
 */
for (const dialect of DIALECTS) {
  describe(`authentication journal under a burst [${dialect}]`, () => {
    let api: TestApi;
    const ids: string[] = [];

    before(async () => {
      api = await startTestApi(dialect);
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'storm', slug: 'storm' } })).status, 201);
      const body = Array.from({ length: DEVICES }, (_, i) => JSON.stringify({ name: `storm-${i}`, certificateId: `storm-${i}` })).join('\n');
      const imported = await fetch(`${api.server.httpUrl}/v1/projects/storm/devices/import`, { method: 'POST', headers: { 'x-api-key': api.adminKey, 'content-type': 'application/x-ndjson' }, body });
      assert.equal(imported.status, 200);
      await imported.text();
      const rows = await api.server.store.db.selectFrom('devices').select(['id', 'name']).orderBy('name').execute();
      assert.equal(rows.length, DEVICES);
      ids.push(...rows.map((row) => row.id));
    });
    after(() => api.close());

    it(`${DEVICES} devices (more than ${JOURNAL_BATCH} a write) and a second sighting of some: every last-seen time and event written, none dropped`, async () => {
      const db = api.server.store.db;
      const errors: string[] = [];
      const journal = new AuthenticationJournal(db, (error) => errors.push(error.message));
      const base = Date.UTC(2026, 11, 4, 12);
      const expected = new Map<string, string>();
      const record = (id: string, at: Date) => {
        journal.record({ at, entry: { actor: 'device:burst', action: 'device.authenticate', targetType: 'device', targetId: id, projectId: null }, seenDeviceId: id });
        if ((expected.get(id) ?? '') < at.toISOString()) expected.set(id, at.toISOString());
      };
      // All at once, as a storm's handshakes finish: writes start at each JOURNAL_BATCH while
      // earlier ones are still running.
      ids.forEach((id, i) => record(id, new Date(base + i)));
      // Every tenth device again, later: its later time is the one kept.
      ids.forEach((id, i) => i % 10 === 0 && record(id, new Date(base + 1_000_000 + i)));
      await journal.flush();
      assert.deepEqual(errors, []);
      assert.equal(journal.pendingEvents, 0);
      const rows = await db.selectFrom('devices').select(['id', 'last_seen_at']).execute();
      const wrong = rows.filter((row) => row.last_seen_at !== expected.get(row.id));
      assert.deepEqual(wrong.slice(0, 3), [], `${wrong.length} devices have another last-seen time`);
      const events = await db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).where('actor', '=', 'device:burst').executeTakeFirstOrThrow();
      assert.equal(Number(events.n), DEVICES + DEVICES / 10);
    });
  });
}
