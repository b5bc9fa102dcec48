import {
  createSelfSignedCa,
  issueCertificate,
  loadPrivateKey,
  MAX_PATH_LEN,
  parseSubjectPublicKeyInfo,
  parseSubjectString,
  spkiDer,
  validityForDays,
  type IssuedCertificate,
} from '@fleetpki/pki';
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { encodeCertificate } from '../encode-output.js';
import { readInput, writeOutput } from '../file-io.js';
import { loadIssuer } from '../load-issuer.js';
import { outputFormat, parseDays, parseInteger } from '../options.js';

interface CaCreateOptions {
  key: string;
  subject: string;
  days: string;
  issuerCert?: string;
  issuerKey?: string;
  pathLen?: string;
  out: string;
  format?: string;
  force?: boolean;
}

export function registerCaCommands(program: Command): void {
  const ca = program.command('ca').description('certificate authorities');
  ca.command('create')
    .description('create a root CA certificate (self-signed), or an intermediate with --issuer-cert/--issuer-key')
    .requiredOption('--key <file>', 'the CA private key (PEM or DER; SEC1, PKCS#8 or PKCS#1)')
    .requiredOption('--subject <subject>', 'openssl-style subject, e.g. "/CN=Root CA"')
    .option('--days <days>', 'validity in days', '3650')
    .option('--issuer-cert <file>', 'the parent CA certificate (makes an intermediate)')
    .option('--issuer-key <file>', 'the parent CA private key')
    .option('--path-len <n>', 'basicConstraints pathLenConstraint')
    .option('--out <file>', 'where to write the certificate, - for stdout', '-')
    .option('--format <format>', 'pem or der (default: der for *.der, else pem)')
    .option('--force', 'replace an existing file')
    .action((options: CaCreateOptions) => {
      if ((options.issuerCert === undefined) !== (options.issuerKey === undefined)) {
        throw new CliError('USAGE', '--issuer-cert and --issuer-key go together');
      }
      const subject = parseSubjectString(options.subject);
      const validity = validityForDays(new Date(), parseDays(options.days));
      const pathLen = options.pathLen === undefined ? undefined : parseInteger(options.pathLen, '--path-len');
      if (pathLen !== undefined && (pathLen < 0 || pathLen > MAX_PATH_LEN)) throw new CliError('USAGE', `--path-len must be 0 to ${MAX_PATH_LEN}`);
      const key = loadPrivateKey(readInput(options.key)).key;
      let issued: IssuedCertificate;
      if (options.issuerCert !== undefined && options.issuerKey !== undefined) {
        const issuer = loadIssuer(options.issuerCert, options.issuerKey);
        issued = issueCertificate(issuer, {
          subject,
          publicKey: parseSubjectPublicKeyInfo(spkiDer(key), 'CA public key'),
          validity,
          profile: { kind: 'intermediate-ca', pathLen },
        });
      } else {
        issued = createSelfSignedCa({ subject, privateKey: key, validity, pathLen });
      }
      writeOutput(options.out, encodeCertificate(issued.der, outputFormat(options.format, options.out)), { force: options.force === true });
    });
}
