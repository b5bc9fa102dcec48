import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, linkSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StartupError } from '../startup-error.js';
import { MasterKeyRing } from './master-key-ring.js';
import { envelopeKey } from './sealed-envelope.js';
import { writeFileAtomically } from './secret-files.js';

/**
 * The platform's master key: 32 octets that seal secrets at rest with AES-256-GCM (node:crypto)
 * — managed CAs' private keys (ca-key-vault.ts) and devices' pre-shared keys (through master-key-sealer.ts).
 * `FLEETPKI_MASTER_KEY` (64 hex digits or base64 of 32 octets) when set — what several servers
 * sharing one PostgreSQL must use — else `<data-dir>/master.key` (0600), made on first start.
 *
 * Either may hold a ring of keys during a rotation (master-key-rotation.ts): one key per line in
 * the file, comma-separated in the variable, the sealing key first.
 */
export const MASTER_KEY_FILE = 'master.key';
export const MASTER_KEY_ENV = 'FLEETPKI_MASTER_KEY';
/** AES-256: 32 octets. */
export const MASTER_KEY_BYTES = 32;

/** Where a server's master keys come from; the file is read again when it changes, the variable never. */
export interface MasterKeySource {
  readonly kind: 'file' | 'environment';
  /** The file's path, or the variable's name. */
  readonly location: string;
  /** The ring as it is now: a stat of the file per call, and a read only when it has changed. */
  ring(): MasterKeyRing;
}

/**
 * Finds the master key at start. The file is made when absent: written under a temporary name
 * (exclusive create, so no symlink or older file is followed) and linked into place only if
 * absent, so servers starting together on one data directory agree on one whole key.
 */
export function masterKeySource(dataDir: string, env: string | undefined): MasterKeySource {
  if (env !== undefined && env !== '') {
    const ring = parseRing(env, ',', MASTER_KEY_ENV);
    return { kind: 'environment', location: MASTER_KEY_ENV, ring: () => ring };
  }
  const path = join(dataDir, MASTER_KEY_FILE);
  try {
    return new MasterKeyFile(path);
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
  return new MasterKeyFile(path);
}

/** A new master key, 32 random octets. */
export function newMasterKey(): Buffer {
  return randomBytes(MASTER_KEY_BYTES);
}

/** A ring as the file and the variable spell it: base64 keys, the sealing key first. */
export function spellRing(ring: MasterKeyRing, separator: '\n' | ','): string {
  return ring.keys.map((key) => key.secret.toString('base64')).join(separator);
}

/**
 * Replaces the key file whole (a temporary file, fsync, rename, fsync of the directory): a
 * reader, or a SIGKILL, sees the old ring or the new, never a mix.
 */
export function writeMasterKeyFile(dataDir: string, ring: MasterKeyRing): void {
  writeFileAtomically(dataDir, MASTER_KEY_FILE, `${spellRing(ring, '\n')}\n`, 0o600);
  const directory = openSync(dataDir, 'r');
  try {
    fsyncSync(directory);
  } finally {
    closeSync(directory);
  }
}

class MasterKeyFile implements MasterKeySource {
  readonly kind = 'file';
  private stamp: string;
  private current: MasterKeyRing;

  constructor(readonly location: string) {
    const { stamp, ring } = readKeyFile(location);
    this.stamp = stamp;
    this.current = ring;
  }

  ring(): MasterKeyRing {
    const stat = statSync(this.location);
    if (stampOf(stat) !== this.stamp) {
      const { stamp, ring } = readKeyFile(this.location);
      this.stamp = stamp;
      this.current = ring;
    }
    return this.current;
  }
}

/** A rename gives the file a new inode, so an inode and mtime that differ mean another ring. */
function stampOf(stat: { ino: number; mtimeMs: number; size: number }): string {
  return `${stat.ino}:${stat.mtimeMs}:${stat.size}`;
}

/** Reads the key file through one descriptor, so the mode checked is the file's that was read. */
function readKeyFile(path: string): { stamp: string; ring: MasterKeyRing } {
  const fd = openSync(path, 'r');
  try {
    const stat = fstatSync(fd);
    if ((stat.mode & 0o077) !== 0) {
      throw new StartupError('SECRET_FILE_PERMISSIONS', `${path} holds the master key and is readable by group or others; run: chmod 600 ${path}`);
    }
    return { stamp: stampOf(stat), ring: parseRing(readFileSync(fd, 'utf8'), '\n', path) };
  } finally {
    closeSync(fd);
  }
}

function parseRing(text: string, separator: '\n' | ',', source: string): MasterKeyRing {
  const values = text
    .split(separator)
    .map((value) => value.trim())
    .filter((value) => value !== '');
  if (values.length === 0) throw new StartupError('INVALID_OPTION', `${source} holds no master key`);
  const keys = values.map((value) => envelopeKey(parseMasterKey(value, source)));
  if (new Set(keys.map((key) => key.id)).size !== keys.length) throw new StartupError('INVALID_OPTION', `${source} holds one master key twice`);
  return new MasterKeyRing(keys);
}

function parseMasterKey(value: string, source: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : /^[A-Za-z0-9+/]{43}=$/.test(value) ? Buffer.from(value, 'base64') : undefined;
  if (!key || key.length !== MASTER_KEY_BYTES) {
    throw new StartupError('INVALID_OPTION', `${source} must hold 256-bit keys: each 64 hex digits or 44 characters of base64${separatorHint(source)}`);
  }
  return key;
}

function separatorHint(source: string): string {
  return source === MASTER_KEY_ENV ? ' (several, during a rotation, separated by commas)' : ' (several, during a rotation, one per line)';
}
