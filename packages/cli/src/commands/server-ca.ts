import { certificateContent, encodePem, isPkiError, parseCertificate, type Certificate } from '@fleetpki/pki';
import type { Command } from 'commander';
import { note, publicApiClient, withApiOptions, type ApiFlags } from '../api-command.js';
import { ApiClientError } from '../api-error.js';
import { renderCArray } from '../c-array.js';
import { CliError } from '../cli-error.js';
import { writeOutput } from '../file-io.js';
import { printableLine } from '../terminal-text.js';

/** The array name firmware includes, as the SDKs name their embedded root. */
export const C_ARRAY_NAME = 'fleetpki_root_ca_der';

type ServerCaFormat = 'pem' | 'der' | 'c';

interface ServerCaFlags extends ApiFlags {
  format?: string;
  out?: string;
  force?: boolean;
}

function parseFormat(value: string | undefined): ServerCaFormat {
  const format = (value ?? 'pem').toLowerCase();
  if (format === 'pem' || format === 'der' || format === 'c') return format;
  throw new CliError('USAGE', `--format must be pem, der or c, got "${value ?? ''}"`);
}

/** What came back must be one certificate: firmware that pins garbage bricks itself. */
function parseRoot(der: Buffer, where: string): Certificate {
  try {
    return parseCertificate(der);
  } catch (error) {
    if (isPkiError(error)) throw new ApiClientError('SERVER_RESPONSE_INVALID', `${where} answered something that is not a DER certificate (${error.code}); is --server a fleetpki server?`);
    throw error;
  }
}

export function registerServerCaCommand(program: Command): void {
  withApiOptions(
    program
      .command('server-ca')
      .description('the platform root CA that devices use to verify the server, for firmware (public: no API key is sent)')
      .option('--format <format>', 'pem, der, or c (a C array to compile into firmware)', 'pem')
      .option('--out <file>', 'write to this file instead of standard output')
      .option('--force', 'replace --out if it exists'),
    'public',
  ).action(async (flags: ServerCaFlags) => {
    const format = parseFormat(flags.format);
    // --json: {certificateContent, pem}, for scripts that pin the fingerprint.
    if (flags.json && format !== 'pem') throw new CliError('USAGE', '--json prints the certificate as JSON; it does not combine with --format der or c');
    if (format === 'der' && flags.out === undefined && process.stdout.isTTY) throw new CliError('USAGE', 'DER is binary: give --out FILE or redirect standard output');
    const client = publicApiClient(flags);
    // Always the DER: one certificate, the bytes the gateway's chain ends in; PEM is made here.
    const response = await client.send('/v1/server-ca', { query: { format: 'der' }, auth: false, accept: 'application/pkix-cert' });
    const root = parseRoot(response.body, `GET ${client.url('/v1/server-ca').href}`);
    const content = certificateContent(root);
    const pem = encodePem('CERTIFICATE', root.der);
    let output: string | Buffer;
    if (flags.json) output = JSON.stringify({ certificateContent: content, pem }, null, 2) + '\n';
    else if (format === 'der') output = root.der;
    else if (format === 'c') {
      output = renderCArray(root.der, C_ARRAY_NAME, [
        `fleetpki platform root CA (DER), from ${client.baseUrl.href}`,
        `subject: ${content.subject}`,
        `not after: ${content.notAfter}`,
        `SHA-256 fingerprint: ${content.fingerprintSha256}`,
      ]);
    } else output = pem;
    writeOutput(flags.out ?? '-', output, { force: flags.force === true });
    if (flags.out !== undefined) note(`wrote the platform root ${printableLine(content.subject)} (SHA-256 ${content.fingerprintSha256}) to ${flags.out}`);
  });
}
