import type { Insertable, Kysely, Transaction } from 'kysely';
import type { AuditEventsTable, Database, DeviceCertificatesTable, IssuedCertificatesTable } from '../../store/schema.js';

/** One issuance to record: the certificate's facts, its inventory row (DESIGN §8) and its audit event, stored together. */
export interface IssuanceRecord {
  readonly certificate: IssuedCertificatesTable;
  readonly inventory: Insertable<DeviceCertificatesTable>;
  readonly audit: Insertable<AuditEventsTable>;
}

/**
 * Where issuance records are committed. A batch is stored in one transaction where it can be
 * (one fsync for many certificates); a record the store refuses (a constraint, a project
 * deleted meanwhile) fails alone, and the others are still stored.
 */
export interface IssuanceRecordSink {
  /** Per record, in order: undefined once it is committed, else the error that kept it out. */
  commit(records: readonly IssuanceRecord[]): Promise<readonly (Error | undefined)[]>;
  close(): Promise<void>;
}

/** Inside a caller's own transaction, for issuance that must commit with another change (a consumed token). */
export async function recordIssuanceIn(trx: Transaction<Database>, record: IssuanceRecord): Promise<void> {
  await trx.insertInto('issued_certificates').values(record.certificate).execute();
  await trx.insertInto('device_certificates').values(record.inventory).onConflict((oc) => oc.doNothing()).execute();
  await trx.insertInto('audit_events').values(record.audit).execute();
}

/** The sink over the Kysely store, for PostgreSQL (whose commits do not hold the event loop). */
export function kyselyRecordSink(db: Kysely<Database>): IssuanceRecordSink {
  return {
    async commit(records) {
      try {
        await db.transaction().execute(async (trx) => {
          await trx.insertInto('issued_certificates').values(records.map((r) => r.certificate)).execute();
          // A certificate already in the inventory (seen before it was recorded: never, in practice) keeps its row.
          await trx.insertInto('device_certificates').values(records.map((r) => r.inventory)).onConflict((oc) => oc.doNothing()).execute();
          await trx.insertInto('audit_events').values(records.map((r) => r.audit)).execute();
        });
        return records.map(() => undefined);
      } catch {
        // Some record was refused: each in a transaction of its own, so only that one fails.
        const outcomes: (Error | undefined)[] = [];
        for (const record of records) {
          outcomes.push(
            await db
              .transaction()
              .execute((trx) => recordIssuanceIn(trx, record))
              .then(
                () => undefined,
                (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
              ),
          );
        }
        return outcomes;
      }
    },
    close: () => Promise.resolve(),
  };
}
