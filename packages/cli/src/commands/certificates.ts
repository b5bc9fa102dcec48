import type { Command } from 'commander';
import type { ApiClient } from '../api-client.js';
import { apiClient, note, printJson, warn, withApiOptions, type ApiFlags } from '../api-command.js';
import { ApiClientError, ApiProblemError } from '../api-error.js';
import type { BundleResult, BundleUploadResult, CaCertificate, CaCertificateCreated, CertificateContent, CertType } from '../api-types.js';
import { CliError } from '../cli-error.js';
import { readInput } from '../file-io.js';
import { renderRecord, renderTable, type Column } from '../render-table.js';
import { registerCrlCommands } from './certificates-crl.js';
import { registerRevokeCommands } from './certificates-revoke.js';

type ProjectFlags = ApiFlags & { project: string };

const yesNo = (value: boolean | undefined): string | undefined => (value === undefined ? undefined : value ? 'yes' : 'no');

export const CERTIFICATE_COLUMNS: readonly Column<CaCertificate>[] = [
  { header: 'ID', value: (c) => c.id },
  { header: 'TYPE', value: (c) => c.certType },
  { header: 'PURPOSE', value: (c) => c.purpose },
  { header: 'ENABLED', value: (c) => yesNo(c.enabled) },
  { header: 'SUBJECT', value: (c) => c.certificateContent?.subject },
  { header: 'NOT AFTER', value: (c) => c.certificateContent?.notAfter },
  { header: 'FINGERPRINT (SHA-256)', value: (c) => c.certificateContent?.fingerprintSha256 },
];

const UPLOAD_COLUMNS: readonly Column<BundleResult>[] = [
  { header: '#', value: (r) => r.index },
  { header: 'RESULT', value: (r) => (r.certificate ? 'created' : (r.problem?.code ?? `HTTP ${r.status}`)) },
  { header: 'ID', value: (r) => r.certificate?.id },
  { header: 'TYPE', value: (r) => r.certificate?.certType },
  { header: 'SUBJECT / PROBLEM', value: (r) => (r.certificate ? r.certificate.certificateContent?.subject : r.problem?.detail) },
];

function certificateRecord(c: CaCertificate): string {
  const content: Partial<CertificateContent> = c.certificateContent ?? {};
  return renderRecord([
    ['id', c.id],
    ['type', c.certType],
    ['enabled', yesNo(c.enabled)],
    ['subject', content.subject],
    ['issuer', content.issuer],
    ['serial', content.serialNumber],
    ['not before', content.notBefore],
    ['not after', content.notAfter],
    ['fingerprint (SHA-256)', content.fingerprintSha256],
    ['public key', content.publicKeyAlgorithm],
    ['signature', content.signatureAlgorithm],
    ['key usages', content.keyUsages],
    ['path length', content.pathLen],
    ['created', c.createdAt],
    ['updated', c.updatedAt],
  ]);
}

function show(certificate: CaCertificate, flags: ApiFlags): void {
  if (flags.json) printJson(certificate);
  else process.stdout.write(certificateRecord(certificate));
}

function parseCertType(value: string | undefined): CertType | undefined {
  if (value === undefined || value === 'root' || value === 'intermediate') return value;
  throw new CliError('USAGE', `--type must be root or intermediate, got "${value}"`);
}

function parsePurpose(value: string | undefined): 'device' | 'manufacturer' | undefined {
  if (value === undefined || value === 'device' || value === 'manufacturer') return value;
  throw new CliError('USAGE', `--purpose must be device or manufacturer, got "${value}"`);
}

/** A 201 (one certificate) and a 207 (a bundle) as one list of results. */
function uploadResults(status: number, body: CaCertificateCreated | BundleUploadResult): readonly BundleResult[] {
  if (status === 201) {
    const created = body as CaCertificateCreated;
    return [{ index: 0, status, certificate: created, warnings: created.warnings ?? [] }];
  }
  const bundle = body as BundleUploadResult;
  if (status !== 207 || !Array.isArray(bundle.results)) {
    throw new ApiClientError('SERVER_RESPONSE_INVALID', `the upload answered HTTP ${status} without a certificate or per-certificate results`);
  }
  return bundle.results;
}

async function setEnabled(client: ApiClient, project: string, id: string, enabled: boolean): Promise<CaCertificate> {
  return (await client.call('patch', '/v1/projects/{projectId}/certificates/{certificateId}', { path: { projectId: project, certificateId: id }, body: { enabled } })).body;
}

export function registerCertificatesCommands(program: Command): void {
  const certificates = program.command('certificates').description("a project's CA certificates, which its device certificates chain to (management API)");
  const withProject = (command: Command): Command => withApiOptions(command.requiredOption('--project <slug>', 'project slug'));

  withProject(
    certificates
      .command('upload')
      .description('upload a CA certificate, or a bundle of them, each stored or refused on its own')
      .argument('<file>', 'PEM or DER file with one or more CA certificates, - for stdin')
      .option('--type <type>', 'root or intermediate (default: root when self-issued, else intermediate)')
      .option('--purpose <purpose>', 'device (default): devices under it connect; manufacturer: it vouches for factory certificates at EST enrollment only'),
  ).action(async (file: string, flags: ProjectFlags & { type?: string; purpose?: string }) => {
    const certType = parseCertType(flags.type);
    const purpose = parsePurpose(flags.purpose);
    const client = apiClient(flags);
    const certFile = readInput(file).toString('base64');
    const { status, body } = await client
      .call('post', '/v1/projects/{projectId}/certificates', { path: { projectId: flags.project }, body: { certFile, certType, ...(purpose ? { purpose } : {}) } })
      .catch((error: unknown) => {
        // A bundle of which nothing was stored is a problem that still lists every result.
        if (error instanceof ApiProblemError && Array.isArray(error.problem['results'])) {
          const results = error.problem['results'] as BundleResult[];
          return { status: 207, body: { results, created: 0, refused: results.length } satisfies BundleUploadResult };
        }
        throw error;
      });
    const results = uploadResults(status, body);
    for (const result of results) for (const warning of result.warnings ?? []) warn(warning.code, `certificate ${result.index}: ${warning.message}`);
    if (flags.json) printJson(body);
    else process.stdout.write(renderTable(UPLOAD_COLUMNS, results));
    const refused = results.filter((r) => !r.certificate);
    if (refused.length > 0) {
      const codes = [...new Set(refused.map((r) => r.problem?.code ?? `HTTP ${r.status}`))].join(', ');
      throw new ApiClientError('CERTIFICATES_REFUSED', `${refused.length} of ${results.length} certificates refused (${codes}), ${results.length - refused.length} stored`);
    }
  });

  withProject(certificates.command('list').description("list every CA certificate of the project")).action(async (flags: ProjectFlags) => {
    const list = await apiClient(flags).listAll('/v1/projects/{projectId}/certificates', { path: { projectId: flags.project } });
    if (flags.json) printJson(list);
    else process.stdout.write(renderTable(CERTIFICATE_COLUMNS, list));
  });

  withProject(certificates.command('get').description('show a CA certificate').argument('<id>', 'CA certificate ID')).action(async (id: string, flags: ProjectFlags) => {
    show((await apiClient(flags).call('get', '/v1/projects/{projectId}/certificates/{certificateId}', { path: { projectId: flags.project, certificateId: id } })).body, flags);
  });

  withProject(certificates.command('disable').description('stop trusting a CA certificate; devices under it can no longer connect').argument('<id>', 'CA certificate ID')).action(
    async (id: string, flags: ProjectFlags) => show(await setEnabled(apiClient(flags), flags.project, id, false), flags),
  );

  withProject(certificates.command('enable').description('trust a disabled CA certificate again').argument('<id>', 'CA certificate ID')).action(
    async (id: string, flags: ProjectFlags) => show(await setEnabled(apiClient(flags), flags.project, id, true), flags),
  );

  withProject(certificates.command('delete').description('delete a CA certificate').argument('<id>', 'CA certificate ID')).action(async (id: string, flags: ProjectFlags) => {
    await apiClient(flags).call('delete', '/v1/projects/{projectId}/certificates/{certificateId}', { path: { projectId: flags.project, certificateId: id } });
    note(`deleted CA certificate ${id} from project ${flags.project}`);
  });
  registerRevokeCommands(certificates, withProject);
  registerCrlCommands(certificates, withProject);
}
