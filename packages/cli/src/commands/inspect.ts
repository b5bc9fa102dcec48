import { decodeObjects } from '@fleetpki/pki';
import type { Command } from 'commander';
import { readInput } from '../file-io.js';
import { inspectSummary, inspectText } from '../render-inspect.js';

export function registerInspectCommand(program: Command): void {
  program
    .command('inspect')
    .description('show what a file holds: certificates (bundles too), CSRs, CRLs, keys; PEM or DER')
    .argument('<file>', 'the file, - for stdin')
    .option('--json', 'machine-readable output')
    .action(async (file: string, options: { json?: boolean }) => {
      const decoded = decodeObjects(readInput(file));
      const summaries = await Promise.all(decoded.objects.map(inspectSummary));
      if (options.json) {
        process.stdout.write(JSON.stringify({ encoding: decoded.encoding, objects: summaries }, null, 2) + '\n');
        return;
      }
      process.stdout.write(decoded.objects.map((object, i) => inspectText(object, summaries[i] as (typeof summaries)[number])).join('\n\n') + '\n');
    });
}
