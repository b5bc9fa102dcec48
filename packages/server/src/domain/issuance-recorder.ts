import type { Insertable, Kysely, Transaction } from 'kysely';
import type { AuditEventsTable, Database, IssuedCertificatesTable } from '../store/schema.js';

/** One issuance to record: the certificate's facts and its audit event, stored together. */
export interface IssuanceRecord {
  readonly certificate: IssuedCertificatesTable;
  readonly audit: Insertable<AuditEventsTable>;
}

/** Bound on records committed in one transaction. */
export const MAX_RECORDS_PER_COMMIT = 512;

/**
 * How long the first record of a batch waits for others before the commit starts. A commit is
 * one fsync, and on SQLite it holds the event loop while it syncs; without the wait the first
 * certificate of every burst got a commit of its own.
 */
export const GROUP_COMMIT_WINDOW_MS = Number(process.env['FLEETPKI_GROUP_COMMIT_MS'] ?? 2);

/**
 * Records issued certificates with group commit: concurrent issuances share one transaction
 * (one fsync on SQLite), and each caller is answered only after the transaction holding its
 * record has committed — so no certificate leaves the server unrecorded, and the store's sync
 * rate does not cap issuance (one commit per certificate did, as the authentication journal found).
 */
export class IssuanceRecorder {
  private queue: { record: IssuanceRecord; done: (error?: unknown) => void }[] = [];
  private flushing = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly db: Kysely<Database>) {}

  record(record: IssuanceRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record, done: (error) => (error === undefined ? resolve() : reject(error)) });
      if (this.flushing || this.timer) return;
      if (this.queue.length >= MAX_RECORDS_PER_COMMIT) void this.flush();
      else this.timer = setTimeout(() => void this.flush(), GROUP_COMMIT_WINDOW_MS);
    });
  }

  /** Inside a caller's own transaction, for issuance that must commit with another change (a consumed token). */
  static async recordIn(trx: Transaction<Database>, record: IssuanceRecord): Promise<void> {
    await trx.insertInto('issued_certificates').values(record.certificate).execute();
    await trx.insertInto('audit_events').values(record.audit).execute();
  }

  private async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_RECORDS_PER_COMMIT);
        try {
          await this.db.transaction().execute(async (trx) => {
            await trx.insertInto('issued_certificates').values(batch.map((b) => b.record.certificate)).execute();
            await trx.insertInto('audit_events').values(batch.map((b) => b.record.audit)).execute();
          });
          for (const item of batch) item.done();
        } catch (error) {
          for (const item of batch) item.done(error ?? new Error('the issuance record was not stored'));
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
