import type { Command } from 'commander';
import { apiClient, note, printJson, type ApiFlags } from '../api-command.js';
import type { CaCrl, CaCrlUploadResult } from '../api-types.js';
import { readInput } from '../file-io.js';
import { renderRecord } from '../render-table.js';

type CrlFlags = ApiFlags & { project: string; ca: string; dryRun?: boolean };

function show(crl: CaCrl, flags: ApiFlags): void {
  if (flags.json) printJson(crl);
  else
    process.stdout.write(
      renderRecord([
        ['CA certificate', crl.caId],
        ['CRL number', crl.crlNumber],
        ['this update', crl.thisUpdate],
        ['next update', crl.nextUpdate ?? '(none)'],
        ['entries', crl.entryCount],
        ['stale', crl.stale ? 'yes: its entries still apply; a newer CRL is due' : 'no'],
        ['uploaded', crl.uploadedAt],
      ]),
    );
}

/** "cuts 3 devices: a, b, c": whom an uploaded CRL newly refuses. */
function cutsLine(result: CaCrlUploadResult): string {
  const { cuts } = result;
  if (cuts.certificateCount === 0) return 'it newly lists no certificate a device has connected with';
  const names = cuts.devices.map((d) => d.name).join(', ');
  const more = cuts.deviceCount > cuts.devices.length ? `, and ${cuts.deviceCount - cuts.devices.length} more` : '';
  return `it ${result.dryRun ? 'would cut' : 'cuts'} ${cuts.deviceCount} device${cuts.deviceCount === 1 ? '' : 's'} (${cuts.certificateCount} known certificate${cuts.certificateCount === 1 ? '' : 's'})${names ? `: ${names}${more}` : ''}`;
}

/** `fleetpki certificates crl upload|get` (DESIGN §8): the CRL in force for an uploaded CA certificate. */
export function registerCrlCommands(certificates: Command, withProject: (command: Command) => Command): void {
  const crl = certificates.command('crl').description('the CRL in force for a CA certificate: its serials are refused at every gateway');
  withProject(
    crl
      .command('upload')
      .description('put a CRL (PEM or DER, e.g. from openssl ca -gencrl) in force; it must be newer than the one in force')
      .argument('<file>', 'the CRL file')
      .requiredOption('--ca <id>', 'the CA certificate ID whose CRL it is')
      .option('--dry-run', 'check the CRL and show which devices it would cut, storing nothing'),
  ).action(async (file: string, flags: CrlFlags) => {
    const { body } = await apiClient(flags).call('put', '/v1/projects/{projectId}/certificates/{caId}/crl', {
      path: { projectId: flags.project, caId: flags.ca },
      query: { dryRun: flags.dryRun ? 'true' : 'false' },
      body: { crlFile: readInput(file).toString('base64') },
    });
    show(body, flags);
    if (flags.json) return;
    if (body.dryRun) note(`CRL ${body.crlNumber} passes every check and was not stored (--dry-run); ${cutsLine(body)}`);
    else note(`CRL ${body.crlNumber} is in force for CA certificate ${flags.ca} (${body.entryCount} revoked serials); ${cutsLine(body)}`);
  });
  withProject(crl.command('get').description('show the CRL in force').requiredOption('--ca <id>', 'the CA certificate ID')).action(async (flags: CrlFlags) => {
    const { body } = await apiClient(flags).call('get', '/v1/projects/{projectId}/certificates/{caId}/crl', { path: { projectId: flags.project, caId: flags.ca } });
    show(body as CaCrl, flags);
  });
}
