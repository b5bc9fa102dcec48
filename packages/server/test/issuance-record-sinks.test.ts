import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { kyselyRecordSink, type IssuanceRecord, type IssuanceRecordSink } from '../src/domain/issuance/issuance-record-sink.js';
import { IssuanceRecorder } from '../src/domain/issuance/issuance-recorder.js';
import { isForeignKeyViolation, isUniqueViolation } from '../src/store/constraint-violations.js';
import { openStore, type Store } from '../src/store/open-store.js';
import { sqliteIssuanceWriter } from '../src/store/sqlite-issuance-writer.js';
import { createTestStore, DIALECTS, type TestStore } from './helpers/stores.js';
import { issuedInventoryRow } from './helpers/inventory-row.js';

/** The sinks issuance records go to: one commit for a batch, a refused record failing alone, nothing else lost. */
for (const dialect of DIALECTS) {
  describe(`issuance record sink (${dialect})`, () => {
    let testStore: TestStore;
    let store: Store;
    let sink: IssuanceRecordSink;
    const at = new Date().toISOString();
    const record = (projectId: string, fingerprint: string = randomUUID()): IssuanceRecord => ({
      certificate: {
        id: randomUUID(),
        project_id: projectId,
        managed_ca_id: 'ca-1',
        serial: randomUUID().replaceAll('-', ''),
        fingerprint_sha256: fingerprint,
        certificate_id: `device-${fingerprint.slice(0, 8)}`,
        device_id: null,
        channel: 'api',
        not_after: at,
        created_at: at,
      },
      inventory: issuedInventoryRow(projectId, fingerprint, at),
      audit: { project_id: projectId, actor: 'test', action: 'pki.certificate.issue', target_type: 'certificate', target_id: fingerprint, details: '{}', created_at: at },
    });
    const stored = async (fingerprints: readonly string[]): Promise<{ certificates: number; audits: number; inventory: number }> => {
      const certificates = await store.db.selectFrom('issued_certificates').select('fingerprint_sha256').where('fingerprint_sha256', 'in', fingerprints).execute();
      const audits = await store.db.selectFrom('audit_events').select('target_id').where('target_id', 'in', fingerprints).execute();
      const inventory = await store.db.selectFrom('device_certificates').select('fingerprint_sha256').where('fingerprint_sha256', 'in', fingerprints).execute();
      return { certificates: certificates.length, audits: audits.length, inventory: inventory.length };
    };

    before(async () => {
      testStore = await createTestStore(dialect);
      store = await openStore(testStore.database ? { kind: 'postgres', url: testStore.database } : { kind: 'sqlite', dataDir: testStore.dataDir });
      await store.db.insertInto('projects').values({ id: 'p-1', name: 'Acme', slug: 'acme', created_at: at, updated_at: at }).execute();
      sink = store.dialect === 'sqlite' ? sqliteIssuanceWriter(store.location) : kyselyRecordSink(store.db);
    });
    after(async () => {
      await sink.close();
      await store.close();
      await testStore.cleanup();
    });

    it('commits a batch: every certificate with its audit event', async () => {
      const batch = Array.from({ length: 20 }, () => record('p-1'));
      const outcomes = await sink.commit(batch);
      assert.deepEqual(outcomes, batch.map(() => undefined));
      assert.deepEqual(await stored(batch.map((r) => r.certificate.fingerprint_sha256)), { certificates: 20, audits: 20, inventory: 20 });
    });

    it('a record the store refuses fails alone, with the store’s code; the rest of its batch is stored', async () => {
      const taken = record('p-1');
      assert.deepEqual(await sink.commit([taken]), [undefined]);
      const duplicate = record('p-1', taken.certificate.fingerprint_sha256);
      const orphan = record('no-such-project');
      const good = [record('p-1'), record('p-1'), record('p-1')];
      const outcomes = await sink.commit([good[0] as IssuanceRecord, duplicate, good[1] as IssuanceRecord, orphan, good[2] as IssuanceRecord]);
      assert.equal(outcomes[0], undefined);
      assert.ok(isUniqueViolation(outcomes[1]), `the duplicate fingerprint is a unique violation: ${String(outcomes[1])}`);
      assert.equal(outcomes[2], undefined);
      assert.ok(isForeignKeyViolation(outcomes[3]), `a record for a missing project is a foreign-key violation: ${String(outcomes[3])}`);
      assert.equal(outcomes[4], undefined);
      assert.deepEqual(await stored(good.map((r) => r.certificate.fingerprint_sha256)), { certificates: 3, audits: 3, inventory: 3 });
      // Neither refused record left a half: no audit event without its certificate.
      assert.deepEqual(await stored([orphan.certificate.fingerprint_sha256]), { certificates: 0, audits: 0, inventory: 0 });
      assert.deepEqual(await stored([taken.certificate.fingerprint_sha256]), { certificates: 1, audits: 1, inventory: 1 });
    });

    it('the recorder answers each caller after its own record’s commit, and a refusal reaches only its caller', async () => {
      const recorder = new IssuanceRecorder(sink);
      const good = Array.from({ length: 10 }, () => record('p-1'));
      const orphan = record('no-such-project');
      for (let i = 0; i < 11; i++) recorder.enter();
      const results = await Promise.allSettled([...good.slice(0, 5), orphan, ...good.slice(5)].map((r) => recorder.record(r)));
      assert.deepEqual(
        results.map((r) => r.status),
        [...Array(5).fill('fulfilled'), 'rejected', ...Array(5).fill('fulfilled')],
      );
      assert.deepEqual(await stored(good.map((r) => r.certificate.fingerprint_sha256)), { certificates: 10, audits: 10, inventory: 10 });
    });
  });
}
