import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createCsr, encodePem, parseSubjectString } from '@fleetpki/pki';
import { KEY_AND_PROJECT_TTL_MS, KeyAndProjectCache } from '../src/domain/management/key-and-project-cache.js';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { DIALECTS } from './helpers/stores.js';

describe('the issue route’s key-and-project reads, kept for a second', () => {
  it('reuses a found row within the TTL, reads again after it, never keeps a missing one', async () => {
    let now = 0;
    let reads = 0;
    const cache = new KeyAndProjectCache<string>(() => now);
    const load = (row: string | undefined) => async () => ((reads += 1), row);
    assert.equal(await cache.read('k', load('row-1')), 'row-1');
    now = KEY_AND_PROJECT_TTL_MS - 1;
    assert.equal(await cache.read('k', load('row-2')), 'row-1');
    assert.equal(reads, 1);
    now = KEY_AND_PROJECT_TTL_MS;
    assert.equal(await cache.read('k', load('row-2')), 'row-2');
    assert.equal(reads, 2);
    assert.equal(await cache.read('missing', load(undefined)), undefined);
    assert.equal(await cache.read('missing', load(undefined)), undefined);
    assert.equal(reads, 4, 'a key that is not there is read every time');
  });

  it('forget() drops every entry, and a read that began before it is not kept after it', async () => {
    const cache = new KeyAndProjectCache<string>(() => 0);
    await cache.read('k', async () => 'before');
    cache.forget();
    let release: () => void = () => {};
    const slow = cache.read('k', () => new Promise<string>((resolve) => (release = () => resolve('read before the change'))));
    cache.forget();
    release();
    assert.equal(await slow, 'read before the change');
    assert.equal(await cache.read('k', async () => 'after'), 'after');
  });
});

for (const dialect of DIALECTS) {
  describe(`a key revoked is refused on the issue route [${dialect}]`, () => {
    let api: TestApi;
    const csr = () => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      return base64(encodePem('CERTIFICATE REQUEST', createCsr(parseSubjectString('/O=acme/CN=line-unit'), privateKey)));
    };
    const issue = (key: string) => api.call('POST', '/v1/projects/acme/pki/issue', { key, json: { csr: csr() } });
    const projectKey = async (name: string) => {
      const made = await api.call('POST', '/v1/projects/acme/api-keys', { json: { name } });
      return { id: made.body['id'] as string, key: made.body['key'] as string };
    };

    before(async () => {
      api = await startTestApi(dialect);
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'acme', slug: 'acme' } })).status, 201);
      assert.equal((await api.call('POST', '/v1/projects/acme/pki/cas', { json: { mode: 'generate' } })).status, 201);
    });
    after(() => api.close());

    it('through this server’s API: at once', async () => {
      const line = await projectKey('line-1');
      assert.equal((await issue(line.key)).status, 201);
      assert.equal((await api.call('DELETE', `/v1/projects/acme/api-keys/${line.id}`)).status, 200);
      const refused = await issue(line.key);
      assert.deepEqual([refused.status, refused.body['code']], [401, 'API_KEY_INVALID']);
    });

    it('through another server sharing the store (a write this server did not make): within the TTL', async () => {
      const line = await projectKey('line-2');
      assert.equal((await issue(line.key)).status, 201);
      const changed = performance.now();
      await api.server.store.db.updateTable('api_keys').set({ revoked_at: new Date().toISOString() }).where('id', '=', line.id).execute();
      let refused = await issue(line.key);
      while (refused.status === 201 && performance.now() - changed < 3 * KEY_AND_PROJECT_TTL_MS) refused = await issue(line.key);
      assert.deepEqual([refused.status, refused.body['code']], [401, 'API_KEY_INVALID']);
      assert.ok(performance.now() - changed <= KEY_AND_PROJECT_TTL_MS + 250, `refused after ${Math.round(performance.now() - changed)} ms`);
    });
  });
}
