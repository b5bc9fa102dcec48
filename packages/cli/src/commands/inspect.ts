import { decodeObjects } from '@fleetpki/pki';
import type { Command } from 'commander';
import { readInput } from '../file-io.js';
import { inspectJson, inspectText } from '../render-inspect.js';

export function registerInspectCommand(program: Command): void {
  program
    .command('inspect')
    .description('show what a file holds: certificates (bundles too), CSRs, CRLs, keys; PEM or DER')
    .argument('<file>', 'the file, - for stdin')
    .option('--json', 'machine-readable output')
    .action(async (file: string, options: { json?: boolean }) => {
      const decoded = decodeObjects(readInput(file));
      if (options.json) {
        const out = { encoding: decoded.encoding, objects: await Promise.all(decoded.objects.map(inspectJson)) };
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
        return;
      }
      process.stdout.write((await Promise.all(decoded.objects.map(inspectText))).join('\n\n') + '\n');
    });
}
