import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';

/**
 * Takes (or keeps) the lease on a piece of time-driven work (DESIGN §8: CRL refresh, expiry
 * alerts …), so servers sharing the store do it one at a time: true when `holder` holds it until
 * `now + ttlMs`. A lease whose holder stopped lapses at its end and the next server takes it.
 */
export async function takeSchedulerLease(db: Kysely<Database>, name: string, holder: string, ttlMs: number, now: Date): Promise<boolean> {
  const at = now.toISOString();
  const until = new Date(now.getTime() + ttlMs).toISOString();
  await db.insertInto('scheduler_leases').values({ name, holder: null, leased_until: at }).onConflict((oc) => oc.column('name').doNothing()).execute();
  const taken = await db
    .updateTable('scheduler_leases')
    .set({ holder, leased_until: until })
    .where('name', '=', name)
    .where((eb) => eb.or([eb('holder', '=', holder), eb('holder', 'is', null), eb('leased_until', '<=', at)]))
    .executeTakeFirst();
  return Number(taken.numUpdatedRows) === 1;
}
