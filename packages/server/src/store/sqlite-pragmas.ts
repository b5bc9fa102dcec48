import type BetterSqlite3 from 'better-sqlite3';

/**
 * The settings every connection to the SQLite store runs with (the request path's and the
 * issuance writer thread's alike). WAL lets readers run beside the writer; synchronous=FULL
 * makes every acknowledged commit durable even if the machine, not only the process, goes down.
 */
export function applySqlitePragmas(database: BetterSqlite3.Database): void {
  // First, so that switching the journal mode waits for another connection's lock too.
  database.pragma('busy_timeout = 5000');
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
}
