import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The platform's master key: 32 bytes that seal secrets at rest (AES-256-GCM, node:crypto).
 * From FLEETPKI_MASTER_KEY (64 hex digits or base64 of 32 bytes) when set — what several
 * servers sharing one PostgreSQL must use — else `<data-dir>/master.key`, created 0600 on first
 * use. Self-contained on purpose: the integrated PKI seals CA keys with the same mechanism.
 */
export const MASTER_KEY_ENV = 'FLEETPKI_MASTER_KEY';
export const MASTER_KEY_FILE = 'master.key';
const KEY_BYTES = 32;
const IV_BYTES = 12; // NIST SP 800-38D §8.2: 96-bit IVs, random per seal
const TAG_BYTES = 16;
const SEALED_PREFIX = 'v1.';

export type MasterKeyErrorCode = 'MASTER_KEY_INVALID' | 'SEALED_VALUE_INVALID';

export class MasterKeyError extends Error {
  override readonly name = 'MasterKeyError';

  constructor(
    readonly code: MasterKeyErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Parses a key written as 64 hex digits or base64 of 32 bytes. */
export function parseMasterKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : /^[A-Za-z0-9+/]{43}=$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : undefined;
  if (!key || key.length !== KEY_BYTES) throw new MasterKeyError('MASTER_KEY_INVALID', `${source} must hold 32 bytes as 64 hex digits or base64`);
  return key;
}

/**
 * The master key: the environment's, else the data directory's file, else a new random key
 * written to that file (exclusive create, so two processes starting together agree on one).
 */
export function loadOrCreateMasterKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): Buffer {
  const fromEnv = env[MASTER_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return parseMasterKey(fromEnv, MASTER_KEY_ENV);
  const path = join(dataDir, MASTER_KEY_FILE);
  try {
    return parseMasterKey(readFileSync(path, 'utf8'), path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = randomBytes(KEY_BYTES);
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return parseMasterKey(readFileSync(path, 'utf8'), path);
    throw error;
  }
  try {
    writeSync(fd, `${key.toString('hex')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return key;
}

/**
 * Seals a value: `v1.` + base64(iv | tag | ciphertext). `context` is authenticated, not stored:
 * binding a sealed value to its row (e.g. the credential id) stops it being swapped into another.
 */
export function sealValue(key: Buffer, plaintext: Buffer, context: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return SEALED_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64');
}

/** Opens a sealed value; a wrong key, context or a changed byte is MasterKeyError SEALED_VALUE_INVALID. */
export function openValue(key: Buffer, sealed: string, context: string): Buffer {
  if (!sealed.startsWith(SEALED_PREFIX)) throw new MasterKeyError('SEALED_VALUE_INVALID', 'not a sealed value of this format');
  const raw = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new MasterKeyError('SEALED_VALUE_INVALID', 'the sealed value is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new MasterKeyError('SEALED_VALUE_INVALID', 'the sealed value does not open with this master key');
  }
}
