import { createReadStream, statSync } from 'node:fs';
import { extname } from 'node:path';
import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Command } from 'commander';
import { apiClient, printJson, withApiOptions, type ApiFlags } from '../api-command.js';
import { CliError } from '../cli-error.js';
import { ProgressBar } from '../progress-bar.js';
import { printableLine } from '../terminal-text.js';

type ImportFlags = ApiFlags & { project: string; format?: string };

interface Summary {
  rows: number;
  created: number;
  unchanged: number;
  conflict: number;
  invalid: number;
}

interface ProblemRow {
  line: number;
  name?: string;
  result: string;
  code?: string;
  message?: string;
}

const CONTENT_TYPES = { csv: 'text/csv', ndjson: 'application/x-ndjson' } as const;

/** The format a file's extension names (.csv; .ndjson or .jsonl), or --format. */
function formatOf(file: string, flag: string | undefined): keyof typeof CONTENT_TYPES {
  const format = flag ?? ({ '.csv': 'csv', '.ndjson': 'ndjson', '.jsonl': 'ndjson' } as Record<string, string>)[extname(file).toLowerCase()];
  if (format !== 'csv' && format !== 'ndjson') throw new CliError('USAGE', `say --format csv or --format ndjson for ${file}`);
  return format;
}

/** Rows in the file (lines with something on them), for the progress bar: one pass, in chunks. */
async function countRows(file: string, format: keyof typeof CONTENT_TYPES): Promise<number> {
  let rows = 0;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY })) if (line.trim() !== '') rows += 1;
  return format === 'csv' ? Math.max(0, rows - 1) : rows;
}

/**
 * `fleetpki devices import FILE --project P` (issue 19, 2): a factory run's manifest.csv (from
 * `devices generate`), or any CSV with a name or certificate_id column, or NDJSON, streamed to
 * the server's import and answered as it goes: a progress bar, each refused row on stderr with
 * its line, a summary. Exit 0 when every row was created or unchanged; IMPORT_ROWS_REFUSED else.
 */
export function registerDevicesImportCommand(devices: Command): void {
  withApiOptions(
    devices
      .command('import')
      .description('pre-provision devices in bulk from a CSV (manifest.csv of devices generate) or NDJSON file; idempotent on name')
      .argument('<file>', 'the rows: .csv with a header naming name and/or certificate_id, or .ndjson/.jsonl of {"name", "certificateId"}')
      .requiredOption('--project <slug>', 'project slug')
      .option('--format <format>', 'csv or ndjson, when the extension does not say'),
  ).action(async (file: string, flags: ImportFlags) => {
    const format = formatOf(file, flags.format);
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      throw new CliError('FILE_NOT_FOUND', `cannot read ${file}`);
    }
    const progress = new ProgressBar(await countRows(file, format));
    const response = await apiClient(flags).stream(`/v1/projects/${encodeURIComponent(flags.project)}/devices/import`, {
      query: { report: 'problems' },
      contentType: CONTENT_TYPES[format],
      contentLength: size,
      body: Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>,
    });
    let summary: Summary | undefined;
    let stopped: { code: string; message: string } | undefined;
    const problems: ProblemRow[] = [];
    for await (const text of createInterface({ input: Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), crlfDelay: Number.POSITIVE_INFINITY })) {
      if (text === '') continue;
      const line = JSON.parse(text) as { progress?: Summary; summary?: Summary; error?: { code: string; message: string } } & Partial<ProblemRow>;
      if (line.progress) progress.update(line.progress.rows);
      else if (line.summary) [summary, stopped] = [line.summary, line.error];
      else if (line.result !== undefined) {
        // Kept only for --json: a million refused rows are printed, not held.
        if (flags.json) problems.push(line as ProblemRow);
        else process.stderr.write(`${printableLine(`line ${line.line}${line.name === undefined ? '' : ` (${line.name})`}: ${line.result}: ${line.code}: ${line.message}`)}\n`);
      }
    }
    progress.finish();
    if (!summary) throw new CliError('INTERNAL', 'the server ended the import without a summary');
    if (flags.json) printJson({ summary, problems, ...(stopped ? { error: stopped } : {}) });
    else process.stderr.write(`fleetpki: ${summary.rows} rows: ${summary.created} created, ${summary.unchanged} unchanged, ${summary.conflict} conflicting, ${summary.invalid} invalid\n`);
    if (stopped) throw new CliError('IMPORT_STOPPED', `the import stopped after ${summary.rows} rows: ${stopped.code}: ${stopped.message}`);
    if (summary.conflict + summary.invalid > 0) throw new CliError('IMPORT_ROWS_REFUSED', `${summary.conflict + summary.invalid} row(s) were not imported (listed above with their lines); the others were`);
  });
}
