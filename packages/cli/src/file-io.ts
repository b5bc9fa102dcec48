import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, linkSync, openSync, readSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { MAX_PEM_INPUT_BYTES, PkiError } from '@fleetpki/pki';
import { CliError } from './cli-error.js';

/** Inputs larger than the core accepts are refused while reading, not after: a pipe may be endless. */
export const MAX_INPUT_FILE_BYTES = MAX_PEM_INPUT_BYTES;

function tooLarge(path: string): PkiError {
  return new PkiError('INPUT_TOO_LARGE', `${path}: larger than ${MAX_INPUT_FILE_BYTES} bytes`, { limit: MAX_INPUT_FILE_BYTES });
}

/** Reads a file, or standard input for `-`, stopping one byte past the limit. */
export function readInput(path: string): Buffer {
  let fd: number | undefined;
  try {
    fd = path === '-' ? 0 : openSync(path, 'r');
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new CliError('FILE_NOT_FOUND', `${path}: is a directory`);
    if (stat.isFile() && stat.size > MAX_INPUT_FILE_BYTES) throw tooLarge(path);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(64 * 1024);
      let read: number;
      try {
        read = readSync(fd, chunk, 0, chunk.length, null);
      } catch (err) {
        // A non-blocking stdin (a TTY or pipe handed over by some shells) says "try again".
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        throw err;
      }
      if (read === 0) break;
      total += read;
      if (total > MAX_INPUT_FILE_BYTES) throw tooLarge(path);
      chunks.push(chunk.subarray(0, read));
    }
    return Buffer.concat(chunks, total);
  } catch (err) {
    if (err instanceof CliError || err instanceof PkiError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError('FILE_NOT_FOUND', `${path}: no such file`);
    if (code === 'EISDIR') throw new CliError('FILE_NOT_FOUND', `${path}: is a directory`);
    throw new CliError('IO_ERROR', `${path}: ${(err as Error).message}`);
  } finally {
    if (fd !== undefined && fd !== 0) closeSync(fd);
  }
}

/** Creates a file that must not exist yet (a fresh staging directory), as IO_ERROR on failure. */
export function writeNewFile(path: string, data: Buffer | string, mode: number): void {
  try {
    writeFileSync(path, data, { mode, flag: 'wx' });
  } catch (err) {
    throw ioError(path, err);
  }
}

/** A file-system failure as the CLI reports it. */
export function ioError(path: string, err: unknown): CliError {
  const code = (err as NodeJS.ErrnoException).code;
  return new CliError('IO_ERROR', `${path}: ${code ? `${code}, ` : ''}${(err as Error).message}`);
}

export interface WriteOptions {
  /** Private key material: created 0600 and never replaced without `force`. */
  readonly secret?: boolean;
  readonly force?: boolean;
}

/**
 * Writes all of a file or none of it: the bytes go to a temporary file in the same directory
 * (0600 from creation for secrets), are flushed, then linked into place. Without `force` the
 * link refuses to replace an existing file, so two writers cannot clobber each other either.
 * `-` writes to standard output.
 */
export function writeOutput(path: string, data: Buffer | string, options: WriteOptions = {}): void {
  if (path === '-') {
    process.stdout.write(data);
    return;
  }
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', options.secret ? 0o600 : 0o644);
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    if (options.force) {
      renameSync(tmp, path);
    } else {
      linkSync(tmp, path);
      unlinkSync(tmp);
    }
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new CliError('FILE_EXISTS', `${path} already exists; pass --force to replace it`);
    if (code === 'ENOENT') throw new CliError('IO_ERROR', `${path}: directory ${dirname(path)} does not exist`);
    throw new CliError('IO_ERROR', `${path}: ${(err as Error).message}`);
  }
}
