import {

  loadCrls,
  parseIpAddress,
  validateDeviceCertificate,
  fingerprintSha256,
  formatNameForDisplay,
  loadCertificates,

  verifyChain,
  type Certificate,
  type DeviceIdentity,
  type PkiErrorCode,
} from '@fleetpki/pki';
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { readInput } from '../file-io.js';
import { collect, parseTime } from '../options.js';
import { ReportedFailure } from '../reported-failure.js';

interface VerifyOptions {
  ca?: string[];
  untrusted?: string[];
  crl?: string[];
  project?: string;
  hostname?: string;
  purpose?: string;
  at?: string;
  json?: boolean;
}

function summary(cert: Certificate): { subject: string; fingerprintSha256: string; notAfter: string } {
  return { subject: formatNameForDisplay(cert.subject), fingerprintSha256: fingerprintSha256(cert.der), notAfter: cert.notAfter.toISOString() };
}

export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description('verify a certificate chains to a trusted CA (signatures, validity, basic constraints, pathLen); exit 0 when valid')
    .argument('<cert>', 'the certificate to verify; a bundle is leaf first, then untrusted intermediates')
    .option('--ca <file>', 'trusted CA certificate(s), repeatable, bundles allowed', collect)
    .option('--untrusted <file>', 'intermediate certificate(s) to build the path with, repeatable', collect)
    .option('--crl <file>', 'CRL(s) to check revocation against, repeatable, bundles allowed', collect)
    .option('--project <slug>', 'validate as a device of this project (DESIGN §3): O and CN, end entity, clientAuth if EKU is present, key type')
    .option('--hostname <name>', 'the server name (DNS or IP) the certificate must carry in its subjectAltName; implies --purpose server')
    .option('--purpose <purpose>', 'client (TLS client, devices) or server (TLS server, web-PKI profile); default: client with --project, server with --hostname, else neither')
    .option('--at <time>', 'verify at this time (ISO 8601, or @UNIX_SECONDS) instead of now')
    .option('--json', 'machine-readable output')
    .action((file: string, options: VerifyOptions) => {
      if (!options.ca || options.ca.length === 0) throw new CliError('USAGE', 'give at least one --ca');
      const time = options.at !== undefined ? parseTime(options.at) : new Date();
      const anchors = options.ca.flatMap((path) => loadCertificates(readInput(path)));
      const presented = loadCertificates(readInput(file));
      const leaf = presented[0] as Certificate;
      const uploaded = (options.untrusted ?? []).flatMap((path) => loadCertificates(readInput(path)));
      const intermediates = [...presented.slice(1), ...uploaded];

      const crls = (options.crl ?? []).flatMap((path) => loadCrls(readInput(path)));
      const purpose = options.purpose ?? (options.project !== undefined ? 'client' : options.hostname !== undefined ? 'server' : undefined);
      if (purpose !== undefined && purpose !== 'client' && purpose !== 'server') throw new CliError('USAGE', `--purpose must be client or server, got "${purpose}"`);
      if (options.project !== undefined && purpose !== 'client') throw new CliError('USAGE', '--project validates a device, which is a TLS client: --purpose client');
      let failure: { code: PkiErrorCode; message: string; certificate: Certificate } | undefined;
      let identity: DeviceIdentity | undefined;
      let path: readonly Certificate[] = [];
      if (options.project !== undefined) {
        const result = validateDeviceCertificate(presented, options.project, anchors, uploaded, time, crls);
        if (result.ok) {
          identity = result.identity;
          path = result.path;
        } else failure = result;
      } else {
        const peerNames = options.hostname === undefined ? [] : [{ kind: parseIpAddress(options.hostname) ? ('IP' as const) : ('DNS' as const), value: options.hostname }];
        const result = verifyChain({ leaf, anchors, intermediates, time, options: { purpose, peerNames, crls } });
        if (result.ok) path = result.path;
        else failure = result;
      }

      if (options.json) {
        const out = failure
          ? { valid: false, code: failure.code, message: failure.message, certificate: summary(failure.certificate), time: time.toISOString() }
          : { valid: true, time: time.toISOString(), path: path.map(summary), deviceIdentity: identity ?? null };
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      } else if (failure) {
        process.stdout.write(`${file}: FAIL ${failure.code}: ${failure.message}\n  certificate: ${formatNameForDisplay(failure.certificate.subject)} (SHA-256 ${fingerprintSha256(failure.certificate.der)})\n`);
      } else {
        const lines = path.map((cert, i) => `  ${i === path.length - 1 ? 'anchor' : i === 0 ? 'leaf  ' : 'via   '} ${formatNameForDisplay(cert.subject)}  (expires ${cert.notAfter.toISOString()})`);
        const who = identity ? `\n  device: project ${identity.projectSlug}, certificate ID ${identity.certificateId}` : '';
        process.stdout.write(`${file}: OK\n${lines.join('\n')}${who}\n`);
      }
      if (failure) throw new ReportedFailure(failure.code);
    });
}

