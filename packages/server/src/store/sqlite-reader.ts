import type BetterSqlite3 from 'better-sqlite3';

/**
 * A second, read-only connection to the SQLite store, for the prepared reads on hot paths
 * (store/prepared-query.ts). Through Kysely a point read waits its turn on the one connection
 * behind a promise mutex, which cost more than the read; this connection answers at once. It
 * is a connection of its own, so it sees only committed rows (WAL snapshot isolation), never a
 * transaction the request path has open on the main connection.
 */
const readers = new WeakMap<object, BetterSqlite3.Database>();

export function registerSqliteReader(db: object, reader: BetterSqlite3.Database): void {
  readers.set(db, reader);
}

export function sqliteReaderFor(db: object): BetterSqlite3.Database | undefined {
  return readers.get(db);
}
