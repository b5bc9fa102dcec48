import { sql, type Transaction } from 'kysely';
import type { Database } from '../../store/schema.js';

/**
 * Announces a change inside the transaction that makes it: a CA change invalidates the
 * project's parsed anchors and re-checks its live connections; a device change re-checks the
 * connections only. Readers compare numbers, so servers sharing one PostgreSQL agree.
 */
export async function bumpGenerations(trx: Transaction<Database>, projectId: string, what: { readonly ca: boolean }): Promise<void> {
  await trx
    .updateTable('projects')
    .set(
      what.ca
        ? { ca_generation: sql<number>`ca_generation + 1`, auth_generation: sql<number>`auth_generation + 1` }
        : { auth_generation: sql<number>`auth_generation + 1` },
    )
    .where('id', '=', projectId)
    .execute();
}
