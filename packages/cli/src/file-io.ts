import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CliError } from './cli-error.js';

/** Inputs larger than this are refused before reading: no PKI file comes near it. */
export const MAX_INPUT_FILE_BYTES = 16 * 1024 * 1024;

/** Reads a file, or standard input for `-`. */
export function readInput(path: string): Buffer {
  try {
    const data = path === '-' ? readFileSync(0) : readFileSync(path);
    if (data.length > MAX_INPUT_FILE_BYTES) {
      throw new CliError('IO_ERROR', `${path}: larger than ${MAX_INPUT_FILE_BYTES} bytes`);
    }
    return data;
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError('FILE_NOT_FOUND', `${path}: no such file`);
    if (code === 'EISDIR') throw new CliError('FILE_NOT_FOUND', `${path}: is a directory`);
    throw new CliError('IO_ERROR', `${path}: ${(err as Error).message}`);
  }
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
