import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { StartupError } from '../startup-error.js';
import { MASTER_KEY_FILE } from './master-key.js';
import { ROOT_KEY_FILE, SERVER_KEY_FILE } from './platform-pki.js';

/** The admin API key file (DESIGN §5); named here so every secret of the data directory is listed once. */
export const ADMIN_KEY_FILE = 'admin-api-key';

/** Files of the data directory that hold secrets: keys (platform root, server, master) and the admin API key. */
export const SECRET_FILES = [ADMIN_KEY_FILE, MASTER_KEY_FILE, ROOT_KEY_FILE, SERVER_KEY_FILE] as const;

/** Group and others: any of these bits on a private file or directory exposes it (as ssh's StrictModes). */
const GROUP_OR_OTHERS = 0o077;

/**
 * The data directory holds the device inventory, the audit log, API-key hashes and the
 * platform's keys: it must be the server user's alone. `mkdirSync(…, {mode: 0o700})` does
 * nothing to a directory that already exists, so an existing one is checked, not trusted:
 * refused with the `chmod` to run, never changed behind the operator's back.
 */
export function refuseExposedDataDir(dataDir: string): void {
  const mode = statSync(dataDir).mode;
  if ((mode & GROUP_OR_OTHERS) !== 0) {
    throw new StartupError('DATA_DIR_PERMISSIONS', `the data directory ${dataDir} is open to group or others (mode ${octal(mode)}); run: chmod 700 ${dataDir}`);
  }
  for (const name of SECRET_FILES) {
    const path = join(dataDir, name);
    if (!existsSync(path)) continue;
    const fileMode = statSync(path).mode;
    if ((fileMode & GROUP_OR_OTHERS) !== 0) {
      throw new StartupError('SECRET_FILE_PERMISSIONS', `${path} holds a secret and is readable by group or others (mode ${octal(fileMode)}); run: chmod 600 ${path}`);
    }
  }
}

function octal(mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, '0');
}
