import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StartupError } from '../startup-error.js';

export const MASTER_KEY_FILE = 'master.key';
export const MASTER_KEY_ENV = 'FLEETPKI_MASTER_KEY';
/** AES-256: 32 octets. */
export const MASTER_KEY_BYTES = 32;

/**
 * The key that seals managed CAs' private keys at rest: `FLEETPKI_MASTER_KEY` (64 hex digits
 * or base64 of 32 octets) when set, else `<data-dir>/master.key` (0600), made on first start.
 * The file is linked into place only if absent, so servers starting together on one data
 * directory (the benchmark's cluster) agree on one key.
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
    writeFileSync(temporary, `${randomBytes(MASTER_KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flush: true });
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

function readKeyFile(path: string): Buffer {
  const text = readFileSync(path, 'utf8');
  if ((statSync(path).mode & 0o077) !== 0) {
    throw new StartupError('DATA_DIR_UNUSABLE', `${path} holds the master key and must not be readable by group or others (chmod 600)`);
  }
  return parseMasterKey(text, path);
}

function parseMasterKey(text: string, source: string): Buffer {
  const value = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : /^[A-Za-z0-9+/]{43}=$/.test(value) ? Buffer.from(value, 'base64') : undefined;
  if (!key || key.length !== MASTER_KEY_BYTES) {
    throw new StartupError('INVALID_OPTION', `${source} must hold a 256-bit key: 64 hex digits or 44 characters of base64`);
  }
  return key;
}
