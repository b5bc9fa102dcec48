import type { Command } from 'commander';
import { apiClient, printJson, withApiOptions, type ApiFlags } from '../api-command.js';
import type { QueryParams } from '../api-operations.js';
import type { DeviceCertificate } from '../api-types.js';
import { CliError } from '../cli-error.js';
import { renderRecord, renderTable, type Column } from '../render-table.js';

type ListFlags = ApiFlags & {
  project: string;
  device?: string;
  status?: string;
  source?: string;
  ca?: string;
  expiresBefore?: string;
  expiresAfter?: string;
  csv?: boolean;
};

type InventoryQuery = QueryParams<'/v1/projects/{projectId}/device-certificates', 'get'>;

/** The API's largest page: a list is walked by cursor, one page at a time. */
const PAGE = 500;
const CSV_COLUMNS = ['fingerprintSha256', 'serialNumber', 'subject', 'issuer', 'notBefore', 'notAfter', 'caId', 'deviceId', 'source', 'status', 'revokedAt', 'revocationReason', 'supersededAt', 'firstSeenAt', 'lastSeenAt'] as const;

const COLUMNS: readonly Column<DeviceCertificate>[] = [
  { header: 'SUBJECT', value: (c) => c.subject },
  { header: 'SERIAL', value: (c) => c.serialNumber },
  { header: 'NOT AFTER', value: (c) => c.notAfter },
  { header: 'STATUS', value: (c) => c.status },
  { header: 'SOURCE', value: (c) => c.source },
  { header: 'DEVICE', value: (c) => c.deviceId },
  { header: 'SHA-256', value: (c) => c.fingerprintSha256 },
];

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
function csvField(value: string | null): string {
  const text = value ?? '';
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const csvLine = (fields: readonly (string | null)[]): string => `${fields.map(csvField).join(',')}\r\n`;

/** `fleetpki device-certificates list|get` (DESIGN §8): the inventory of device certificates. */
export function registerDeviceCertificatesCommands(program: Command): void {
  const group = program.command('device-certificates').description('the device certificates a project has accepted or issued (the inventory), with status and expiry');
  withApiOptions(
    group
      .command('list')
      .description('list the project’s device certificates, soonest to expire first (a table, --json or --csv)')
      .requiredOption('--project <slug>', 'project slug')
      .option('--device <id>', 'only this device’s certificates')
      .option('--status <status>', 'active, superseded or revoked')
      .option('--source <source>', 'seen or issued')
      .option('--ca <id>', 'only certificates whose path ends at this CA certificate')
      .option('--expires-before <iso>', 'only certificates ending before this instant (ISO 8601)')
      .option('--expires-after <iso>', 'only certificates ending after this instant (ISO 8601)')
      .option('--csv', 'print CSV (RFC 4180, a header line, written page by page)'),
  ).action(async (flags: ListFlags) => {
    if (flags.csv && flags.json) throw new CliError('USAGE', '--csv and --json are two formats: choose one');
    const client = apiClient(flags);
    // The server checks the values (an unknown status is VALIDATION_FAILED); they pass as typed.
    const query: InventoryQuery = {
      status: flags.status as InventoryQuery['status'],
      source: flags.source as InventoryQuery['source'],
      caId: flags.ca,
      expiresBefore: flags.expiresBefore,
      expiresAfter: flags.expiresAfter,
      perPage: PAGE,
    };
    const all: DeviceCertificate[] = [];
    if (flags.csv) process.stdout.write(csvLine(CSV_COLUMNS));
    let cursor: string | undefined;
    do {
      const { body } =
        flags.device === undefined
          ? await client.call('get', '/v1/projects/{projectId}/device-certificates', { path: { projectId: flags.project }, query: { ...query, cursor } })
          : await client.call('get', '/v1/projects/{projectId}/devices/{deviceId}/certificates', { path: { projectId: flags.project, deviceId: flags.device }, query: { ...query, cursor } });
      if (flags.csv) for (const c of body.list) process.stdout.write(csvLine(CSV_COLUMNS.map((column) => c[column])));
      else all.push(...body.list);
      cursor = body.nextCursor ?? undefined;
    } while (cursor !== undefined);
    if (flags.csv) return;
    if (flags.json) printJson(all);
    else process.stdout.write(renderTable(COLUMNS, all));
  });
  withApiOptions(
    group.command('get').description('show one device certificate by its SHA-256 fingerprint').argument('<fingerprint>', 'SHA-256 fingerprint (hex, colons allowed)').requiredOption('--project <slug>', 'project slug'),
  ).action(async (fingerprint: string, flags: ApiFlags & { project: string }) => {
    const { body } = await apiClient(flags).call('get', '/v1/projects/{projectId}/device-certificates/{fingerprint}', { path: { projectId: flags.project, fingerprint } });
    if (flags.json) printJson(body);
    else process.stdout.write(renderRecord(CSV_COLUMNS.map((column) => [column, body[column]] as const)));
  });
}
