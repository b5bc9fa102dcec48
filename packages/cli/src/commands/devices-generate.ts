import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { assertCertificateId, assertProjectSlug, checkValidityAgainstIssuer, validityForDays } from '@fleetpki/pki';
import type { Command } from 'commander';
import { BatchPublishError, createStaging, discardStaging, MANIFEST_FILE, publishBatch, resolveBatchTarget } from '../batch-directory.js';
import { CliError } from '../cli-error.js';
import { MANIFEST_HEADER, manifestLine } from '../device-batch.js';
import { generateDevicesInParallel, MAX_WORKERS } from '../device-batch-pool.js';
import { writeNewFile } from '../file-io.js';
import { loadIssuer } from '../load-issuer.js';
import { parseDays, parseInteger, parseKeySpec } from '../options.js';
import { ProgressBar } from '../progress-bar.js';

/** One run makes at most this many devices: a bound on disk and time for a typo'd --count. */
export const MAX_DEVICES_PER_RUN = 1_000_000;

interface DevicesGenerateOptions {
  project: string;
  count: string;
  caCert: string;
  caKey: string;
  outDir: string;
  days: string;
  der?: boolean;
  idPrefix: string;
  start: string;
  curve?: string;
  rsa?: string;
  force?: boolean;
  workers?: string;
}

export function registerDevicesGenerateCommand(devices: Command): void {
  devices
    .command('generate')
    .description('factory line: a key and a device certificate per device, plus manifest.csv, in one directory')
    .requiredOption('--project <slug>', 'project slug (O of every certificate)')
    .requiredOption('--count <n>', 'how many devices')
    .requiredOption('--ca-cert <file>', 'the issuing CA certificate')
    .requiredOption('--ca-key <file>', 'the issuing CA private key')
    .requiredOption('--out-dir <dir>', 'output directory (created; must be empty unless --force)')
    .option('--days <days>', 'certificate validity in days', '365')
    .option('--der', 'write DER files (.der) instead of PEM')
    .option('--id-prefix <prefix>', 'certificate IDs are PREFIX + zero-padded number', 'device-')
    .option('--start <n>', 'first device number', '1')
    .option('--curve <curve>', 'device key curve: P-256 or P-384')
    .option('--rsa <bits>', 'RSA device keys instead: 2048, 3072 or 4096')
    .option('--force', 'write into a non-empty directory, replacing same-named files')
    .option('--workers <n>', `worker threads (default: one per core, at most ${MAX_WORKERS}; 1 keeps it in one thread)`)
    .action(async (options: DevicesGenerateOptions) => {
      assertProjectSlug(options.project);
      const count = parseInteger(options.count, '--count');
      if (count < 1 || count > MAX_DEVICES_PER_RUN) throw new CliError('USAGE', `--count must be 1 to ${MAX_DEVICES_PER_RUN}`);
      const start = parseInteger(options.start, '--start');
      if (start < 0) throw new CliError('USAGE', '--start must not be negative');
      const width = String(start + count - 1).length;
      const ids = Array.from({ length: count }, (_, i) => `${options.idPrefix}${String(start + i).padStart(Math.max(width, 4), '0')}`);
      assertCertificateId(ids[0] as string);
      assertCertificateId(ids[ids.length - 1] as string);
      const keySpec = parseKeySpec(options);
      const workers = options.workers === undefined ? availableParallelism() : parseInteger(options.workers, '--workers');
      if (workers < 1 || workers > MAX_WORKERS) throw new CliError('USAGE', `--workers must be 1 to ${MAX_WORKERS}`);
      const validity = validityForDays(new Date(), parseDays(options.days));

      const target = resolveBatchTarget(options.outDir, options.force === true);
      const issuer = loadIssuer(options.caCert, options.caKey);
      checkValidityAgainstIssuer(issuer, validity);
      const staging = createStaging(target);
      const started = process.hrtime.bigint();
      try {
        const progress = new ProgressBar(count);
        const rows = await generateDevicesInParallel(
          issuer,
          { project: options.project, certificateIds: ids, keySpec, format: options.der ? 'der' : 'pem', validity, directory: staging },
          (done) => progress.update(done),
          workers,
        );
        progress.finish();
        writeNewFile(join(staging, MANIFEST_FILE), MANIFEST_HEADER + rows.map(manifestLine).join(''), 0o644);
        publishBatch(staging, target);
      } catch (err) {
        if (!(err instanceof BatchPublishError)) discardStaging(staging);
        throw err;
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      process.stderr.write(`${count} devices for project ${options.project} in ${options.outDir} (${seconds.toFixed(2)} s, ${MANIFEST_FILE})\n`);
    });
}
