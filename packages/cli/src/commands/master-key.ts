import { Option, type Command } from 'commander';
import { printJson } from '../api-command.js';
import { CliError } from '../cli-error.js';
import { DEFAULT_DATA_DIR } from '../serve-defaults.js';

interface TargetFlags {
  dataDir: string;
  database?: string;
  json?: boolean;
}

/** A MasterKeyError as the CLI reports it (the server package is loaded only by these commands). */
async function asCliError<T>(run: () => Promise<T>): Promise<T> {
  const { MasterKeyError } = await import('@fleetpki/server');
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof MasterKeyError)) throw error;
    throw new CliError(error.code, error.message);
  }
}

/** The store and the keys, as `serve` finds them: the same flags and variables. */
function withTarget(command: Command): Command {
  return command
    .addOption(new Option('--data-dir <dir>', 'the server’s data directory (its master.key and, for SQLite, its store)').default(DEFAULT_DATA_DIR).env('FLEETPKI_DATA_DIR'))
    .addOption(new Option('--database <url>', 'the PostgreSQL store, when the server runs on one').env('FLEETPKI_DATABASE'))
    .option('--json', 'print the summary as JSON');
}

const target = (flags: TargetFlags) => ({ dataDir: flags.dataDir, database: flags.database, env: process.env['FLEETPKI_MASTER_KEY'] });

/**
 * `fleetpki master-key` (issue 18, 5): rotate the key that seals CA keys and PSKs at rest while
 * servers keep running, or do it in steps when the key comes from FLEETPKI_MASTER_KEY.
 */
export function registerMasterKeyCommands(program: Command): void {
  const group = program.command('master-key').description('the master key that seals managed CA keys and pre-shared keys at rest: status and rotation');
  withTarget(group.command('status').description('the keys of the ring and how many sealed values each one sealed; values no key opens are listed')).action(async (flags: TargetFlags) => {
    const { masterKeyStatus } = await import('@fleetpki/server');
    const status = await asCliError(() => masterKeyStatus(target(flags)));
    if (flags.json) printJson(status);
    else {
      const lines = status.ring.map((id, i) => `${id}${i === 0 ? ' (seals)' : ''}: ${status.census.byKey[id] ?? 0} value(s)`);
      if (status.census.byKey['v1'] !== undefined) lines.push(`sealed before keys had ids (v1): ${status.census.byKey['v1']}`);
      lines.push(`no key opens: ${status.census.unopenable.length}`);
      process.stdout.write(`master key from the ${status.source}, ${status.census.total} sealed value(s)\n${lines.map((line) => `  ${line}\n`).join('')}`);
    }
    if (status.census.unopenable.length > 0) throw new CliError('MASTER_KEY_VALUE_UNOPENABLE', `${status.census.unopenable.length} sealed value(s) open with no key of the ring, first ${status.census.unopenable[0]?.column} ${status.census.unopenable[0]?.id}`);
  });
  withTarget(group.command('rotate').description('make a new master key, re-seal every sealed value under it in one transaction and retire the old one, while servers run (master.key only)'))
    .option('--settle-ms <ms>', 'how long running servers get to see the new key before the re-seal', (value) => Number.parseInt(value, 10))
    .action(async (flags: TargetFlags & { settleMs?: number }) => {
      const { rotateMasterKey, DEFAULT_SETTLE_MS } = await import('@fleetpki/server');
      if (flags.settleMs !== undefined && !(Number.isInteger(flags.settleMs) && flags.settleMs >= 0)) throw new CliError('USAGE', '--settle-ms takes a whole number of milliseconds');
      const summary = await asCliError(() => rotateMasterKey(target(flags), { settleMs: flags.settleMs ?? DEFAULT_SETTLE_MS }));
      if (flags.json) printJson(summary);
      else
        process.stderr.write(
          `fleetpki: ${summary.added ? `new master key ${summary.added}` : `finished the interrupted rotation to ${summary.current}`}; re-sealed ${summary.resealed + summary.stragglers} value(s), ${summary.alreadyCurrent} already under it; retired ${summary.retired.join(', ') || 'nothing'}\n`,
        );
    });
  withTarget(group.command('add').description('put a new key first in the ring (step 1 of a rotation in steps; with FLEETPKI_MASTER_KEY, prints the ring to give every server)')).action(async (flags: TargetFlags) => {
    const { addMasterKey } = await import('@fleetpki/server');
    const added = await asCliError(() => addMasterKey(target(flags)));
    if (flags.json) printJson(added);
    else if (added.environmentValue !== undefined) {
      process.stdout.write(`FLEETPKI_MASTER_KEY=${added.environmentValue}\n`);
      process.stderr.write(`fleetpki: give every server this ring (new key ${added.added} first), then run fleetpki master-key reseal\n`);
    } else process.stderr.write(`fleetpki: new master key ${added.added} seals from now on; run fleetpki master-key reseal to retire the others\n`);
  });
  withTarget(group.command('reseal').description('re-seal every value under the ring’s first key in one transaction (step 2), and retire the other keys')).action(async (flags: TargetFlags) => {
    const { resealMasterKey } = await import('@fleetpki/server');
    const summary = await asCliError(() => resealMasterKey(target(flags)));
    if (flags.json) printJson(summary);
    else {
      const fromEnv = process.env['FLEETPKI_MASTER_KEY'] !== undefined && process.env['FLEETPKI_MASTER_KEY'] !== '';
      process.stderr.write(
        `fleetpki: re-sealed ${summary.resealed} value(s) under ${summary.current}, ${summary.alreadyCurrent} already under it; ${summary.retired.length === 0 ? 'no key to retire' : fromEnv ? `now drop ${summary.retired.join(', ')} from FLEETPKI_MASTER_KEY on every server` : `retired ${summary.retired.join(', ')}`}\n`,
      );
    }
  });
}
