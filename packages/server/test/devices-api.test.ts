import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApi, type TestApi } from './helpers/api.js';
import { DIALECTS } from './helpers/stores.js';

for (const dialect of DIALECTS) {
  describe(`devices API [${dialect}]`, () => {
    let api: TestApi;
    before(async () => {
      api = await startTestApi(dialect);
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Acme', slug: 'acme' } })).status, 201);
    });
    after(() => api.close());

    it('pre-provisions a device by name with every DESIGN §5 field', async () => {
      const created = await api.call('POST', '/v1/projects/acme/devices', { json: { name: 'sensor-1' } });
      assert.equal(created.status, 201);
      assert.deepEqual(Object.keys(created.body).sort(), ['certificateId', 'createdAt', 'enabled', 'id', 'lastSeenAt', 'name', 'provisioning', 'updatedAt']);
      assert.equal(created.body['name'], 'sensor-1');
      assert.equal(created.body['certificateId'], null);
      assert.equal(created.body['enabled'], true);
      assert.equal(created.body['provisioning'], 'pre-provisioned');
      assert.equal(created.body['lastSeenAt'], null);
      const fetched = await api.call('GET', `/v1/projects/acme/devices/${created.body['id']}`);
      assert.deepEqual(fetched.body, created.body);
    });

    it('refuses a second device with the same name or certificate ID (409), naming the holder', async () => {
      const first = await api.call('POST', '/v1/projects/acme/devices', { json: { name: 'dup-name', certificateId: 'cert-dup' } });
      const sameName = await api.call('POST', '/v1/projects/acme/devices', { json: { name: 'dup-name' } });
      assert.equal(sameName.status, 409);
      assert.equal(sameName.body['code'], 'DEVICE_NAME_TAKEN');
      assert.equal(sameName.body['existingId'], first.body['id']);
      const sameCert = await api.call('POST', '/v1/projects/acme/devices', { json: { name: 'other-name', certificateId: 'cert-dup' } });
      assert.equal(sameCert.status, 409);
      assert.equal(sameCert.body['code'], 'CERTIFICATE_ID_TAKEN');
    });

    it('filters by certificateId, name and enabled, and pages with a total', async () => {
      for (let i = 0; i < 5; i++) {
        const r = await api.call('POST', '/v1/projects/acme/devices', { json: { name: `fleet-${i}`, certificateId: `fleet-cert-${i}`, enabled: i % 2 === 0 } });
        assert.equal(r.status, 201);
      }
      const byCert = await api.call('GET', '/v1/projects/acme/devices?certificateId=fleet-cert-3');
      assert.deepEqual(byCert.body['list'].map((d: { name: string }) => d.name), ['fleet-3']);
      const byName = await api.call('GET', '/v1/projects/acme/devices?name=fleet-4');
      assert.deepEqual(byName.body['list'].map((d: { certificateId: string }) => d.certificateId), ['fleet-cert-4']);
      const disabled = await api.call('GET', '/v1/projects/acme/devices?enabled=false');
      assert.deepEqual(disabled.body['list'].map((d: { name: string }) => d.name).sort(), ['fleet-1', 'fleet-3']);
      const all = await api.call('GET', '/v1/projects/acme/devices?perPage=500');
      const page0 = await api.call('GET', '/v1/projects/acme/devices?page=0&perPage=2');
      const page1 = await api.call('GET', '/v1/projects/acme/devices?page=1&perPage=2');
      assert.equal(page0.body['total'], all.body['total']);
      assert.equal(page0.body['list'].length, 2);
      assert.equal(page1.body['page'], 1);
      assert.notDeepEqual(page0.body['list'][0].id, page1.body['list'][0].id);
    });

    it('renames, disables, and sets a missing certificate ID once; a set one never changes', async () => {
      const created = await api.call('POST', '/v1/projects/acme/devices', { json: { name: 'mutable' } });
      const path = `/v1/projects/acme/devices/${created.body['id']}`;
      const renamed = await api.call('PATCH', path, { json: { name: 'mutable-2', enabled: false } });
      assert.equal(renamed.status, 200);
      assert.equal(renamed.body['name'], 'mutable-2');
      assert.equal(renamed.body['enabled'], false);
      const withId = await api.call('PATCH', path, { json: { certificateId: 'mutable-cert' } });
      assert.equal(withId.body['certificateId'], 'mutable-cert');
      const changed = await api.call('PATCH', path, { json: { certificateId: 'another-cert' } });
      assert.equal(changed.status, 409);
      assert.equal(changed.body['code'], 'CERTIFICATE_ID_IMMUTABLE');
      assert.equal((await api.call('GET', path)).body['certificateId'], 'mutable-cert');
    });

    it('deletes a device; then 404 DEVICE_NOT_FOUND', async () => {
      const created = await api.call('POST', '/v1/projects/acme/devices', { json: { name: 'doomed' } });
      const path = `/v1/projects/acme/devices/${created.body['id']}`;
      assert.equal((await api.call('DELETE', path)).status, 204);
      const gone = await api.call('GET', path);
      assert.equal(gone.status, 404);
      assert.equal(gone.body['code'], 'DEVICE_NOT_FOUND');
    });
  });
}
