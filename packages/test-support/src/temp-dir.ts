import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory under the OS temp dir, where openssl and the CLI read and write their files. */
export interface TempDir {
  readonly dir: string;
  path(name: string): string;
  /** Writes owner-only (0600): tests put private keys here. */
  write(name: string, data: Buffer | string): string;
  read(name: string): Buffer;
  /** Removes the directory with everything in it. */
  cleanup(): void;
}

export function tempDir(prefix: string): TempDir {
  const dir = mkdtempSync(join(tmpdir(), `fleetpki-${prefix}-`));
  return {
    dir,
    path: (name) => join(dir, name),
    write: (name, data) => {
      const path = join(dir, name);
      writeFileSync(path, data, { mode: 0o600 });
      return path;
    },
    read: (name) => readFileSync(join(dir, name)),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
