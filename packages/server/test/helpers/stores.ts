import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * Every store test runs on both dialects (DESIGN §7). PostgreSQL is real: the one at
 * FLEETPKI_TEST_POSTGRES_URL (default 127.0.0.1:5432, user postgres, trust auth). It is never
 * skipped: if it is not there the PostgreSQL half fails, loudly.
 */
export const DIALECTS = ['sqlite', 'postgres'] as const;
export type Dialect = (typeof DIALECTS)[number];

export const POSTGRES_ADMIN_URL = process.env['FLEETPKI_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh, empty place to keep state: a temp data dir, plus a new database for PostgreSQL. */
export interface TestStore {
  readonly dialect: Dialect;
  readonly dataDir: string;
  /** The --database URL, undefined for SQLite. */
  readonly database: string | undefined;
  /** Another data dir for a second server (it shares the platform files by copy when needed). */
  cleanup(): Promise<void>;
}

export async function createTestStore(dialect: Dialect): Promise<TestStore> {
  const dataDir = mkdtempSync(join(tmpdir(), `fleetpki-server-${dialect}-`));
  if (dialect === 'sqlite') {
    return { dialect, dataDir, database: undefined, cleanup: () => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })) };
  }
  const name = `fleetpki_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    dialect,
    dataDir,
    database: url.toString(),
    async cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
