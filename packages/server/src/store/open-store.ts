import { mkdirSync } from 'node:fs';
import { createPrivateFile } from './private-file.js';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { timedDialect, type TransactionObserver } from './timed-dialect.js';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type MigrationProvider, type SqliteDatabase } from 'kysely';
import pg from 'pg';
import { LruMap } from '../lru-map.js';
import type { StoreDialect } from './dialect.js';
import { migrations } from './migrations.js';
import { applySqlitePragmas } from './sqlite-pragmas.js';
import { registerSqliteReader } from './sqlite-reader.js';
import type { Database } from './schema.js';

export const SQLITE_FILE_NAME = 'fleetpki.sqlite';

export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;
  /** Where the data lives, for logs (a PostgreSQL URL without its password). */
  readonly location: string;
  /** Times every transaction from here on (the metrics' store transaction histogram). */
  observeTransactions(observer: TransactionObserver): void;
  close(): Promise<void>;
}

export type StoreLocation = { readonly kind: 'sqlite'; readonly dataDir: string } | { readonly kind: 'postgres'; readonly url: string };

/** Opens the store and brings its schema to the newest migration. */
export async function openStore(location: StoreLocation): Promise<Store> {
  const store = location.kind === 'sqlite' ? openSqlite(location.dataDir) : openPostgres(location.url);
  try {
    await migrate(store);
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

function openSqlite(dataDir: string): Store {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, SQLITE_FILE_NAME);
  // Every file of the store 0600: SQLite makes -wal and -shm with the database file's mode.
  createPrivateFile(file);
  const database = new BetterSqlite3(file);
  applySqlitePragmas(database);
  const transactions: { current: TransactionObserver | undefined } = { current: undefined };
  const db = new Kysely<Database>({ dialect: timedDialect(new SqliteDialect({ database: withStatementCache(database) }), transactions) });
  let reader: BetterSqlite3.Database;
  try {
    reader = new BetterSqlite3(file, { readonly: true });
    reader.pragma('busy_timeout = 5000');
  } catch (error) {
    database.close();
    throw error;
  }
  registerSqliteReader(db, reader);
  return {
    db,
    dialect: 'sqlite',
    location: file,
    observeTransactions: (observer) => void (transactions.current = observer),
    close: async () => {
      reader.close();
      await db.destroy();
    },
  };
}

/**
 * Kysely opens SQLite transactions with a deferred `begin`. Another connection writes to the same
 * file (the issuance writer thread, cluster siblings), so a transaction that read and then
 * writes would fail at once with SQLITE_BUSY(_SNAPSHOT) when that one has committed since: the
 * busy timeout cannot help a transaction that already holds a read snapshot. BEGIN IMMEDIATE
 * takes the write lock first, waiting for it under the busy timeout, and then never fails so.
 */
const KYSELY_BEGIN = 'begin';
const BEGIN_IMMEDIATE = 'begin immediate';

/** Prepared statements kept per SQL text; the queries are few and repeat (one per route or step). */
const MAX_CACHED_STATEMENTS = 500;

/**
 * Kysely prepares every query anew, which costs about as much as running a small one; the
 * gateway runs the same few queries per handshake. Statements are reused by SQL text, the
 * least recently used dropped beyond the bound.
 */
function withStatementCache(database: BetterSqlite3.Database): SqliteDatabase {
  const statements = new LruMap<string, BetterSqlite3.Statement>(MAX_CACHED_STATEMENTS);
  return {
    close: () => database.close(),
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (!statement) {
        statement = database.prepare(sql === KYSELY_BEGIN ? BEGIN_IMMEDIATE : sql);
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}

function openPostgres(url: string): Store {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle client's connection can die (PostgreSQL restarts, an administrator ends it): the
  // pool drops that client and makes a new one when needed. Without a listener the 'error'
  // event would end the process.
  pool.on('error', () => {});
  const transactions: { current: TransactionObserver | undefined } = { current: undefined };
  const db = new Kysely<Database>({ dialect: timedDialect(new PostgresDialect({ pool }), transactions) });
  const shown = new URL(url);
  if (shown.password) shown.password = '***';
  return { db, dialect: 'postgres', location: shown.toString(), observeTransactions: (observer) => void (transactions.current = observer), close: () => db.destroy() };
}

async function migrate(store: Store): Promise<void> {
  const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations(store.dialect)) };
  const migrator = new Migrator({ db: store.db, provider, migrationTableName: 'fleetpki_migrations', migrationLockTableName: 'fleetpki_migrations_lock' });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error;
}
