import type { Command } from 'commander';
import { apiClient, note, printJson, type ApiFlags } from '../api-command.js';
import type { RevocationOutcome, RevocationTarget } from '../api-types.js';
import { CliError } from '../cli-error.js';
import { readInput } from '../file-io.js';
import { renderTable, type Column } from '../render-table.js';

type RevokeFlags = ApiFlags & { project: string; fingerprint?: string; ca?: string; serial?: string; serialsFrom?: string; reason: string };

/** The server's bound on one request; a longer manifest goes in several, each its own transaction. */
const MAX_PER_REQUEST = 10_000;

const REASONS = ['unspecified', 'keyCompromise', 'caCompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'privilegeWithdrawn'] as const;
type Reason = (typeof REASONS)[number];

const RESULT_COLUMNS: readonly Column<RevocationOutcome['results'][number]>[] = [
  { header: '#', value: (r) => r.index },
  { header: 'RESULT', value: (r) => r.status },
  { header: 'CERTIFICATE', value: (r) => r.fingerprintSha256 ?? `${r.caId} serial ${r.serialNumber}` },
];

/**
 * The serials of a manifest `fleetpki devices generate` wrote (or any CSV with a `serial`
 * column), in file order; a row without one is a usage error naming its line.
 */
export function serialsOfManifest(text: string, file: string): string[] {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const header = (lines[0] ?? '').split(',').map((h) => h.trim().toLowerCase());
  const column = header.indexOf('serial');
  if (column < 0) throw new CliError('USAGE', `${file}: no "serial" column in the header line (a manifest from fleetpki devices generate has one)`);
  return lines.slice(1).map((line, i) => {
    const serial = line.split(',')[column]?.trim();
    if (!serial) throw new CliError('USAGE', `${file}: line ${i + 2} has no serial`);
    return serial;
  });
}

function targetsOf(flags: RevokeFlags): RevocationTarget[] {
  const ways = [flags.fingerprint !== undefined, flags.serial !== undefined, flags.serialsFrom !== undefined].filter(Boolean).length;
  if (ways !== 1) throw new CliError('USAGE', 'name the certificates one way: --fingerprint F, --ca CA --serial S, or --ca CA --serials-from manifest.csv');
  if (flags.fingerprint !== undefined) {
    if (flags.ca !== undefined) throw new CliError('USAGE', '--ca goes with --serial or --serials-from, not --fingerprint');
    return [{ fingerprintSha256: flags.fingerprint }];
  }
  if (flags.ca === undefined) throw new CliError('USAGE', '--serial and --serials-from need --ca (the CA certificate ID that issued them)');
  const caId = flags.ca;
  const serials = flags.serial !== undefined ? [flags.serial] : serialsOfManifest(readInput(flags.serialsFrom as string).toString('utf8'), flags.serialsFrom as string);
  if (serials.length === 0) throw new CliError('USAGE', `${flags.serialsFrom}: no serials`);
  return serials.map((serialNumber) => ({ caId, serialNumber }));
}

function reasonOf(value: string): Reason {
  if ((REASONS as readonly string[]).includes(value)) return value as Reason;
  throw new CliError('USAGE', `--reason must be one of ${REASONS.join(', ')}; got "${value}"`);
}

/** `fleetpki certificates revoke` and `fleetpki certificates revocations` (DESIGN §8). */
export function registerRevokeCommands(certificates: Command, withProject: (command: Command) => Command): void {
  withProject(
    certificates
      .command('revoke')
      .description('revoke device certificates: refused at every gateway from then on, live connections end within a second')
      .option('--fingerprint <sha256>', 'a certificate the project has seen or issued, by its SHA-256 fingerprint')
      .option('--ca <id>', 'the CA certificate ID that issued the serials')
      .option('--serial <hex>', 'one serial, as openssl prints it (the certificate need not have been seen)')
      .option('--serials-from <manifest.csv>', 'every serial of a manifest (fleetpki devices generate writes one)')
      .requiredOption('--reason <reason>', `why: ${REASONS.join(', ')}`),
  ).action(async (flags: RevokeFlags) => {
    const reason = reasonOf(flags.reason);
    const targets = targetsOf(flags);
    const client = apiClient(flags);
    const outcomes: RevocationOutcome[] = [];
    for (let start = 0; start < targets.length; start += MAX_PER_REQUEST) {
      const certificates = targets.slice(start, start + MAX_PER_REQUEST);
      const { body } = await client.call('post', '/v1/projects/{projectId}/revocations', { path: { projectId: flags.project }, body: { certificates, reason } });
      // Indexes count across the whole list, as the user named it.
      outcomes.push({ ...body, results: body.results.map((r) => ({ ...r, index: r.index + start })) });
    }
    const merged: RevocationOutcome = {
      results: outcomes.flatMap((o) => o.results),
      revoked: outcomes.reduce((n, o) => n + o.revoked, 0),
      alreadyRevoked: outcomes.reduce((n, o) => n + o.alreadyRevoked, 0),
    };
    if (flags.json) printJson(merged);
    else {
      if (merged.results.length <= 50) process.stdout.write(renderTable(RESULT_COLUMNS, merged.results));
      note(`revoked ${merged.revoked} certificate(s) in project ${flags.project} (${reason})${merged.alreadyRevoked > 0 ? `; ${merged.alreadyRevoked} were revoked already` : ''}`);
    }
  });
}
