import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Compilable, Kysely } from 'kysely';
import { openStore, type Store } from '../src/store/open-store.js';
import type { Database } from '../src/store/schema.js';
import { preparedQuery } from '../src/store/prepared-query.js';
import { createTestStore, DIALECTS, type TestStore } from './helpers/stores.js';

for (const dialect of DIALECTS) {
  describe(`preparedQuery (${dialect})`, () => {
    let testStore: TestStore;
    let store: Store;
    before(async () => {
      testStore = await createTestStore(dialect);
      store = await openStore(testStore.database ? { kind: 'postgres', url: testStore.database } : { kind: 'sqlite', dataDir: testStore.dataDir });
      const at = new Date().toISOString();
      for (const slug of ['acme', 'globex']) {
        await store.db.insertInto('projects').values({ id: `id-${slug}`, name: slug.toUpperCase(), slug, created_at: at, updated_at: at }).execute();
      }
    });
    after(async () => {
      await store.close();
      await testStore.cleanup();
    });

    it('runs the once-compiled query with each call’s values in their places', async () => {
      const byNameAndSlug = preparedQuery(store.db, ['slug', 'name'], (db, p) => db.selectFrom('projects').select(['id', 'slug']).where('name', '=', p.name).where('slug', '=', p.slug));
      assert.deepEqual(await byNameAndSlug({ slug: 'acme', name: 'ACME' }), { id: 'id-acme', slug: 'acme' });
      assert.deepEqual(await byNameAndSlug({ slug: 'globex', name: 'GLOBEX' }), { id: 'id-globex', slug: 'globex' });
      assert.equal(await byNameAndSlug({ slug: 'acme', name: 'GLOBEX' }), undefined);
    });

    type Build = (db: Kysely<Database>, placeholders: Readonly<Record<'slug', string>>) => Compilable<unknown>;
    const misuses: ReadonlyArray<{ name: string; build: Build }> = [
      { name: 'a placeholder used twice', build: (db, p) => db.selectFrom('projects').select('id').where('slug', '=', p.slug).where('name', '=', p.slug) },
      { name: 'a placeholder not used', build: (db) => db.selectFrom('projects').select('id') },
      { name: 'a literal parameter beside the placeholders', build: (db, p) => db.selectFrom('projects').select('id').where('slug', '=', p.slug).where('name', '=', 'ACME') },
    ];
    for (const misuse of misuses) {
      it(`refuses ${misuse.name} when it is prepared`, () => {
        assert.throws(() => preparedQuery(store.db, ['slug'], misuse.build), /preparedQuery: /);
      });
    }
  });
}
