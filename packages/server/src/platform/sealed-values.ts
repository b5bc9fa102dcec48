import type { Kysely } from 'kysely';
import { caKeySealContext } from '../domain/authorities/index.js';
import { pskSealContext } from '../domain/management/index.js';
import { tokenKeySealContext } from '../domain/tokens/index.js';
import { webhookSealContext } from '../domain/webhooks/index.js';
import { enrollmentTokenSealContext } from '../domain/issuance/index.js';
import type { Database } from '../store/schema.js';
import { MASTER_KEY_CHECK_CONTEXT, MASTER_KEY_CHECK_SETTING } from './master-key-claim.js';
import type { MasterKeyRing } from './master-key-ring.js';
import { EnvelopeError, partsOfBytes, partsOfText, sealToBytes, sealToText, type SealedParts } from './sealed-envelope.js';

/** Rows read per query while walking a column: a rotation of a million PSKs holds a page, not the table. */
const PAGE_ROWS = 1000;

type Sealed = Buffer | string;

interface SealedRow {
  readonly id: string;
  readonly sealed: Sealed;
  readonly context: string;
}

/**
 * Every column that holds a value sealed under the master key, with the context that binds each
 * value to its row. A new sealed column is added here, or a master-key rotation would leave its
 * values under a retired key (sealed-values.test.ts fails on a sealed column of the schema missing here).
 */
interface SealedColumn {
  readonly name: string;
  /** Rows after `after` in id order, at most `limit`. */
  page(db: Kysely<Database>, after: string, limit: number): Promise<SealedRow[]>;
  write(db: Kysely<Database>, id: string, sealed: Sealed): Promise<void>;
  parts(sealed: Sealed): SealedParts;
  seal(ring: MasterKeyRing, plaintext: Buffer, context: string): Sealed;
}

const asText = (sealed: Sealed) => (typeof sealed === 'string' ? sealed : sealed.toString('utf8'));
const asBytes = (sealed: Sealed) => (typeof sealed === 'string' ? Buffer.from(sealed, 'utf8') : Buffer.from(sealed));

const SEALED_COLUMNS: readonly SealedColumn[] = [
  {
    name: 'device_credentials.secret_sealed',
    page: async (db, after, limit) =>
      (await db.selectFrom('device_credentials').select(['id', 'identity', 'secret_sealed']).where('id', '>', after).orderBy('id').limit(limit).execute()).map((row) => ({
        id: row.id,
        sealed: row.secret_sealed,
        context: pskSealContext(row),
      })),
    write: async (db, id, sealed) => void (await db.updateTable('device_credentials').set({ secret_sealed: asText(sealed) }).where('id', '=', id).execute()),
    parts: (sealed) => partsOfText(asText(sealed)),
    seal: (ring, plaintext, context) => sealToText(ring.current, plaintext, context),
  },
  {
    name: 'webhooks.secret_sealed',
    page: async (db, after, limit) =>
      (await db.selectFrom('webhooks').select(['id', 'project_id', 'secret_sealed']).where('id', '>', after).orderBy('id').limit(limit).execute()).map((row) => ({
        id: row.id,
        sealed: row.secret_sealed,
        context: webhookSealContext(row),
      })),
    write: async (db, id, sealed) => void (await db.updateTable('webhooks').set({ secret_sealed: asText(sealed) }).where('id', '=', id).execute()),
    parts: (sealed) => partsOfText(asText(sealed)),
    seal: (ring, plaintext, context) => sealToText(ring.current, plaintext, context),
  },
  {
    name: 'enrollment_tokens.secret_sealed',
    page: async (db, after, limit) =>
      (await db.selectFrom('enrollment_tokens').select(['id', 'project_id', 'secret_sealed']).where('secret_sealed', 'is not', null).where('id', '>', after).orderBy('id').limit(limit).execute()).map((row) => ({
        id: row.id,
        sealed: row.secret_sealed as string,
        context: enrollmentTokenSealContext(row),
      })),
    write: async (db, id, sealed) => void (await db.updateTable('enrollment_tokens').set({ secret_sealed: asText(sealed) }).where('id', '=', id).execute()),
    parts: (sealed) => partsOfText(asText(sealed)),
    seal: (ring, plaintext, context) => sealToText(ring.current, plaintext, context),
  },
  {
    name: 'managed_cas.sealed_key',
    page: async (db, after, limit) =>
      (await db.selectFrom('managed_cas').select(['id', 'sealed_key']).where('sealed_key', 'is not', null).where('id', '>', after).orderBy('id').limit(limit).execute()).map((row) => ({
        id: row.id,
        sealed: Buffer.from(row.sealed_key as Buffer),
        context: caKeySealContext(row.id),
      })),
    write: async (db, id, sealed) => void (await db.updateTable('managed_cas').set({ sealed_key: asBytes(sealed) }).where('id', '=', id).execute()),
    parts: (sealed) => partsOfBytes(asBytes(sealed)),
    seal: (ring, plaintext, context) => sealToBytes(ring.current, plaintext, context),
  },
  {
    name: 'token_signing_keys.private_key_sealed',
    page: async (db, after, limit) =>
      (await db.selectFrom('token_signing_keys').select(['kid', 'private_key_sealed']).where('kid', '>', after).orderBy('kid').limit(limit).execute()).map((row) => ({
        id: row.kid,
        sealed: row.private_key_sealed,
        context: tokenKeySealContext(row.kid),
      })),
    write: async (db, id, sealed) => void (await db.updateTable('token_signing_keys').set({ private_key_sealed: asText(sealed) }).where('kid', '=', id).execute()),
    parts: (sealed) => partsOfText(asText(sealed)),
    seal: (ring, plaintext, context) => sealToText(ring.current, plaintext, context),
  },
  {
    name: 'platform_settings.value',
    page: async (db, after, limit) =>
      (await db.selectFrom('platform_settings').select(['name', 'value']).where('name', '=', MASTER_KEY_CHECK_SETTING).where('name', '>', after).limit(limit).execute()).map((row) => ({
        id: row.name,
        sealed: row.value,
        context: MASTER_KEY_CHECK_CONTEXT,
      })),
    write: async (db, id, sealed) => void (await db.updateTable('platform_settings').set({ value: asText(sealed) }).where('name', '=', id).execute()),
    parts: (sealed) => partsOfText(asText(sealed)),
    seal: (ring, plaintext, context) => sealToText(ring.current, plaintext, context),
  },
];

/** `table.column` of every sealed column, for the test that keeps this list whole. */
export const SEALED_COLUMN_NAMES: readonly string[] = SEALED_COLUMNS.map((column) => column.name);

/** A sealed value that no key of the ring opens (or that is not an envelope at all). */
export interface UnopenableValue {
  readonly column: string;
  readonly id: string;
  readonly failure: 'format' | 'key';
}

export interface SealedValueCensus {
  readonly total: number;
  /** How many values each key sealed, by key id; `v1` for values sealed before keys had ids. */
  readonly byKey: Readonly<Record<string, number>>;
  readonly unopenable: readonly UnopenableValue[];
}

async function* everySealedValue(db: Kysely<Database>): AsyncGenerator<{ column: SealedColumn; row: SealedRow }> {
  for (const column of SEALED_COLUMNS) {
    let after = '';
    for (;;) {
      const rows = await column.page(db, after, PAGE_ROWS);
      for (const row of rows) yield { column, row };
      if (rows.length < PAGE_ROWS) break;
      after = (rows[rows.length - 1] as SealedRow).id;
    }
  }
}

function partsOrFailure(column: SealedColumn, row: SealedRow): SealedParts | UnopenableValue {
  try {
    return column.parts(row.sealed);
  } catch (error) {
    if (error instanceof EnvelopeError) return { column: column.name, id: row.id, failure: 'format' };
    throw error;
  }
}

function opened(ring: MasterKeyRing, parts: SealedParts, context: string): Buffer | undefined {
  try {
    return ring.open(parts, context);
  } catch (error) {
    if (error instanceof EnvelopeError) return undefined;
    throw error;
  }
}

/** Opens every sealed value in the store with the ring and counts them by the key that sealed them. */
export async function censusOfSealedValues(db: Kysely<Database>, ring: MasterKeyRing): Promise<SealedValueCensus> {
  const byKey: Record<string, number> = {};
  const unopenable: UnopenableValue[] = [];
  let total = 0;
  for await (const { column, row } of everySealedValue(db)) {
    total += 1;
    const parts = partsOrFailure(column, row);
    if (!('body' in parts)) {
      unopenable.push(parts);
      continue;
    }
    if (opened(ring, parts, row.context) === undefined) unopenable.push({ column: column.name, id: row.id, failure: 'key' });
    else byKey[parts.keyId ?? 'v1'] = (byKey[parts.keyId ?? 'v1'] ?? 0) + 1;
  }
  return { total, byKey, unopenable };
}

export interface ResealOutcome {
  readonly resealed: number;
  /** Values already sealed under the ring's current key, left as they were. */
  readonly alreadyCurrent: number;
}

/** Some sealed values open with no key of the ring: nothing was re-sealed. */
export class UnopenableValuesError extends Error {
  override readonly name = 'UnopenableValuesError';

  constructor(readonly values: readonly UnopenableValue[]) {
    super(`${values.length} sealed value(s) open with no key of the ring, first ${values[0]?.column} ${values[0]?.id}`);
  }
}

/**
 * Re-seals every value not already under the ring's current key, in one transaction: either all
 * of them are under it afterwards or, on any failure (a value no key opens, a SIGKILL), none
 * changed. Values are read a page at a time inside the transaction.
 */
export async function resealUnderCurrentKey(db: Kysely<Database>, ring: MasterKeyRing): Promise<ResealOutcome> {
  return db.transaction().execute(async (trx) => {
    let resealed = 0;
    let alreadyCurrent = 0;
    const unopenable: UnopenableValue[] = [];
    const updates: { column: SealedColumn; id: string; sealed: Sealed }[] = [];
    const flush = async () => {
      for (const update of updates.splice(0)) await update.column.write(trx, update.id, update.sealed);
    };
    for await (const { column, row } of everySealedValue(trx)) {
      const parts = partsOrFailure(column, row);
      if (!('body' in parts)) {
        unopenable.push(parts);
        continue;
      }
      if (parts.keyId === ring.current.id) {
        alreadyCurrent += 1;
        continue;
      }
      const plaintext = opened(ring, parts, row.context);
      if (plaintext === undefined) {
        unopenable.push({ column: column.name, id: row.id, failure: 'key' });
        continue;
      }
      updates.push({ column, id: row.id, sealed: column.seal(ring, plaintext, row.context) });
      resealed += 1;
      // Pages are read whole before they are walked, and ids do not change: the keyset walk stays consistent.
      if (updates.length >= PAGE_ROWS) await flush();
    }
    if (unopenable.length > 0) throw new UnopenableValuesError(unopenable);
    await flush();
    return { resealed, alreadyCurrent };
  });
}
