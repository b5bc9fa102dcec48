import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MASTER_KEY_FILE, ROOT_CERT_FILE, ROOT_KEY_FILE, silentLogger, startServer, type RunningServer } from '@fleetpki/server';
import { apiRequest } from './helpers/api.js';
import { eventually } from './helpers/eventually.js';
import { createTestStore, type TestStore } from './helpers/stores.js';

/**
 * Two servers sharing one PostgreSQL database make one first signing key between them, however
 * their first needs of it meet, and each sees a rotation made through the other.
 */
describe('device-token signing keys on two servers sharing PostgreSQL', () => {
  let store: TestStore;
  let secondDataDir: string;
  let first: RunningServer;
  let second: RunningServer;

  before(async () => {
    store = await createTestStore('postgres');
    const options = { database: store.database, httpPort: 0, gatewayPort: 0, mqttPort: 0, coapPort: 0, logger: silentLogger, announce: () => {}, tokenKeys: { publishLeadSeconds: 60, refreshMs: 100 } };
    first = await startServer({ ...options, dataDir: store.dataDir });
    // Servers sharing a database share the platform root and the master key (README).
    secondDataDir = mkdtempSync(join(tmpdir(), 'fleetpki-tokens-second-'));
    for (const file of [ROOT_CERT_FILE, ROOT_KEY_FILE, MASTER_KEY_FILE]) cpSync(join(store.dataDir, file), join(secondDataDir, file));
    second = await startServer({ ...options, dataDir: secondDataDir });
  });
  after(async () => {
    await first.close();
    await second.close();
    rmSync(secondDataDir, { recursive: true, force: true });
    await store.cleanup();
  });

  const jwksKids = async (server: RunningServer): Promise<string[]> => {
    const answer = await apiRequest('GET', `${server.httpUrl}/.well-known/jwks.json`, null);
    assert.equal(answer.status, 200, answer.text);
    return (answer.body['keys'] as { kid: string }[]).map((k) => k.kid);
  };

  it('first needs on both at once make exactly one key, which both publish', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => jwksKids(i % 2 === 0 ? first : second)));
    const kids = new Set(answers.flat());
    assert.equal(kids.size, 1, JSON.stringify(answers));
    for (const answer of answers) assert.equal(answer.length, 1);
    const rows = await first.store.db.selectFrom('token_signing_keys').select(['kid', 'sequence']).execute();
    assert.deepEqual(rows, [{ kid: [...kids][0], sequence: 1 }]);
  });

  it('a rotation through one is published by the other within its re-read interval; rotations at once each get their own sequence', async () => {
    const key = first.adminApiKey as string;
    const rotated = await apiRequest('POST', `${first.httpUrl}/v1/token-keys`, key);
    assert.equal(rotated.status, 201, rotated.text);
    await eventually(() => jwksKids(second), (kids) => kids.includes(rotated.body['kid'] as string), 2000);
    const both = await Promise.all([first, second].map((server) => apiRequest('POST', `${server.httpUrl}/v1/token-keys`, key)));
    assert.deepEqual(both.map((r) => r.status), [201, 201]);
    const sequences = (await first.store.db.selectFrom('token_signing_keys').select('sequence').orderBy('sequence').execute()).map((r) => r.sequence);
    assert.deepEqual(sequences, [1, 2, 3, 4]);
  });
});
