import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { makeRoot } from '@fleetpki/test-support';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { DIALECTS } from './helpers/stores.js';

interface Listed {
  readonly list: readonly Record<string, unknown>[];
  readonly total: number | null;
  readonly nextCursor: string | null;
}

/**
 * Issue 19, 1: every list pages by cursor (`cursor` in, `nextCursor` out) as well as by `page`,
 * `total` is counted within 10,000 rows unless `count=true`, and the device list searches by
 * name prefix and last seen. Walking a list by cursor must give exactly its one big page.
 */
for (const dialect of DIALECTS) {
  describe(`lists page by cursor [${dialect}]`, () => {
    let api: TestApi;
    let projectId = '';
    const get = async (path: string): Promise<Listed> => {
      const r = await api.call('GET', path);
      assert.equal(r.status, 200, r.text);
      return r.body as Listed;
    };
    /** Every row of a list, by cursor, `perPage` at a time; asserts each page is full but the last. */
    const walk = async (path: string, perPage: number, from: string | null = null): Promise<Record<string, unknown>[]> => {
      const rows: Record<string, unknown>[] = [];
      let cursor: string | null = from;
      for (let pages = 0; pages < 1000; pages++) {
        const page: Listed = await get(`${path}${path.includes('?') ? '&' : '?'}perPage=${perPage}${cursor ? `&cursor=${cursor}` : ''}`);
        rows.push(...page.list);
        if (page.nextCursor === null) return rows;
        assert.equal(page.list.length, perPage, 'a page with a next one is full');
        cursor = page.nextCursor;
      }
      throw new Error('no last page');
    };

    before(async () => {
      api = await startTestApi(dialect);
      for (const slug of ['list-b', 'list-a', 'list-c']) assert.equal((await api.call('POST', '/v1/projects', { json: { name: slug, slug } })).status, 201);
      projectId = (await api.server.store.db.selectFrom('projects').select('id').where('slug', '=', 'list-a').executeTakeFirstOrThrow()).id;
      const names = ['alpha-1', 'alpha-2', 'alphabet', 'Alpha', 'alphaé', 'beta', ...Array.from({ length: 40 }, (_, i) => `unit-${String(i).padStart(2, '0')}`)];
      for (const name of names) assert.equal((await api.call('POST', '/v1/projects/list-a/devices', { json: { name } })).status, 201);
      for (let i = 0; i < 7; i++) assert.equal((await api.call('POST', '/v1/projects/list-a/api-keys', { json: { name: `line-${i}` } })).status, 201);
      const caIds: string[] = [];
      for (let i = 0; i < 5; i++) {
        const uploaded = await api.call('POST', '/v1/projects/list-a/certificates', { json: { certFile: base64(makeRoot(`/CN=Paging Root ${i}`).pem) } });
        assert.equal(uploaded.status, 201);
        caIds.push(uploaded.body['id'] as string);
      }
      const revoked = await api.call('POST', '/v1/projects/list-a/revocations', {
        json: { certificates: Array.from({ length: 23 }, (_, i) => ({ caId: caIds[i % caIds.length], serialNumber: (i + 1).toString(16).padStart(2, '0') })), reason: 'keyCompromise' },
      });
      assert.equal(revoked.status, 200, revoked.text);
    });
    after(() => api.close());

    it('walking any list by cursor gives its one big page: same rows, same order, no overlap', async () => {
      for (const path of ['/v1/projects', '/v1/projects/list-a/devices', '/v1/projects/list-a/api-keys', '/v1/projects/list-a/certificates', '/v1/projects/list-a/revocations', '/v1/projects/list-a/audit', '/v1/audit']) {
        const whole = await get(`${path}?perPage=500`);
        assert.equal(whole.nextCursor, null, `${path}: one page holds it`);
        assert.equal(whole.total, whole.list.length, `${path}: counted`);
        for (const perPage of [1, 3, 10]) {
          const walked = await walk(path, perPage);
          assert.deepEqual(
            walked.map((row) => row['id'] ?? row['slug']),
            whole.list.map((row) => row['id'] ?? row['slug']),
            `${path} by ${perPage}`,
          );
        }
      }
    });

    it('namePrefix ending in U+10FFFF, the highest code point: the names under it, none past it', async () => {
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'list-d', slug: 'list-d' } })).status, 201);
      for (const name of ['edge\u{10FFFF}', 'edge\u{10FFFF}\u{10FFFF}x', 'edge\u{10FFFF}z', 'edgf', 'ed\u{D7FF}', 'ed\u{E000}']) {
        assert.equal((await api.call('POST', '/v1/projects/list-d/devices', { json: { name } })).status, 201, name);
      }
      const names = async (prefix: string) => (await get(`/v1/projects/list-d/devices?namePrefix=${encodeURIComponent(prefix)}`)).list.map((d) => d['name']);
      assert.deepEqual(await names('edge\u{10FFFF}'), ['edge\u{10FFFF}', 'edge\u{10FFFF}z', 'edge\u{10FFFF}\u{10FFFF}x']);
      assert.deepEqual(await names('edge'), ['edge\u{10FFFF}', 'edge\u{10FFFF}z', 'edge\u{10FFFF}\u{10FFFF}x']);
      assert.deepEqual(await names('ed\u{D7FF}'), ['ed\u{D7FF}'], 'the successor skips the surrogates');
    });

    it('namePrefix: exactly the names starting with it, in byte order, by cursor too', async () => {
      const found = await walk('/v1/projects/list-a/devices?namePrefix=alpha', 2);
      assert.deepEqual(
        found.map((d) => d['name']),
        ['alpha-1', 'alpha-2', 'alphabet', 'alphaé'],
      );
      assert.deepEqual((await get('/v1/projects/list-a/devices?namePrefix=unit-3')).list.map((d) => d['name']), Array.from({ length: 10 }, (_, i) => `unit-3${i}`));
      assert.deepEqual((await get('/v1/projects/list-a/devices?namePrefix=zzz')).list, []);
    });

    it('lastSeenBefore: devices last seen before an instant, oldest sighting first; never-seen devices are not among them', async () => {
      const db = api.server.store.db;
      const seen = (name: string, at: string) => db.updateTable('devices').set({ last_seen_at: at }).where('project_id', '=', projectId).where('name', '=', name).execute();
      await seen('beta', '2026-01-02T00:00:00.000Z');
      await seen('unit-05', '2026-01-01T00:00:00.000Z');
      await seen('unit-06', '2026-06-01T00:00:00.000Z');
      const silent = await walk('/v1/projects/list-a/devices?lastSeenBefore=2026-03-01T00:00:00Z', 1);
      assert.deepEqual(
        silent.map((d) => d['name']),
        ['unit-05', 'beta'],
      );
      // Only ISO 8601 with a zone, or a date: not what Date.parse happens to guess, nor local time.
      for (const value of ['yesterday', 'Mar 1 2026', '2026/03/01', '2026-03-01T00:00:00', '2026-02-30T00:00:00Z']) {
        const bad = await api.call('GET', `/v1/projects/list-a/devices?lastSeenBefore=${encodeURIComponent(value)}`);
        assert.deepEqual([bad.status, bad.body['code']], [400, 'VALIDATION_FAILED'], value);
      }
      assert.equal((await api.call('GET', '/v1/projects/list-a/devices?lastSeenBefore=2026-03-01')).status, 200, 'a date alone is UTC midnight');
      const both = await api.call('GET', '/v1/projects/list-a/devices?lastSeenBefore=2026-03-01T00:00:00Z&namePrefix=unit');
      assert.deepEqual([both.status, both.body['code']], [400, 'VALIDATION_FAILED'], 'two orders at once are refused, not one silently dropped');
    });

    it('refuses a cursor it did not hand out (CURSOR_INVALID) and a page past 10,000 rows (PAGE_TOO_DEEP)', async () => {
      const forged = Buffer.from(JSON.stringify(['not-a-date', 'x'])).toString('base64url');
      for (const cursor of ['%%%', 'bm90IGpzb24', forged, Buffer.from('["a","b","c"]').toString('base64url')]) {
        const r = await api.call('GET', `/v1/projects/list-a/devices?cursor=${encodeURIComponent(cursor)}`);
        assert.deepEqual([r.status, r.body['code']], [400, 'CURSOR_INVALID'], cursor);
      }
      const deep = await api.call('GET', '/v1/projects/list-a/devices?page=100&perPage=100');
      assert.deepEqual([deep.status, deep.body['code'], deep.body['maxOffsetRows']], [400, 'PAGE_TOO_DEEP', 10_000]);
      assert.equal((await api.call('GET', '/v1/projects/list-a/devices?page=99&perPage=100')).status, 200, 'the last page within the bound');
    });

    it('total: exact within 10,000 rows, null beyond unless count=true; a cursor deep in a long list starts right after its row', async () => {
      const db = api.server.store.db;
      const at = new Date('2026-02-01T00:00:00.000Z').getTime();
      for (let start = 0; start < 10_001; start += 500) {
        const rows = Array.from({ length: Math.min(500, 10_001 - start) }, (_, i) => {
          const created = new Date(at + (start + i) * 1000).toISOString();
          return { id: randomUUID(), project_id: projectId, name: `bulk-${String(start + i).padStart(5, '0')}`, certificate_id: null, enabled: 1, provisioning: 'pre-provisioned', created_at: created, updated_at: created, last_seen_at: null };
        });
        await db.insertInto('devices').values(rows).execute();
      }
      const first = await get('/v1/projects/list-a/devices?perPage=50');
      assert.equal(first.total, null);
      assert.equal((await get('/v1/projects/list-a/devices?perPage=1&count=true')).total, 10_001 + 46);
      assert.equal((await get('/v1/projects/list-a/devices?namePrefix=alpha')).total, 4, 'a filtered list within the cap is counted');
      // The cursor of the page after the 9,000th bulk device, then the rest by cursor.
      const row9000 = await db.selectFrom('devices').select(['created_at', 'id']).where('name', '=', 'bulk-09000').executeTakeFirstOrThrow();
      const cursor = Buffer.from(JSON.stringify([row9000.created_at, row9000.id])).toString('base64url');
      const tail = await walk('/v1/projects/list-a/devices', 500, cursor);
      assert.equal(tail[0]?.['name'], 'bulk-09001');
      assert.equal(tail.length, 1000 + 46, 'the rest of the bulk devices, then those made through the API');
    });
  });
}
