import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeRoot } from '@fleetpki/test-support';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { DIALECTS } from './helpers/stores.js';

for (const dialect of DIALECTS) {
  describe(`project API keys and the audit log [${dialect}]`, () => {
    let api: TestApi;
    before(async () => {
      api = await startTestApi(dialect);
      for (const slug of ['acme', 'beta']) assert.equal((await api.call('POST', '/v1/projects', { json: { name: slug, slug } })).status, 201);
    });
    after(() => api.close());

    it('a project key sees only its project, is listed without its secret, and stops working when revoked', async () => {
      const created = await api.call('POST', '/v1/projects/acme/api-keys', { json: { name: 'factory line' } });
      assert.equal(created.status, 201);
      const key = created.body['key'] as string;
      assert.match(key, /^fpk_[A-Za-z0-9_-]{43}$/);
      assert.equal(key.slice(0, 12), created.body['prefix']);

      const projects = await api.call('GET', '/v1/projects', { key });
      assert.deepEqual(projects.body['list'].map((p: { slug: string }) => p.slug), ['acme']);
      assert.equal((await api.call('POST', '/v1/projects/acme/devices', { key, json: { name: 'by-key' } })).status, 201);
      assert.equal((await api.call('GET', '/v1/projects/beta/devices', { key })).body['code'], 'PROJECT_ACCESS_DENIED');

      // A project key cannot mint or revoke keys: a leaked one could otherwise outlive its revocation.
      const minted = await api.call('POST', '/v1/projects/acme/api-keys', { key, json: {} });
      assert.equal(minted.status, 403);
      assert.equal(minted.body['code'], 'ADMIN_KEY_REQUIRED');
      const selfRevoke = await api.call('DELETE', `/v1/projects/acme/api-keys/${created.body['id']}`, { key });
      assert.equal(selfRevoke.body['code'], 'ADMIN_KEY_REQUIRED');

      const listed = await api.call('GET', '/v1/projects/acme/api-keys');
      assert.equal(listed.body['total'], 1);
      assert.equal('key' in listed.body['list'][0], false);
      assert.ok(!listed.text.includes(key), 'the secret is never listed');

      const revoked = await api.call('DELETE', `/v1/projects/acme/api-keys/${created.body['id']}`);
      assert.equal(revoked.status, 200);
      assert.equal(typeof revoked.body['revokedAt'], 'string');
      const refused = await api.call('GET', '/v1/projects/acme', { key });
      assert.equal(refused.status, 401);
      assert.equal(refused.body['code'], 'API_KEY_INVALID');
    });

    it('stores only a hash of each key', async () => {
      const created = await api.call('POST', '/v1/projects/beta/api-keys', { json: {} });
      const rows = await api.server.store.db.selectFrom('api_keys').selectAll().execute();
      assert.ok(!JSON.stringify(rows).includes(created.body['key'] as string));
      assert.ok(!JSON.stringify(rows).includes(api.adminKey));
    });

    it('audits every change with actor, action, target and time, newest first', async () => {
      const device = await api.call('POST', '/v1/projects/beta/devices', { json: { name: 'audited' } });
      await api.call('PATCH', `/v1/projects/beta/devices/${device.body['id']}`, { json: { enabled: false } });
      const ca = await api.call('POST', '/v1/projects/beta/certificates', { json: { certFile: base64(makeRoot('/CN=Audited Root').pem) } });
      await api.call('PATCH', `/v1/projects/beta/certificates/${ca.body['id']}`, { json: { enabled: false } });
      await api.call('DELETE', `/v1/projects/beta/devices/${device.body['id']}`);
      const audit = await api.call('GET', '/v1/projects/beta/audit?perPage=100');
      assert.equal(audit.status, 200);
      const events = audit.body['list'] as { actor: string; action: string; targetType: string; targetId: string; createdAt: string }[];
      assert.deepEqual(
        events.slice(0, 5).map((e) => [e.action, e.targetId]),
        [
          ['device.delete', device.body['id']],
          ['certificate.disable', ca.body['id']],
          ['certificate.upload', ca.body['id']],
          ['device.update', device.body['id']],
          ['device.create', device.body['id']],
        ],
      );
      const adminPrefix = api.adminKey.slice(0, 12);
      for (const e of events.slice(0, 5)) {
        assert.equal(e.actor, `admin-key:${adminPrefix}`);
        assert.ok(!Number.isNaN(Date.parse(e.createdAt)));
      }
      assert.ok(events.some((e) => e.action === 'project.create'));
      assert.ok(events.some((e) => e.action === 'api-key.create'));
    });
  });
}
