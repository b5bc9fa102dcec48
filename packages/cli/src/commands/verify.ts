import {

  deviceIdentityFromCertificate,
  fingerprintSha256,
  formatNameForDisplay,
  isPkiError,
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
  project?: string;
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
    .option('--project <slug>', 'also apply the device rules for this project: O and CN, end entity, clientAuth if EKU is present, key type')
    .option('--at <time>', 'verify at this time (ISO 8601, or @UNIX_SECONDS) instead of now')
    .option('--json', 'machine-readable output')
    .action((file: string, options: VerifyOptions) => {
      if (!options.ca || options.ca.length === 0) throw new CliError('USAGE', 'give at least one --ca');
      const time = options.at !== undefined ? parseTime(options.at) : new Date();
      const anchors = options.ca.flatMap((path) => loadCertificates(readInput(path)));
      const presented = loadCertificates(readInput(file));
      const leaf = presented[0] as Certificate;
      const intermediates = [...presented.slice(1), ...(options.untrusted ?? []).flatMap((path) => loadCertificates(readInput(path)))];

      const result = verifyChain({ leaf, anchors, intermediates, time });
      let failure: { code: PkiErrorCode; message: string; certificate: Certificate } | undefined;
      let identity: DeviceIdentity | undefined;
      if (!result.ok) {
        failure = { code: result.code, message: result.message, certificate: result.certificate };
      } else if (options.project !== undefined) {
        try {
          identity = deviceIdentityFromCertificate(leaf, options.project);
        } catch (err) {
          if (!isPkiError(err)) throw err;
          failure = { code: err.code, message: err.message, certificate: leaf };
        }
      }

      if (options.json) {
        const out = failure
          ? { valid: false, code: failure.code, message: failure.message, certificate: summary(failure.certificate), time: time.toISOString() }
          : { valid: true, time: time.toISOString(), path: result.ok ? result.path.map(summary) : [], deviceIdentity: identity ?? null };
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      } else if (failure) {
        process.stdout.write(`${file}: FAIL ${failure.code}: ${failure.message}\n  certificate: ${formatNameForDisplay(failure.certificate.subject)} (SHA-256 ${fingerprintSha256(failure.certificate.der)})\n`);
      } else if (result.ok) {
        const lines = result.path.map((cert, i) => `  ${i === result.path.length - 1 ? 'anchor' : i === 0 ? 'leaf  ' : 'via   '} ${formatNameForDisplay(cert.subject)}  (expires ${cert.notAfter.toISOString()})`);
        const who = identity ? `\n  device: project ${identity.projectSlug}, certificate ID ${identity.certificateId}` : '';
        process.stdout.write(`${file}: OK\n${lines.join('\n')}${who}\n`);
      }
      if (failure) throw new ReportedFailure(failure.code);
    });
}

