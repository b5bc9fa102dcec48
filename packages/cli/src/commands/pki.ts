import type { Command } from 'commander';
import { apiClient, note, printJson, withApiOptions, type ApiFlags } from '../api-command.js';
import type { ManagedCa, ManagedCaCreate } from '../api-types.js';
import { CliError } from '../cli-error.js';
import { readInput, writeOutput } from '../file-io.js';
import { renderTable, type Column } from '../render-table.js';

type ProjectFlags = ApiFlags & { project: string };

const CA_COLUMNS: readonly Column<ManagedCa>[] = [
  { header: 'ID', value: (c) => c.id },
  { header: 'STATUS', value: (c) => c.status },
  { header: 'MODE', value: (c) => c.mode },
  { header: 'KEY', value: (c) => c.keyStorage },
  { header: 'ANCHOR', value: (c) => c.caCertificateId ?? undefined },
  { header: 'DAYS (DEFAULT/MAX)', value: (c) => `${c.profile.defaultDays}/${c.profile.maxDays}` },
  { header: 'ACTIVATED', value: (c) => c.activatedAt ?? undefined },
];

function positiveInteger(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError('USAGE', `${flag} must be a whole number of at least 1, got "${value}"`);
  return n;
}

function showCas(cas: readonly ManagedCa[], flags: ApiFlags): void {
  if (flags.json) printJson(cas.length === 1 ? cas[0] : cas);
  else process.stdout.write(renderTable(CA_COLUMNS, cas));
}

/** `fleetpki pki …`: the integrated PKI of a project through the management API (DESIGN §5). */
export function registerPkiCommands(program: Command): void {
  const pki = program.command('pki').description("the project's integrated PKI: managed issuing CAs, issuance, EST enrollment tokens (management API)");
  const withProject = (command: Command): Command => withApiOptions(command.requiredOption('--project <slug>', 'project slug'));
  const ca = pki.command('ca').description('managed issuing CAs (their keys never leave the server)');

  withProject(
    ca
      .command('create')
      .description('create a managed issuing CA: generate (root + issuing CA), csr (issuing key + CSR to sign offline), or cfssl (a remote signer)')
      .option('--mode <mode>', 'generate | csr | cfssl', 'generate')
      .option('--key-storage <where>', 'sealed (AES-256-GCM under the master key) | pkcs11 (the server’s token)')
      .option('--default-days <n>', 'validity when a request asks for none')
      .option('--max-days <n>', 'the longest validity a request may ask for')
      .option('--cfssl-url <url>', 'mode cfssl: the cfssl serve base URL')
      .option('--cfssl-profile <name>', 'mode cfssl: the signing profile')
      .option('--csr-out <file>', 'mode csr: write the CA’s CSR here to sign offline (else it is printed)'),
  ).action(
    async (
      flags: ProjectFlags & { mode: string; keyStorage?: string; defaultDays?: string; maxDays?: string; cfsslUrl?: string; cfsslProfile?: string; csrOut?: string },
    ) => {
      const profile = {
        ...(flags.defaultDays ? { defaultDays: positiveInteger(flags.defaultDays, '--default-days') } : {}),
        ...(flags.maxDays ? { maxDays: positiveInteger(flags.maxDays, '--max-days') } : {}),
      };
      // --mode and --key-storage go as typed, unchecked: the server judges them and its problem names the values it takes.
      const body = {
        mode: flags.mode as ManagedCaCreate['mode'],
        ...(flags.keyStorage ? { keyStorage: flags.keyStorage as ManagedCaCreate['keyStorage'] } : {}),
        ...(Object.keys(profile).length > 0 ? { profile } : {}),
        ...(flags.cfsslUrl ? { cfssl: { url: flags.cfsslUrl, ...(flags.cfsslProfile ? { profile: flags.cfsslProfile } : {}) } } : {}),
      };
      const created = (await apiClient(flags).call('post', '/v1/projects/{projectId}/pki/cas', { path: { projectId: flags.project }, body })).body;
      if (created.csr && flags.csrOut) {
        writeOutput(flags.csrOut, created.csr);
        note(`wrote the CA's CSR to ${flags.csrOut}: sign it with your root, then run fleetpki pki ca complete ${created.id} --project ${flags.project} --cert FILE`);
      }
      showCas([created], flags);
      if (created.csr && !flags.csrOut && !flags.json) process.stdout.write(created.csr);
    },
  );

  withProject(
    ca
      .command('complete')
      .description('activate a csr-mode CA with its certificate signed offline (the issuing CA first, its chain after)')
      .argument('<id>', 'managed CA ID')
      .requiredOption('--cert <file>', 'PEM or DER file, - for stdin'),
  ).action(async (id: string, flags: ProjectFlags & { cert: string }) => {
    const certFile = readInput(flags.cert).toString('base64');
    showCas([(await apiClient(flags).call('put', '/v1/projects/{projectId}/pki/cas/{caId}/certificate', { path: { projectId: flags.project, caId: id }, body: { certFile } })).body], flags);
  });

  withProject(ca.command('list').description("list the project's managed CAs")).action(async (flags: ProjectFlags) => {
    showCas(await apiClient(flags).listAll('/v1/projects/{projectId}/pki/cas', { path: { projectId: flags.project } }), flags);
  });

  withProject(
    pki
      .command('issue')
      .description('have the project’s CA sign a device CSR (O = the project, CN = the certificate ID)')
      .requiredOption('--csr <file>', 'PEM or DER PKCS#10 request, - for stdin')
      .option('--days <n>', 'validity (default: the CA profile’s)')
      .option('--out <file>', 'where the certificate goes (PEM)', '-')
      .option('--force', 'replace --out if it exists'),
  ).action(async (flags: ProjectFlags & { csr: string; days?: string; out: string; force?: boolean }) => {
    const body = { csr: readInput(flags.csr).toString('base64'), ...(flags.days ? { days: positiveInteger(flags.days, '--days') } : {}) };
    const issued = (await apiClient(flags).call('post', '/v1/projects/{projectId}/pki/issue', { path: { projectId: flags.project }, body })).body;
    if (flags.json) {
      printJson(issued);
      return;
    }
    writeOutput(flags.out, issued.certificate, { force: flags.force });
    if (flags.out !== '-') note(`issued ${issued.certificateId}: serial ${issued.serialNumber}, valid until ${issued.notAfter}, written to ${flags.out}`);
  });

  withProject(
    pki
      .command('tokens')
      .description('create one-time enrollment tokens for EST and CMP (shown once): for one device, or a batch for new devices')
      .option('--device <id>', 'a token for this device: its certificate gets the device’s identity')
      .option('--count <n>', 'how many tokens (a batch)', '1')
      .option('--valid-hours <n>', 'lifetime of the tokens')
      .option('--for <protocol>', 'how to print each token: est (the token, an HTTP Basic password) or cmp (openssl cmp’s -ref and -secret)', 'est'),
  ).action(async (flags: ProjectFlags & { device?: string; count: string; validHours?: string; for: string }) => {
    if (flags.for !== 'est' && flags.for !== 'cmp') throw new CliError('USAGE', `--for is est or cmp, not ${JSON.stringify(flags.for)}`);
    const body = {
      count: positiveInteger(flags.count, '--count'),
      ...(flags.device ? { deviceId: flags.device } : {}),
      ...(flags.validHours ? { validHours: positiveInteger(flags.validHours, '--valid-hours') } : {}),
    };
    const batch = (await apiClient(flags).call('post', '/v1/projects/{projectId}/pki/enrollment-tokens', { path: { projectId: flags.project }, body })).body;
    if (flags.json) printJson(batch);
    // CMP: the token's id is the senderKID (`-ref`), the token the MAC's shared secret (`-secret pass:`), DESIGN §8.
    else for (const token of batch.tokens) process.stdout.write(flags.for === 'cmp' ? `-ref ${token.id} -secret pass:${token.token}\n` : `${token.token}\n`);
    note(`${batch.tokens.length} one-time token(s), batch ${batch.batchId}, valid until ${batch.expiresAt}`);
  });
}
