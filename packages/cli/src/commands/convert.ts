import { decodeObjects, encodePem, PkiError, PRIVATE_KEY_PEM_LABELS, type PkiObject } from '@fleetpki/pki';
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { readInput, writeOutput } from '../file-io.js';

interface ConvertOptions {
  to: string;
  out: string;
  force?: boolean;
}

function pemLabel(object: PkiObject): string {
  switch (object.kind) {
    case 'certificate':
      return 'CERTIFICATE';
    case 'csr':
      return 'CERTIFICATE REQUEST';
    case 'crl':
      return 'X509 CRL';
    case 'public-key':
      return 'PUBLIC KEY';
    case 'private-key':
      return PRIVATE_KEY_PEM_LABELS[object.privateKey.format];
  }
}

export function registerConvertCommand(program: Command): void {
  program
    .command('convert')
    .description('convert a key, certificate, CSR or CRL between PEM and DER, keeping its syntax (SEC1 stays SEC1)')
    .argument('<file>', 'input file (PEM or DER), - for stdin')
    .requiredOption('--to <format>', 'pem or der')
    .option('--out <file>', 'where to write the result, - for stdout', '-')
    .option('--force', 'replace an existing file')
    .action((file: string, options: ConvertOptions) => {
      const to = options.to.toLowerCase();
      if (to !== 'pem' && to !== 'der') throw new CliError('USAGE', `--to must be pem or der, got "${options.to}"`);
      // Parsing every object first means a damaged input is refused, never re-armoured.
      const { objects } = decodeObjects(readInput(file));
      const secret = objects.some((o) => o.kind === 'private-key');
      let data: Buffer | string;
      if (to === 'der') {
        if (objects.length !== 1) {
          throw new PkiError('INVALID_ARGUMENT', `DER holds one object and ${file} has ${objects.length}; split the bundle first`, {
            count: objects.length,
          });
        }
        data = (objects[0] as PkiObject).der;
      } else {
        data = objects.map((o) => encodePem(pemLabel(o), o.der)).join('');
      }
      writeOutput(options.out, data, { secret, force: options.force === true });
    });
}
