import type { Command } from 'commander';
import { printJson } from '../api-command.js';
import { CliError } from '../cli-error.js';
import { DEFAULT_DATA_DIR } from '../serve-defaults.js';

/** A BackupError as the CLI reports it (the server package is loaded only by these commands). */
async function asCliError<T>(run: () => Promise<T> | T): Promise<T> {
  const { BackupError } = await import('@fleetpki/server');
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof BackupError)) throw error;
    throw new CliError(error.code === 'BACKUP_IO' ? 'IO_ERROR' : error.code, error.message);
  }
}

/** `fleetpki backup` and `fleetpki restore` (issue 18, 4): a SQLite data directory, whole, while the server runs. */
export function registerBackupCommands(program: Command): void {
  program
    .command('backup')
    .description('write a consistent snapshot of a SQLite data directory (store, platform root, server credentials) while the server runs; PostgreSQL: pg_dump')
    .option('--data-dir <dir>', 'the server’s data directory', DEFAULT_DATA_DIR)
    .requiredOption('--out <file>', 'the backup file to write (0600)')
    .option('--include-master-key', 'also the master key (then the file alone opens every sealed key: keep it as you keep the key)')
    .option('--database <url>', 'a PostgreSQL store: refused, with the pg_dump procedure to use instead')
    .option('--json', 'print the summary as JSON')
    .action(async (flags: { dataDir: string; out: string; includeMasterKey?: boolean; database?: string; json?: boolean }) => {
      if (flags.database !== undefined) {
        throw new CliError('BACKUP_UNSUPPORTED', 'a PostgreSQL store is backed up with PostgreSQL’s own tools: pg_dump -Fc -f fleet.dump URL, and the data directory’s platform-root-ca.* and master.key beside it (README, "Backup and restore")');
      }
      const { writeBackup } = await import('@fleetpki/server');
      const summary = await asCliError(() => writeBackup(flags.dataDir, flags.out, { includeMasterKey: flags.includeMasterKey === true }));
      if (flags.json) printJson(summary);
      else process.stderr.write(`fleetpki: wrote ${summary.file} (${summary.bytes} bytes: ${summary.entries.join(', ')})${flags.includeMasterKey ? '' : '; the master key is not in it (--include-master-key)'}\n`);
    });
  program
    .command('restore')
    .description('unpack a backup into a new data directory, checking every file and the store’s integrity before it says done')
    .argument('<file>', 'a file from fleetpki backup')
    .requiredOption('--data-dir <dir>', 'the new data directory (absent or empty)')
    .option('--json', 'print the summary as JSON')
    .action(async (file: string, flags: { dataDir: string; json?: boolean }) => {
      const { restoreBackup } = await import('@fleetpki/server');
      const summary = await asCliError(() => restoreBackup(file, flags.dataDir));
      if (flags.json) printJson(summary);
      else process.stderr.write(`fleetpki: restored ${summary.entries.join(', ')} into ${summary.dataDir}; PRAGMA integrity_check: ${summary.integrity}\n`);
    });
}
