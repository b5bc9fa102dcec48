import { MAX_PATH_LEN, signCsr, validityForDays } from '@fleetpki/pki';
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { encodeCertificate } from '../encode-output.js';
import { readInput, writeOutput } from '../file-io.js';
import { loadIssuer } from '../load-issuer.js';
import { outputFormat, parseDays, parseInteger } from '../options.js';
import { csrDer } from '../csr-input.js';

interface CertSignOptions {
  csr: string;
  caCert: string;
  caKey: string;
  days: string;
  project?: string;
  devicePolicy: boolean;
  out: string;
  format?: string;
  force?: boolean;
  ca?: boolean;
  pathLen?: string;
}

export function registerCertCommands(program: Command): void {
  const cert = program.command('cert').description('certificates');
  cert
    .command('sign')
    .description('issue a device certificate from a CSR (like `openssl x509 -req`), after checking its signature and subject')
    .requiredOption('--csr <file>', 'the CSR (PEM or DER), - for stdin')
    .requiredOption('--ca-cert <file>', 'the issuing CA certificate')
    .requiredOption('--ca-key <file>', 'the issuing CA private key')
    .option('--days <days>', 'validity in days', '365')
    .option('--project <slug>', 'require the subject O to be this project slug')
    .option('--no-device-policy', 'sign a subject that is not a device identity')
    .option('--out <file>', 'where to write the certificate, - for stdout', '-')
    .option('--format <format>', 'pem or der (default: der for *.der, else pem)')
    .option('--force', 'replace an existing file')
    .option('--ca', 'sign the CSR as an intermediate CA (a managed CA of `fleetpki pki ca create --mode csr`), not a device')
    .option('--path-len <n>', 'with --ca: basicConstraints pathLenConstraint')
    .action(async (options: CertSignOptions) => {
      if (options.project !== undefined && !options.devicePolicy) {
        throw new CliError('USAGE', '--project applies the device policy; it cannot go with --no-device-policy');
      }
      if (options.ca && options.project !== undefined) throw new CliError('USAGE', '--ca signs a CA, not a device: it cannot go with --project');
      if (options.pathLen !== undefined && !options.ca) throw new CliError('USAGE', '--path-len needs --ca');
      const pathLen = options.pathLen === undefined ? undefined : parseInteger(options.pathLen, '--path-len');
      if (pathLen !== undefined && (pathLen < 0 || pathLen > MAX_PATH_LEN)) throw new CliError('USAGE', `--path-len must be 0 to ${MAX_PATH_LEN}`);
      const validity = validityForDays(new Date(), parseDays(options.days));
      const request = csrDer(readInput(options.csr), options.csr);
      const issuer = loadIssuer(options.caCert, options.caKey);
      const result = await signCsr(issuer, request, {
        validity,
        devicePolicy: options.devicePolicy && !options.ca ? { project: options.project } : false,
        ...(options.ca ? { profile: { kind: 'intermediate-ca', pathLen } as const } : {}),
      });
      writeOutput(options.out, encodeCertificate(result.der, outputFormat(options.format, options.out)), {
        force: options.force === true,
      });
    });
}
