import { generateKeyPair } from '@fleetpki/pki';
import type { Command } from 'commander';
import { encodePrivateKey } from '../encode-output.js';
import { writeOutput } from '../file-io.js';
import { outputFormat, parseKeySpec } from '../options.js';

interface KeyCreateOptions {
  out: string;
  curve?: string;
  rsa?: string;
  format?: string;
  force?: boolean;
}

export function registerKeyCommands(program: Command): void {
  const key = program.command('key').description('private keys');
  key
    .command('create')
    .description('create a private key (EC P-256 by default, written as SEC1 like `openssl ecparam -genkey -noout`)')
    .option('--out <file>', 'where to write the key, - for stdout', '-')
    .option('--curve <curve>', 'EC curve: P-256 or P-384')
    .option('--rsa <bits>', 'an RSA key instead: 2048, 3072 or 4096')
    .option('--format <format>', 'pem or der (default: der for *.der, else pem)')
    .option('--force', 'replace an existing file')
    .action((options: KeyCreateOptions) => {
      const spec = parseKeySpec(options);
      const { privateKey } = generateKeyPair(spec);
      const data = encodePrivateKey(privateKey, outputFormat(options.format, options.out));
      writeOutput(options.out, data, { secret: true, force: options.force === true });
    });
}
