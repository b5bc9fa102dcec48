import type { Kysely } from 'kysely';
import { StartupError } from '../startup-error.js';
import { isUniqueViolation } from '../store/constraint-violations.js';
import type { Database } from '../store/schema.js';
import { MASTER_KEY_ENV, MASTER_KEY_FILE } from './master-key.js';
import type { MasterKeyRing } from './master-key-ring.js';
import type { MasterKeySealer } from './master-key-sealer.js';
import { EnvelopeError, partsOfText } from './sealed-envelope.js';

export const MASTER_KEY_CHECK_SETTING = 'master-key-check';
export const MASTER_KEY_CHECK_CONTEXT = 'fleetpki master key check';
const CHECK_PLAINTEXT = Buffer.from('the master key this store was sealed under', 'utf8');

/**
 * Binds the store to one master key: the first start seals a known value under it, every later
 * start (every server sharing the database) must open it. Without this, a server given another
 * key — a lost master.key remade, a host with its own file beside a shared PostgreSQL — starts
 * happily and fails on its first sealed CA key or PSK, and seals new ones under a key the others
 * do not hold.
 */
export async function claimMasterKey(db: Kysely<Database>, sealer: MasterKeySealer): Promise<void> {
  try {
    await db.insertInto('platform_settings').values({ name: MASTER_KEY_CHECK_SETTING, value: sealer.sealText(CHECK_PLAINTEXT, MASTER_KEY_CHECK_CONTEXT) }).execute();
    return;
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
  }
  const recorded = await db.selectFrom('platform_settings').select('value').where('name', '=', MASTER_KEY_CHECK_SETTING).executeTakeFirstOrThrow();
  const opened = sealer.openText(recorded.value, MASTER_KEY_CHECK_CONTEXT);
  if (opened.ok && opened.value.equals(CHECK_PLAINTEXT)) return;
  throw new StartupError(
    'MASTER_KEY_MISMATCH',
    `this store's secrets are sealed under another master key; servers sharing a database must share it (${MASTER_KEY_ENV}, or the first server's ${MASTER_KEY_FILE})`,
  );
}

/**
 * Whether a ring opens the store's check value (a store no server has claimed yet has none): what
 * `fleetpki master-key` asks before it writes anything, so a ring from another data directory or
 * database is refused up front instead of halfway.
 */
export async function ringOpensStore(db: Kysely<Database>, ring: MasterKeyRing): Promise<boolean> {
  const recorded = await db.selectFrom('platform_settings').select('value').where('name', '=', MASTER_KEY_CHECK_SETTING).executeTakeFirst();
  if (!recorded) return true;
  try {
    return ring.open(partsOfText(recorded.value), MASTER_KEY_CHECK_CONTEXT).equals(CHECK_PLAINTEXT);
  } catch (error) {
    if (error instanceof EnvelopeError) return false;
    throw error;
  }
}
