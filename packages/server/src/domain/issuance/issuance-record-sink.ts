import type { Insertable, Kysely, Transaction } from 'kysely';
import type { AuditEventsTable, CmpTransactionsTable, Database, DeviceCertificatesTable, IssuedCertificatesTable } from '../../store/schema.js';
import { isUniqueViolation } from '../../store/constraint-violations.js';

/**
 * What an issuance takes along with its record, each checked where the record is stored and in
 * its transaction (its savepoint, in a group commit), so that a refused one keeps the record out:
 * - a one-time token's use (`ENROLLMENT_TOKEN_USED` when another issuance used it first);
 * - a batch token's claim on a new certificate ID (`CERTIFICATE_ID_TAKEN` when the project has a
 *   device or a certificate by it, or another enrollment claimed it first, migration 0006);
 * - the CMP transaction it answers (`CMP_TRANSACTION_ID_IN_USE` when its ID was used before).
 * Carried as data, not a callback, so the SQLite writer thread applies them too and token
 * enrollments share group commits with every other issuance.
 */
export interface IssuanceClaims {
  readonly tokenUse?: { readonly tokenId: string; readonly usedAt: string };
  readonly newIdentity?: { readonly projectId: string; readonly certificateId: string; readonly tokenId: string; readonly createdAt: string };
  readonly cmpTransaction?: CmpTransactionsTable;
}

/** The codes a claim is refused with; the pipeline turns them into the service's errors. */
export const CLAIM_REFUSALS = ['ENROLLMENT_TOKEN_USED', 'CERTIFICATE_ID_TAKEN', 'CMP_TRANSACTION_ID_IN_USE'] as const;
export type ClaimRefusal = (typeof CLAIM_REFUSALS)[number];

/** A claim the store refused, by code (it crosses the writer thread as message and code). */
export function claimRefused(code: ClaimRefusal): Error {
  return Object.assign(new Error(`issuance claim refused: ${code}`), { code });
}

export function isClaimRefusal(error: unknown): error is Error & { code: ClaimRefusal } {
  return error instanceof Error && (CLAIM_REFUSALS as readonly unknown[]).includes((error as { code?: unknown }).code);
}

/** One issuance to record: the certificate's facts, its inventory row (DESIGN §8) and its audit event, stored together. */
export interface IssuanceRecord {
  readonly certificate: IssuedCertificatesTable;
  readonly inventory: Insertable<DeviceCertificatesTable>;
  readonly audit: Insertable<AuditEventsTable>;
  readonly claims?: IssuanceClaims | undefined;
}

/** Applies a record's claims in `trx`, before its certificate is inserted (the new-identity check must not find it). */
async function applyClaimsIn(trx: Transaction<Database>, claims: IssuanceClaims): Promise<void> {
  if (claims.tokenUse) {
    const used = await trx.updateTable('enrollment_tokens').set({ used_at: claims.tokenUse.usedAt }).where('id', '=', claims.tokenUse.tokenId).where('used_at', 'is', null).executeTakeFirst();
    if (Number(used.numUpdatedRows) !== 1) throw claimRefused('ENROLLMENT_TOKEN_USED');
  }
  if (claims.newIdentity) {
    const { projectId, certificateId, tokenId, createdAt } = claims.newIdentity;
    // The claim first: of two enrollments racing for one new ID, the second waits on the key and then fails on it.
    await trx
      .insertInto('enrollment_claims')
      .values({ project_id: projectId, certificate_id: certificateId, token_id: tokenId, created_at: createdAt })
      .execute()
      .catch((error: unknown) => {
        throw isUniqueViolation(error) ? claimRefused('CERTIFICATE_ID_TAKEN') : error;
      });
    // A device pre-provisioned under that name counts too: provisioning would associate it.
    const device = await trx
      .selectFrom('devices')
      .select('id')
      .where('project_id', '=', projectId)
      .where((eb) => eb.or([eb('certificate_id', '=', certificateId), eb.and([eb('name', '=', certificateId), eb('certificate_id', 'is', null)])]))
      .executeTakeFirst();
    const issued = await trx.selectFrom('issued_certificates').select('id').where('project_id', '=', projectId).where('certificate_id', '=', certificateId).executeTakeFirst();
    if (device || issued) throw claimRefused('CERTIFICATE_ID_TAKEN');
  }
  if (claims.cmpTransaction) {
    await trx
      .insertInto('cmp_transactions')
      .values(claims.cmpTransaction)
      .execute()
      .catch((error: unknown) => {
        throw isUniqueViolation(error) ? claimRefused('CMP_TRANSACTION_ID_IN_USE') : error;
      });
  }
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

/** One record, claims first, inside `trx`. */
export async function recordIssuanceIn(trx: Transaction<Database>, record: IssuanceRecord): Promise<void> {
  if (record.claims) await applyClaimsIn(trx, record.claims);
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
          for (const record of records) if (record.claims) await applyClaimsIn(trx, record.claims);
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
