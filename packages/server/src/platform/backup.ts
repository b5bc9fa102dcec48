import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, rmdirSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { SQLITE_FILE_NAME } from '../store/open-store.js';
import { MASTER_KEY_FILE } from './master-key.js';
import { ROOT_CERT_FILE, ROOT_KEY_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE } from './platform-pki.js';

/** Why a backup or a restore stopped; nothing was written to its target. */
export type BackupErrorCode = 'BACKUP_INVALID' | 'TARGET_NOT_EMPTY' | 'BACKUP_UNSUPPORTED' | 'BACKUP_IO';

export class BackupError extends Error {
  override readonly name = 'BackupError';
  constructor(
    readonly code: BackupErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The first line of every backup file. */
const MAGIC = 'FLEETPKI-BACKUP 1\n';
/** What a backup may hold, and nothing else (a restore refuses any other name: no path comes from the file). */
const PLATFORM_FILES = [ROOT_CERT_FILE, ROOT_KEY_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE] as const;
const ALLOWED = new Set<string>([SQLITE_FILE_NAME, ...PLATFORM_FILES, MASTER_KEY_FILE]);

interface EntryHeader {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
}

export interface BackupSummary {
  readonly file: string;
  readonly entries: readonly string[];
  readonly bytes: number;
}

/**
 * `fleetpki backup` (issue 18, 4): a consistent snapshot of a SQLite data directory while the
 * server runs — SQLite's online backup API, not a file copy, so a write in progress is either in
 * it whole or not at all — with the platform root and server credentials (the admin key's hash is
 * in the store), and the master key only when asked. One file, 0600, written whole or not at all.
 * The format: a magic line, then per file a JSON header line (name, size, SHA-256) and its bytes.
 */
export async function writeBackup(dataDir: string, outFile: string, options: { readonly includeMasterKey: boolean }): Promise<BackupSummary> {
  const storeFile = join(dataDir, SQLITE_FILE_NAME);
  if (!existsSync(storeFile)) throw new BackupError('BACKUP_UNSUPPORTED', `no SQLite store in ${dataDir}: a PostgreSQL store is backed up with pg_dump (README, "Backup and restore")`);
  if (options.includeMasterKey && !existsSync(join(dataDir, MASTER_KEY_FILE))) {
    throw new BackupError('BACKUP_INVALID', `no ${MASTER_KEY_FILE} in ${dataDir} (a master key from FLEETPKI_MASTER_KEY is kept wherever it came from)`);
  }
  const staging = mkdtempPrivate();
  try {
    const snapshot = join(staging, SQLITE_FILE_NAME);
    const source = new BetterSqlite3(storeFile, { readonly: true, fileMustExist: true });
    try {
      await source.backup(snapshot);
    } finally {
      source.close();
    }
    const files: [string, string][] = [[SQLITE_FILE_NAME, snapshot]];
    for (const name of PLATFORM_FILES) if (existsSync(join(dataDir, name))) files.push([name, join(dataDir, name)]);
    if (options.includeMasterKey) files.push([MASTER_KEY_FILE, join(dataDir, MASTER_KEY_FILE)]);
    const target = resolve(outFile);
    const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
    let bytes = 0;
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      bytes += writeSync(fd, MAGIC);
      for (const [name, path] of files) {
        const content = readFileSync(path);
        const header: EntryHeader = { name, size: content.length, sha256: createHash('sha256').update(content).digest('hex') };
        bytes += writeSync(fd, `${JSON.stringify(header)}\n`);
        for (let offset = 0; offset < content.length; ) offset += writeSync(fd, content, offset);
        bytes += content.length;
      }
      fsyncSync(fd);
    } catch (error) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw new BackupError('BACKUP_IO', `cannot write ${target}: ${(error as Error).message}`);
    }
    closeSync(fd);
    renameSync(tmp, target);
    return { file: target, entries: files.map(([name]) => name), bytes };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

export interface RestoreSummary {
  readonly dataDir: string;
  readonly entries: readonly string[];
  readonly integrity: 'ok';
}

/**
 * `fleetpki restore` (issue 18, 4): unpacks a backup into a new data directory — refused unless
 * the target is absent or empty — checking each file's SHA-256 and the store's
 * `PRAGMA integrity_check` in a staging directory beside it, which becomes the target only when
 * every check passed. A refused restore leaves nothing behind.
 */
export function restoreBackup(file: string, dataDir: string): RestoreSummary {
  const target = resolve(dataDir);
  if (existsSync(target) && readdirSync(target).length > 0) throw new BackupError('TARGET_NOT_EMPTY', `${target} is not empty: restore into a new or empty directory`);
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch (error) {
    throw new BackupError('BACKUP_INVALID', `cannot read ${file}: ${(error as Error).message}`);
  }
  if (!content.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC))) throw new BackupError('BACKUP_INVALID', `${file} is not a fleetpki backup`);
  mkdirSync(dirname(target), { recursive: true });
  const staging = join(dirname(target), `.${basename(target)}.restoring-${randomBytes(6).toString('hex')}`);
  mkdirSync(staging, { mode: 0o700 });
  try {
    const entries: string[] = [];
    let offset = MAGIC.length;
    while (offset < content.length) {
      const end = content.indexOf(0x0a, offset);
      if (end < 0) throw new BackupError('BACKUP_INVALID', `${file} ends inside a header: it is truncated`);
      let header: EntryHeader;
      try {
        header = JSON.parse(content.subarray(offset, end).toString('utf8')) as EntryHeader;
      } catch {
        throw new BackupError('BACKUP_INVALID', `${file} has a damaged header at byte ${offset}`);
      }
      if (!ALLOWED.has(header.name) || entries.includes(header.name)) throw new BackupError('BACKUP_INVALID', `${file} holds an unexpected entry ${JSON.stringify(header.name)}`);
      const body = content.subarray(end + 1, end + 1 + header.size);
      if (!Number.isSafeInteger(header.size) || body.length !== header.size) throw new BackupError('BACKUP_INVALID', `${file} is truncated in ${header.name}`);
      if (createHash('sha256').update(body).digest('hex') !== header.sha256) throw new BackupError('BACKUP_INVALID', `${header.name} in ${file} does not match its SHA-256: the file is damaged`);
      const fd = openSync(join(staging, header.name), 'wx', 0o600);
      try {
        for (let written = 0; written < body.length; ) written += writeSync(fd, body, written);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      entries.push(header.name);
      offset = end + 1 + header.size;
    }
    if (!entries.includes(SQLITE_FILE_NAME)) throw new BackupError('BACKUP_INVALID', `${file} holds no store`);
    const restored = new BetterSqlite3(join(staging, SQLITE_FILE_NAME), { readonly: true, fileMustExist: true });
    try {
      const check = restored.pragma('integrity_check', { simple: true });
      if (check !== 'ok') throw new BackupError('BACKUP_INVALID', `the store in ${file} fails PRAGMA integrity_check: ${String(check)}`);
      const migrated = restored.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'fleetpki_migrations'").get() as { n: number };
      if (migrated.n !== 1) throw new BackupError('BACKUP_INVALID', `the store in ${file} is not a fleetpki store`);
    } finally {
      restored.close();
    }
    if (existsSync(target)) rmdirSync(target);
    renameSync(staging, target);
    return { dataDir: target, entries, integrity: 'ok' };
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (error instanceof BackupError) throw error;
    throw new BackupError('BACKUP_IO', `cannot restore into ${target}: ${(error as Error).message}`);
  }
}

function mkdtempPrivate(): string {
  const dir = join(tmpdir(), `fleetpki-backup-${randomBytes(6).toString('hex')}`);
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}
