import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CliError } from './cli-error.js';
import { ioError } from './file-io.js';

/**
 * Where a device batch goes. A batch is built in a staging directory beside the target and
 * published only when complete, so an interrupted run leaves nothing half-made in the target.
 */
export interface BatchTarget {
  /** The real directory path (symbolic links resolved, so the final rename lands inside it). */
  readonly path: string;
  /** Missing or empty: the staging directory can simply be renamed into place. */
  readonly empty: boolean;
}

export const MANIFEST_FILE = 'manifest.csv';

/** A failure after some files were already moved: the rest stay in staging, nothing is deleted. */
export class BatchPublishError extends CliError {}

export function resolveBatchTarget(outDir: string, force: boolean): BatchTarget {
  let path = resolve(outDir);
  try {
    if (existsSync(path)) path = realpathSync(path);
    const empty = !existsSync(path) || readdirSync(path).length === 0;
    if (!empty && !force) throw new CliError('FILE_EXISTS', `${outDir} is not empty; choose a new directory or pass --force`);
    return { path, empty };
  } catch (err) {
    if (err instanceof CliError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw new CliError('FILE_EXISTS', `${outDir} exists and is not a directory`);
    throw ioError(outDir, err);
  }
}

export function createStaging(target: BatchTarget): string {
  try {
    mkdirSync(dirname(target.path), { recursive: true });
    // mkdtemp makes it 0700: it is about to hold private keys.
    return mkdtempSync(join(dirname(target.path), `.${basename(target.path)}.staging-`));
  } catch (err) {
    throw ioError(dirname(target.path), err);
  }
}

/**
 * Moves a finished batch into the target: one rename when the target is empty, otherwise file
 * by file with the manifest last, so a manifest in the target always describes files there.
 */
export function publishBatch(staging: string, target: BatchTarget): void {
  if (target.empty) {
    try {
      if (existsSync(target.path)) rmdirSync(target.path);
      renameSync(staging, target.path);
    } catch (err) {
      throw ioError(target.path, err);
    }
    return;
  }
  const names = readdirSync(staging).filter((name) => name !== MANIFEST_FILE);
  let moved = 0;
  try {
    for (const name of [...names, MANIFEST_FILE]) {
      renameSync(join(staging, name), join(target.path, name));
      moved++;
    }
    rmdirSync(staging);
  } catch (err) {
    if (moved === 0) throw ioError(target.path, err);
    throw new BatchPublishError('IO_ERROR', `${target.path}: moving the batch failed after ${moved} files (${(err as Error).message}); the rest is in ${staging}`);
  }
}

export function discardStaging(staging: string): void {
  rmSync(staging, { recursive: true, force: true });
}
