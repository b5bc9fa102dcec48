import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AuthenticationJournal } from '../src/domain/identity/authentication-journal.js';
import type { IssuanceRecord } from '../src/domain/issuance/issuance-record-sink.js';
import { provisionDevice } from '../src/domain/identity/zero-touch-provisioning.js';
import { openStore, type Store } from '../src/store/open-store.js';
import type { ProjectRow } from '../src/store/schema.js';
import { sqliteIssuanceWriter } from '../src/store/sqlite-issuance-writer.js';
import { createTestStore, type TestStore } from './helpers/stores.js';
import { issuedInventoryRow } from './helpers/inventory-row.js';

/** Bounds of the test: how long the writer thread commits while devices connect for the first time. */
const RUN_MS = 1500;
const BATCH = 20;

/**
 * On SQLite the issuance writer thread is a second connection writing the same file. A request
 * transaction that reads and then writes (zero-touch provisioning) must not fail when that one
 * commits in between (SQLITE_BUSY_SNAPSHOT with a deferred BEGIN): it waits for the lock instead.
 */
describe('SQLite: request transactions beside the issuance writer thread', () => {
  let testStore: TestStore;
  let store: Store;
  let project: ProjectRow;
  before(async () => {
    testStore = await createTestStore('sqlite');
    store = await openStore({ kind: 'sqlite', dataDir: testStore.dataDir });
    const at = new Date().toISOString();
    project = { id: randomUUID(), slug: 'acme', name: 'Acme', created_at: at, updated_at: at, ca_generation: 0, auth_generation: 0, revocation_generation: 0, settings: '{}' };
    await store.db.insertInto('projects').values(project).execute();
  });
  after(async () => {
    await store.close();
    await testStore.cleanup();
  });

  it('first connections provision their devices while batches of records commit', async () => {
    const writer = sqliteIssuanceWriter(store.location);
    const journal = new AuthenticationJournal(store.db, (error) => assert.fail(error));
    const deps = { db: store.db, now: () => new Date() };
    const record = (): IssuanceRecord => {
      const fingerprint = randomUUID();
      const at = new Date().toISOString();
      return {
        certificate: { id: randomUUID(), project_id: project.id, managed_ca_id: 'ca', serial: fingerprint, fingerprint_sha256: fingerprint, certificate_id: 'x', device_id: null, channel: 'api', not_after: at, created_at: at },
        inventory: issuedInventoryRow(project.id, fingerprint, at),
        audit: { project_id: project.id, actor: 'test', action: 'pki.certificate.issue', target_type: 'certificate', target_id: fingerprint, details: '{}', created_at: at },
      };
    };
    const deadline = Date.now() + RUN_MS;
    let committed = 0;
    const committing = (async () => {
      while (Date.now() < deadline) {
        const outcomes = await writer.commit(Array.from({ length: BATCH }, record));
        assert.ok(outcomes.every((o) => o === undefined));
        committed += outcomes.length;
      }
    })();
    let provisioned = 0;
    const failures: string[] = [];
    while (Date.now() < deadline) {
      try {
        const result = await provisionDevice(deps, journal, project, `dev-${provisioned + failures.length}`, {});
        assert.equal(result.outcome, 'created');
        provisioned++;
      } catch (error) {
        failures.push(String((error as { code?: string }).code ?? error));
      }
    }
    await committing;
    await journal.flush();
    await writer.close();
    assert.deepEqual(failures, []);
    assert.ok(provisioned > 0 && committed > 0, `${provisioned} provisioned, ${committed} records committed`);
    const devices = await store.db.selectFrom('devices').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    assert.equal(Number(devices.n), provisioned);
  });
});
