import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deviceLookup } from '../src/domain/identity/device-lookups.js';
import { startTestApi, type TestApi } from './helpers/api.js';
import { DIALECTS } from './helpers/stores.js';

/**
 * The read every reconnecting device makes: on PostgreSQL a burst of them is one query per
 * project, and still each caller gets its own row (or none), whatever else is in the batch.
 */
for (const dialect of DIALECTS) {
  describe(`device lookup by certificate ID, in bursts [${dialect}]`, () => {
    let api: TestApi;
    const projectKeys: Record<string, string> = {};

    before(async () => {
      api = await startTestApi(dialect);
      for (const slug of ['north', 'south']) {
        const created = await api.call('POST', '/v1/projects', { json: { name: slug, slug } });
        assert.equal(created.status, 201);
        for (let i = 0; i < 30; i++) assert.equal((await api.call('POST', `/v1/projects/${slug}/devices`, { json: { name: `${slug}-${i}`, certificateId: `cid-${i}` } })).status, 201);
        const row = await api.server.store.db.selectFrom('projects').select('id').where('slug', '=', slug).executeTakeFirstOrThrow();
        projectKeys[slug] = row.id;
      }
    });
    after(() => api.close());

    it('lookups made together, across projects, repeated and missing, each answer their own', async () => {
      const lookup = deviceLookup(api.server.store.db);
      const asks = [...Array.from({ length: 40 }, (_, i) => ['north', `cid-${i}`]), ...Array.from({ length: 40 }, (_, i) => ['south', `cid-${i % 35}`]), ['north', 'cid-3']] as const;
      const rows = await Promise.all(asks.map(([slug, id]) => lookup(projectKeys[slug] as string, id)));
      asks.forEach(([slug, id], i) => {
        const row = rows[i];
        const index = Number(id.slice(4));
        if (index >= 30) assert.equal(row, undefined, `${slug}/${id} does not exist`);
        else {
          assert.equal(row?.name, `${slug}-${index}`);
          assert.equal(row?.certificate_id, id);
          assert.equal(row?.project_id, projectKeys[slug]);
        }
      });
    });
  });
}
