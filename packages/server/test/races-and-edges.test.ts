import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_KEY_FILE, silentLogger, startServer, StartupError } from '@fleetpki/server';
import pg from 'pg';
import { makeDevice, makeRoot } from '@fleetpki/test-support';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { storeSnapshot } from './helpers/snapshot.js';
import { createTestStore, DIALECTS, POSTGRES_ADMIN_URL } from './helpers/stores.js';

/** Concurrent requests, odd bytes and failing disks: each answer a code, never a 500, never a lost rule. */
for (const dialect of DIALECTS) {
  describe(`races and edges [${dialect}]`, () => {
    let api: TestApi;
    before(async () => {
      api = await startTestApi(dialect);
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Acme', slug: 'acme' } })).status, 201);
    });
    after(() => api.close());

    it('ten concurrent PATCHes setting a certificate ID: one wins, the rest are CERTIFICATE_ID_IMMUTABLE, one audit event', async () => {
      const made = await api.call('POST', '/v1/projects/acme/devices', { json: { name: 'contested' } });
      const path = `/v1/projects/acme/devices/${made.body['id']}`;
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => api.call('PATCH', path, { json: { certificateId: `claim-${i}` } })));
      const winners = answers.filter((a) => a.status === 200);
      assert.equal(winners.length, 1);
      assert.ok(answers.filter((a) => a.status !== 200).every((a) => a.body['code'] === 'CERTIFICATE_ID_IMMUTABLE'));
      assert.equal((await api.call('GET', path)).body['certificateId'], winners[0]?.body['certificateId']);
      const audit = await api.call('GET', '/v1/projects/acme/audit?perPage=500');
      assert.equal(audit.body['list'].filter((e: { action: string; targetId: string }) => e.action === 'device.update' && e.targetId === made.body['id']).length, 1);
    });

    it('five concurrent DELETEs of one device: one 204, the rest DEVICE_NOT_FOUND, one audit event', async () => {
      const made = await api.call('POST', '/v1/projects/acme/devices', { json: { name: 'doomed-twice' } });
      const answers = await Promise.all(Array.from({ length: 5 }, () => api.call('DELETE', `/v1/projects/acme/devices/${made.body['id']}`)));
      assert.deepEqual(answers.map((a) => a.status).sort(), [204, 404, 404, 404, 404]);
      const audit = await api.call('GET', '/v1/projects/acme/audit?perPage=500');
      assert.equal(audit.body['list'].filter((e: { action: string; targetId: string }) => e.action === 'device.delete' && e.targetId === made.body['id']).length, 1);
    });

    it('concurrent enable/disable of a CA: every answer is 200 and the audit log records only real changes', async () => {
      const ca = await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(makeRoot('/CN=Flapping').pem) } });
      const path = `/v1/projects/acme/certificates/${ca.body['id']}`;
      const answers = await Promise.all(Array.from({ length: 8 }, () => api.call('PATCH', path, { json: { enabled: false } })));
      assert.ok(answers.every((a) => a.status === 200 && a.body['enabled'] === false));
      const audit = await api.call('GET', '/v1/projects/acme/audit?perPage=500');
      assert.equal(audit.body['list'].filter((e: { action: string; targetId: string }) => e.action === 'certificate.disable' && e.targetId === ca.body['id']).length, 1);
    });

    it('control characters in bodies, queries and paths are VALIDATION_FAILED, not a 500', async () => {
      const requests = [
        api.call('POST', '/v1/projects', { json: { name: 'a\u0000b', slug: 'nul-1' } }),
        api.call('POST', '/v1/projects/acme/devices', { json: { name: 'line\nbreak' } }),
        api.call('GET', '/v1/projects/acme/devices?name=%00'),
        api.call('GET', '/v1/projects/acme/devices/%00'),
        api.call('GET', '/v1/projects/%00'),
        api.call('POST', '/v1/projects/acme/api-keys', { json: { name: 'k\u0000' } }),
      ];
      for (const answer of await Promise.all(requests)) {
        assert.equal(answer.status, 400, answer.text);
        assert.equal(answer.body['code'], 'VALIDATION_FAILED');
      }
    });

    it('a bundle with nothing storable is refused with the first refusal’s code and every result', async () => {
      const root = makeRoot('/CN=Bundle Signer');
      const before = await storeSnapshot(api.server);
      const answer = await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(makeDevice(root, '/O=acme/CN=d1').pem + makeDevice(root, '/O=acme/CN=d2').pem) } });
      assert.equal(answer.status, 422);
      assert.equal(answer.body['code'], 'CA_NOT_A_CA');
      assert.deepEqual(answer.body['results'].map((r: { status: number }) => r.status), [422, 422]);
      assert.equal(await storeSnapshot(api.server), before);
    });

    it('writes racing a project deletion answer 201 or PROJECT_NOT_FOUND, never a 500', async () => {
      for (let round = 0; round < 5; round++) {
        const slug = `doomed-${round}`;
        assert.equal((await api.call('POST', '/v1/projects', { json: { name: slug, slug } })).status, 201);
        const answers = await Promise.all([
          ...Array.from({ length: 4 }, (_, i) => api.call('POST', `/v1/projects/${slug}/devices`, { json: { name: `d-${i}` } })),
          api.call('POST', `/v1/projects/${slug}/certificates`, { json: { certFile: base64(makeRoot(`/CN=Racer ${round}`).pem) } }),
          api.call('POST', `/v1/projects/${slug}/api-keys`, { json: {} }),
          api.call('DELETE', `/v1/projects/${slug}`),
        ]);
        for (const a of answers) assert.ok([201, 204].includes(a.status) || a.body['code'] === 'PROJECT_NOT_FOUND', `${a.status} ${a.text}`);
      }
    });

    it('the admin reads the whole platform’s audit log, deleted projects included; a project key may not', async () => {
      const all = await api.call('GET', '/v1/audit?perPage=500');
      assert.equal(all.status, 200);
      assert.ok(all.body['list'].some((e: { action: string; targetId: string }) => e.action === 'project.delete' && e.targetId.startsWith('doomed-')));
      assert.ok(all.body['list'].some((e: { action: string; projectKey: string | null }) => e.action === 'api-key.create' && e.projectKey === null));
      const key = await api.call('POST', '/v1/projects/acme/api-keys', { json: {} });
      const refused = await api.call('GET', '/v1/audit', { key: key.body['key'] as string });
      assert.equal(refused.status, 403);
      assert.equal(refused.body['code'], 'ADMIN_KEY_REQUIRED');
    });

    if (dialect === 'postgres') {
      it('survives PostgreSQL ending its connections', async () => {
        const database = new URL(api.store.database as string).pathname.slice(1);
        const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
        await admin.connect();
        try {
          await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);
        } finally {
          await admin.end();
        }
        await new Promise((r) => setTimeout(r, 200));
        // The pool may hand out one dead client before it notices; the next request works.
        await api.call('GET', '/v1/projects/acme');
        assert.equal((await api.call('GET', '/v1/projects/acme')).status, 200);
      });
    }
  });
}

describe('the admin key is written before it is committed', () => {
  it('a data directory that cannot take the key file refuses the start and keeps no key nobody has', async () => {
    const store = await createTestStore('sqlite');
    try {
      mkdirSync(join(store.dataDir, ADMIN_KEY_FILE), { mode: 0o700 }); // a directory where the file must go (private, or the mode check refuses first)
      await assert.rejects(
        startServer({ dataDir: store.dataDir, httpPort: 0, gatewayPort: 0, mqttPort: 0, coapPort: 0, logger: silentLogger, announce: () => {} }),
        (error: unknown) => error instanceof StartupError && error.code === 'DATA_DIR_UNUSABLE',
      );
      rmSync(join(store.dataDir, ADMIN_KEY_FILE), { recursive: true });
      const server = await startServer({ dataDir: store.dataDir, httpPort: 0, gatewayPort: 0, mqttPort: 0, coapPort: 0, logger: silentLogger, announce: () => {} });
      try {
        assert.ok(server.adminApiKey, 'the next start makes the key, since none was committed');
        assert.equal(readFileSync(join(store.dataDir, ADMIN_KEY_FILE), 'utf8').trim(), server.adminApiKey);
      } finally {
        await server.close();
      }
      assert.ok(existsSync(join(store.dataDir, ADMIN_KEY_FILE)));
    } finally {
      await store.cleanup();
    }
  });
});

describe('serve --reset-admin-key', () => {
  it('revokes the lost admin key and makes a new one that works', async () => {
    const store = await createTestStore('sqlite');
    const options = { dataDir: store.dataDir, httpPort: 0, gatewayPort: 0, mqttPort: 0, coapPort: 0, logger: silentLogger, announce: () => {} };
    try {
      const first = await startServer(options);
      const lost = first.adminApiKey as string;
      await first.close();
      const second = await startServer({ ...options, resetAdminKey: true });
      try {
        const fresh = second.adminApiKey as string;
        assert.ok(fresh && fresh !== lost);
        assert.equal(readFileSync(join(store.dataDir, ADMIN_KEY_FILE), 'utf8').trim(), fresh);
        const get = (key: string) => fetch(`${second.httpUrl}/v1/projects`, { headers: { 'x-api-key': key } }).then((r) => r.status);
        assert.equal(await get(lost), 401);
        assert.equal(await get(fresh), 200);
      } finally {
        await second.close();
      }
    } finally {
      await store.cleanup();
    }
  });
});
