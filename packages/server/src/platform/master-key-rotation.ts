import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StartupError } from '../startup-error.js';
import { openStore, SQLITE_FILE_NAME, type Store } from '../store/open-store.js';
import { ringOpensStore } from './master-key-claim.js';
import { MasterKeyRing } from './master-key-ring.js';
import { MASTER_KEY_ENV, MASTER_KEY_FILE, masterKeySource, newMasterKey, spellRing, writeMasterKeyFile, type MasterKeySource } from './master-key.js';
import { censusOfSealedValues, resealUnderCurrentKey, UnopenableValuesError, type SealedValueCensus } from './sealed-values.js';
import { envelopeKey } from './sealed-envelope.js';

/**
 * Master-key rotation (issue 18, 5), while servers keep running:
 *
 * 1. a new key is put first in the ring file (written whole, fsync'd): running servers see the
 *    file change at their next seal or at an open naming the new key, and seal under it;
 * 2. a short settle, so a seal begun under the old key has committed;
 * 3. every sealed value not under the new key is re-sealed in one transaction;
 * 4. the old keys leave the file (retired);
 * 5. a last pass re-seals what a server slower than the settle wrote under an old key meanwhile.
 *
 * A SIGKILL anywhere leaves every value openable by the file: before 1 the file is the old ring;
 * from 1 to 4 it holds both keys; the transaction of 3 commits whole or not at all; after 4 every
 * value is under the new key. Running `rotate` again after an interruption finishes that rotation
 * (a file of several keys is one under way) instead of adding yet another key.
 *
 * With `FLEETPKI_MASTER_KEY` (several servers on one PostgreSQL), no file can be changed under the
 * other servers, so the steps are the operator's: `add` prints the new ring, which every server
 * is given; `reseal` then re-seals and names the keys to drop.
 */
export type MasterKeyErrorCode = 'MASTER_KEY_IN_ENVIRONMENT' | 'MASTER_KEY_VALUE_UNOPENABLE' | 'MASTER_KEY_BUSY';

export class MasterKeyError extends Error {
  override readonly name = 'MasterKeyError';

  constructor(
    readonly code: MasterKeyErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Which store and which keys: the data directory's store or a PostgreSQL URL; the file or the variable. */
export interface MasterKeyTarget {
  readonly dataDir: string;
  readonly database?: string | undefined;
  /** FLEETPKI_MASTER_KEY as the process has it. */
  readonly env?: string | undefined;
}

export interface MasterKeyStatus {
  readonly source: 'file' | 'environment';
  /** Key ids, the sealing key first. */
  readonly ring: readonly string[];
  readonly census: SealedValueCensus;
}

export interface ResealSummary {
  readonly current: string;
  readonly resealed: number;
  readonly alreadyCurrent: number;
  /** Keys no value is sealed under any more: gone from the file, or to drop from the variable. */
  readonly retired: readonly string[];
}

export interface RotationSummary extends ResealSummary {
  /** The key this run made; absent when it finished a rotation an interruption had left. */
  readonly added: string | undefined;
  /** Values a server sealed under a retired key after the re-seal, re-sealed by the last pass. */
  readonly stragglers: number;
}

/** How long running servers get, after the ring file changes, to finish a seal begun under the old key. */
export const DEFAULT_SETTLE_MS = 1000;

export async function masterKeyStatus(target: MasterKeyTarget): Promise<MasterKeyStatus> {
  const source = existingSource(target);
  return withStore(target, source, async (store) => ({ source: source.kind, ring: source.ring().keys.map((key) => key.id), census: await censusOfSealedValues(store.db, source.ring()) }));
}

/**
 * Puts a new key first in the ring. From the file, running servers pick it up; from the variable,
 * the answer's `environmentValue` is the new FLEETPKI_MASTER_KEY for every server.
 */
export async function addMasterKey(target: MasterKeyTarget): Promise<{ readonly added: string; readonly ring: readonly string[]; readonly environmentValue?: string }> {
  const source = existingSource(target);
  return withStore(target, source, async () => {
    const ring = new MasterKeyRing([envelopeKey(newMasterKey()), ...source.ring().keys]);
    if (source.kind === 'file') writeMasterKeyFile(target.dataDir, ring);
    const ids = ring.keys.map((key) => key.id);
    return source.kind === 'file' ? { added: ring.current.id, ring: ids } : { added: ring.current.id, ring: ids, environmentValue: spellRing(ring, ',') };
  }, true);
}

/** Re-seals every value under the ring's first key; from the file, the other keys then leave it. */
export async function resealMasterKey(target: MasterKeyTarget): Promise<ResealSummary> {
  const source = existingSource(target);
  return withStore(target, source, async (store) => {
    const ring = source.ring();
    const outcome = await reseal(store, ring);
    if (source.kind === 'file') writeMasterKeyFile(target.dataDir, new MasterKeyRing([ring.current]));
    return { current: ring.current.id, ...outcome, retired: ring.keys.slice(1).map((key) => key.id) };
  }, true);
}

export async function rotateMasterKey(target: MasterKeyTarget, options: { readonly settleMs?: number } = {}): Promise<RotationSummary> {
  const source = existingSource(target);
  if (source.kind === 'environment') {
    throw new MasterKeyError(
      'MASTER_KEY_IN_ENVIRONMENT',
      `the master key comes from ${MASTER_KEY_ENV}, which this command cannot change under the other servers: run \`fleetpki master-key add\`, give every server the ring it prints, then \`fleetpki master-key reseal\`, then drop the old key from ${MASTER_KEY_ENV} (README, "Master-key rotation")`,
    );
  }
  return withStore(target, source, async (store) => {
    let ring = source.ring();
    let added: string | undefined;
    if (ring.keys.length === 1) {
      ring = new MasterKeyRing([envelopeKey(newMasterKey()), ...ring.keys]);
      writeMasterKeyFile(target.dataDir, ring);
      added = ring.current.id;
      await sleep(options.settleMs ?? DEFAULT_SETTLE_MS);
    }
    const outcome = await reseal(store, ring);
    writeMasterKeyFile(target.dataDir, new MasterKeyRing([ring.current]));
    // The ring in memory still holds the old keys, so a straggler's value opens here to be re-sealed.
    const stragglers = (await reseal(store, ring)).resealed;
    return { added, current: ring.current.id, ...outcome, retired: ring.keys.slice(1).map((key) => key.id), stragglers };
  }, true);
}

async function reseal(store: Store, ring: MasterKeyRing) {
  try {
    return await resealUnderCurrentKey(store.db, ring);
  } catch (error) {
    if (!(error instanceof UnopenableValuesError)) throw error;
    const listed = error.values
      .slice(0, 5)
      .map((value) => `${value.column} ${value.id} (${value.failure === 'key' ? 'no key of the ring opens it' : 'not a sealed value'})`)
      .join('; ');
    throw new MasterKeyError('MASTER_KEY_VALUE_UNOPENABLE', `${error.values.length} sealed value(s) open with no key of the ring, so nothing was re-sealed: ${listed}`);
  }
}

/** The ring as a server would read it, but never made: these commands act on an existing data directory. */
function existingSource(target: MasterKeyTarget): MasterKeySource {
  if ((target.env === undefined || target.env === '') && !existsSync(join(target.dataDir, MASTER_KEY_FILE))) {
    throw new StartupError('INVALID_OPTION', `no master key at ${join(target.dataDir, MASTER_KEY_FILE)} and no ${MASTER_KEY_ENV}: give the server's --data-dir (or its ${MASTER_KEY_ENV})`);
  }
  return masterKeySource(target.dataDir, target.env);
}

/** Beside master.key while a command may change it; holds the command's process id. */
export const MASTER_KEY_LOCK_FILE = 'master-key.lock';

/**
 * One command at a time changes the key file: two rotations at once would each add a key and
 * the second write would drop the first's, leaving what it had re-sealed under a key no file
 * holds. The lock is a file made with O_EXCL naming its process; one left by a process that no
 * longer runs (SIGKILL) is taken over.
 */
async function underFileLock<T>(dataDir: string, use: () => Promise<T>): Promise<T> {
  const file = join(dataDir, MASTER_KEY_LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = lockHolder(file);
      // A second EEXIST: another command took the stale lock first.
      if (attempt > 0 || (holder !== undefined && holder !== process.pid && isRunning(holder))) {
        throw new MasterKeyError('MASTER_KEY_BUSY', `another master-key command${holder === undefined ? '' : ` (process ${holder})`} is changing ${join(dataDir, MASTER_KEY_FILE)}: let it finish, then run this again`);
      }
      rmSync(file, { force: true });
    }
  }
  try {
    return await use();
  } finally {
    rmSync(file, { force: true });
  }
}

/** The process id a lock file names; none when it is gone or unreadable. */
function lockHolder(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `writesKeyFile`: the command may change master.key, and takes its lock first. */
async function withStore<T>(target: MasterKeyTarget, source: MasterKeySource, use: (store: Store) => Promise<T>, writesKeyFile = false): Promise<T> {
  if (source.kind === 'file' && writesKeyFile) return underFileLock(target.dataDir, () => openAndUse(target, source, use));
  return openAndUse(target, source, use);
}

async function openAndUse<T>(target: MasterKeyTarget, source: MasterKeySource, use: (store: Store) => Promise<T>): Promise<T> {
  if (target.database === undefined && !existsSync(join(target.dataDir, SQLITE_FILE_NAME))) {
    throw new StartupError('INVALID_OPTION', `no store at ${join(target.dataDir, SQLITE_FILE_NAME)}: give the server's --data-dir, or --database for PostgreSQL`);
  }
  const store = await openStore(target.database !== undefined ? { kind: 'postgres', url: target.database } : { kind: 'sqlite', dataDir: target.dataDir }).catch((error: unknown) => {
    throw new StartupError('DATABASE_UNAVAILABLE', `cannot open the store: ${(error as Error).message}`);
  });
  try {
    if (!(await ringOpensStore(store.db, source.ring()))) {
      throw new StartupError('MASTER_KEY_MISMATCH', `no key of ${source.location} opens this store's check value: it belongs to another store (another --data-dir or --database?)`);
    }
    return await use(store);
  } finally {
    await store.close();
  }
}
