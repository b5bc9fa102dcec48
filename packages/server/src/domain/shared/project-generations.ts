import { sql, type Transaction } from 'kysely';
import type { Database } from '../../store/schema.js';

/**
 * Announces a change inside the transaction that makes it: a CA change invalidates the
 * project's parsed anchors, a revocation its revocation set, and every change re-checks its
 * live connections (a device change does only that). Readers compare numbers, so servers
 * sharing one PostgreSQL agree.
 */
export async function bumpGenerations(trx: Transaction<Database>, projectId: string, what: { readonly ca: boolean; readonly revocations?: boolean }): Promise<void> {
  await trx
    .updateTable('projects')
    .set({
      auth_generation: sql<number>`auth_generation + 1`,
      ...(what.ca ? { ca_generation: sql<number>`ca_generation + 1` } : {}),
      ...(what.revocations ? { revocation_generation: sql<number>`revocation_generation + 1` } : {}),
    })
    .where('id', '=', projectId)
    .execute();
}
