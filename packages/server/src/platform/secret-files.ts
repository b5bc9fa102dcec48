import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes a file all at once: a temporary file in the same directory, fsynced, renamed over the
 * target. A crash leaves the old file or the new one, never half of one. Secrets get 0600
 * before any byte of them is written.
 */
export function writeFileAtomically(dir: string, name: string, contents: string | Buffer, mode: 0o600 | 0o644): string {
  const target = join(dir, name);
  const temporary = join(dir, `.${name}.${process.pid}.tmp`);
  writeFileSync(temporary, contents, { mode, flush: true });
  chmodSync(temporary, mode);
  renameSync(temporary, target);
  return target;
}

export function readIfExists(dir: string, name: string): Buffer | undefined {
  const path = join(dir, name);
  return existsSync(path) ? readFileSync(path) : undefined;
}
