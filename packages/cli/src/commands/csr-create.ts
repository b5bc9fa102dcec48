import { createCsr, deviceIdentityFromSubject, deviceSubject, loadPrivateKey, parseSubjectString } from '@fleetpki/pki';
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { encodeCsr } from '../encode-output.js';
import { readInput, writeOutput } from '../file-io.js';
import { outputFormat } from '../options.js';

interface CsrCreateOptions {
  key: string;
  subject?: string;
  project?: string;
  id?: string;
  devicePolicy: boolean;
  out: string;
  format?: string;
  force?: boolean;
}

export function registerCsrCommands(program: Command): void {
  const csr = program.command('csr').description('certificate signing requests');
  csr
    .command('create')
    .description('create a CSR signed by the key; device subjects (O=project slug, CN=certificate ID) are checked')
    .requiredOption('--key <file>', 'the private key to sign the request with')
    .option('--subject <subject>', 'openssl-style subject, e.g. "/O=PROJECT_SLUG/CN=CERTIFICATE_ID"')
    .option('--project <slug>', 'project slug (O), with --id instead of --subject')
    .option('--id <certificateId>', 'certificate ID (CN), with --project')
    .option('--no-device-policy', 'allow a subject that is not a device identity')
    .option('--out <file>', 'where to write the CSR, - for stdout', '-')
    .option('--format <format>', 'pem or der (default: der for *.der, else pem)')
    .option('--force', 'replace an existing file')
    .action((options: CsrCreateOptions) => {
      const byIdentity = options.project !== undefined || options.id !== undefined;
      if (byIdentity === (options.subject !== undefined)) {
        throw new CliError('USAGE', 'give either --subject or both --project and --id');
      }
      let subject;
      if (byIdentity) {
        if (options.project === undefined || options.id === undefined) throw new CliError('USAGE', '--project and --id go together');
        subject = deviceSubject(options.project, options.id);
      } else {
        subject = parseSubjectString(options.subject as string);
        if (options.devicePolicy) deviceIdentityFromSubject(subject);
      }
      const key = loadPrivateKey(readInput(options.key)).key;
      const der = createCsr(subject, key);
      writeOutput(options.out, encodeCsr(der, outputFormat(options.format, options.out)), { force: options.force === true });
    });
}
