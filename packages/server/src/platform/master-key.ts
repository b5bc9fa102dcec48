import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, linkSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StartupError } from '../startup-error.js';

/**
 * The platform's master key: 32 octets that seal secrets at rest with AES-256-GCM (node:crypto)
 * — managed CAs' private keys (ca-key-vault.ts) and devices' pre-shared keys (through master-key-sealer.ts).
 * `FLEETPKI_MASTER_KEY` (64 hex digits or base64 of 32 octets) when set — what several servers
 * sharing one PostgreSQL must use — else `<data-dir>/master.key` (0600), made on first start.
 */
export const MASTER_KEY_FILE = 'master.key';
export const MASTER_KEY_ENV = 'FLEETPKI_MASTER_KEY';
/** AES-256: 32 octets. */
export const MASTER_KEY_BYTES = 32;

/**
 * Loads the master key at start. The file is written under a temporary name (exclusive create,
 * so no symlink or older file is followed) and linked into place only if absent, so servers
 * starting together on one data directory agree on one whole key.
 */
export function loadMasterKey(dataDir: string, env: string | undefined): Buffer {
  if (env !== undefined && env !== '') return parseMasterKey(env, MASTER_KEY_ENV);
  const path = join(dataDir, MASTER_KEY_FILE);
  try {
    return readKeyFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const temporary = join(dataDir, `.${MASTER_KEY_FILE}.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, `${randomBytes(MASTER_KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx', flush: true });
    try {
      linkSync(temporary, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error; // another server made it first: use theirs
    }
  } catch (error) {
    if (error instanceof StartupError) throw error;
    throw new StartupError('DATA_DIR_UNUSABLE', `cannot create the master key ${path}: ${(error as Error).message}`);
  } finally {
    rmSync(temporary, { force: true });
  }
  return readKeyFile(path);
}

/** Reads the key file through one descriptor, so the mode checked is the file's that was read. */
function readKeyFile(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    if ((fstatSync(fd).mode & 0o077) !== 0) {
      throw new StartupError('SECRET_FILE_PERMISSIONS', `${path} holds the master key and is readable by group or others; run: chmod 600 ${path}`);
    }
    return parseMasterKey(readFileSync(fd, 'utf8'), path);
  } finally {
    closeSync(fd);
  }
}

function parseMasterKey(text: string, source: string): Buffer {
  const value = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : /^[A-Za-z0-9+/]{43}=$/.test(value) ? Buffer.from(value, 'base64') : undefined;
  if (!key || key.length !== MASTER_KEY_BYTES) {
    throw new StartupError('INVALID_OPTION', `${source} must hold a 256-bit key: 64 hex digits or 44 characters of base64`);
  }
  return key;
}
