import { pipeline, Readable } from 'node:stream';
import { parse, type CsvError } from 'csv-parse';
import type { ImportRow } from '../domain/management/index.js';
import { ServiceError } from '../service-error.js';

/** An import's body, bounded: the README states these. */
export const MAX_IMPORT_BYTES = 512 * 1024 * 1024;
export const MAX_IMPORT_ROWS = 2_000_000;
/** Unreadable CSV records the parser may report before the next good one: a body of nothing else is refused. */
const MAX_PENDING_SKIPPED = 10_000;
/** One row (a line of NDJSON, a CSV record); a longer one is refused alone, never held whole. */
export const MAX_IMPORT_ROW_BYTES = 4096;

export type ImportFormat = 'ndjson' | 'csv';

/** The format a Content-Type names, or undefined (UNSUPPORTED_MEDIA_TYPE). */
export function importFormatOf(contentType: string | undefined): ImportFormat | undefined {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === 'application/x-ndjson' || type === 'application/jsonl' || type === 'application/ndjson') return 'ndjson';
  if (type === 'text/csv') return 'csv';
  return undefined;
}

/** The CSV columns a row may carry: its name, its certificate ID (the manifest's `certificate_id`); others are ignored. */
const NAME_COLUMNS = new Set(['name']);
const CERTIFICATE_ID_COLUMNS = new Set(['certificate_id', 'certificateid']);

/**
 * The rows of an import body, streamed: never more than one row (and the parser's window) in
 * memory, whatever the body's size. A row that cannot be read is yielded as an error with its
 * line number, and the rows after it still come. The body is cut off past MAX_IMPORT_BYTES or
 * MAX_IMPORT_ROWS with BODY_TOO_LARGE (thrown: the caller reports it after the rows before).
 */
export async function* importRows(body: ReadableStream<Uint8Array> | null, format: ImportFormat): AsyncGenerator<ImportRow> {
  const bytes = bounded(body);
  yield* format === 'ndjson' ? ndjsonRows(bytes) : csvRows(bytes);
}

async function* bounded(body: ReadableStream<Uint8Array> | null): AsyncGenerator<Uint8Array> {
  if (!body) return;
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > MAX_IMPORT_BYTES) throw tooLarge();
    yield chunk;
  }
}

function tooLarge(): ServiceError {
  return new ServiceError('BODY_TOO_LARGE', `an import is at most ${MAX_IMPORT_BYTES} bytes and ${MAX_IMPORT_ROWS} rows: split it`, { maxBytes: MAX_IMPORT_BYTES });
}

function invalid(line: number, message: string): ImportRow {
  return { line, error: { code: 'IMPORT_ROW_INVALID', message } };
}

/** NDJSON: one JSON object per line, `{"name": …, "certificateId": …}`; blank lines skipped. */
async function* ndjsonRows(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<ImportRow> {
  let line = 0;
  let rows = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overlong = false;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const finish = (bytes: Buffer): ImportRow | undefined => {
    line += 1;
    if (overlong || bytes.byteLength > MAX_IMPORT_ROW_BYTES) {
      overlong = false;
      return invalid(line, `a row is at most ${MAX_IMPORT_ROW_BYTES} bytes`);
    }
    let text: string;
    try {
      text = decoder.decode(bytes).replace(/\r$/, '');
    } catch {
      return invalid(line, 'the row is not UTF-8');
    }
    if (text.trim() === '') return undefined;
    if (++rows > MAX_IMPORT_ROWS) throw tooLarge();
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return invalid(line, 'the row is not JSON');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return invalid(line, 'the row is not a JSON object');
    const { name, certificateId, ...rest } = value as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) return invalid(line, `unknown field ${JSON.stringify(unknown[0])}: a row has name and certificateId`);
    return { line, name, certificateId: certificateId ?? undefined };
  };
  for await (const chunk of chunks) {
    let start = 0;
    for (let at = chunk.indexOf(0x0a); at !== -1; at = chunk.indexOf(0x0a, start)) {
      const piece = Buffer.from(chunk.buffer, chunk.byteOffset + start, at - start);
      const row = finish(overlong ? Buffer.alloc(0) : pendingBytes === 0 ? piece : Buffer.concat([...pending, piece]));
      pending = [];
      pendingBytes = 0;
      if (row) yield row;
      start = at + 1;
    }
    if (start < chunk.byteLength && !overlong) {
      pendingBytes += chunk.byteLength - start;
      if (pendingBytes > MAX_IMPORT_ROW_BYTES) {
        overlong = true;
        pending = [];
        pendingBytes = 0;
      } else pending.push(Buffer.from(chunk.subarray(start)));
    }
  }
  if (pendingBytes > 0 || overlong) {
    const row = finish(Buffer.concat(pending));
    if (row) yield row;
  }
}

/**
 * CSV with a header (csv-parse, RFC 4180 quoting): a `name` column, a `certificate_id` column, or
 * both (the manifest `fleetpki devices generate` writes has `certificate_id`, which then names
 * the device too). A header with neither is refused before any row (IMPORT_HEADER_INVALID).
 */
async function* csvRows(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<ImportRow> {
  const skipped: ImportRow[] = [];
  const parser = parse({
    bom: true,
    info: true,
    skip_empty_lines: true,
    // A row with too many or too few fields is a record here, refused below with its line.
    relax_column_count: true,
    max_record_size: MAX_IMPORT_ROW_BYTES,
    skip_records_with_error: true,
    on_skip: (error: CsvError | undefined) => void (error && skipped.push(invalid(Number(error['lines']), error.message))),
  });
  // pipeline, not pipe: an error of the body (the client gone, the byte bound) reaches the
  // parser and ends this loop, instead of being thrown where no one listens.
  pipeline(Readable.from(chunks), parser, () => {});
  let nameAt = -1;
  let certificateIdAt = -1;
  let columns = 0;
  let rows = 0;
  const counted = (row: ImportRow): ImportRow => {
    if (++rows > MAX_IMPORT_ROWS) throw tooLarge();
    return row;
  };
  for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
    // The parser runs ahead of this loop: a row it skipped may come after records still to be yielded.
    while (skipped.length > 0 && (skipped[0] as ImportRow).line < info.lines) yield counted(skipped.shift() as ImportRow);
    if (skipped.length > MAX_PENDING_SKIPPED) throw new ServiceError('IMPORT_ROW_INVALID', `more than ${MAX_PENDING_SKIPPED} unreadable rows in a row: is this CSV?`, {});
    if (nameAt === -1 && certificateIdAt === -1) {
      const names = record.map((column) => column.trim().toLowerCase());
      nameAt = names.findIndex((column) => NAME_COLUMNS.has(column));
      certificateIdAt = names.findIndex((column) => CERTIFICATE_ID_COLUMNS.has(column));
      if (nameAt === -1 && certificateIdAt === -1) {
        throw new ServiceError('IMPORT_HEADER_INVALID', 'the first CSV line names the columns: name, certificate_id, or both', { header: record.slice(0, 10).join(',') });
      }
      columns = record.length;
      continue;
    }
    if (record.length !== columns) {
      yield counted(invalid(info.lines, `the header names ${columns} fields and this row has ${record.length}`));
      continue;
    }
    const certificateId = certificateIdAt === -1 || record[certificateIdAt] === '' ? undefined : record[certificateIdAt];
    yield counted({ line: info.lines, name: nameAt === -1 ? certificateId : record[nameAt], certificateId });
  }
  for (const row of skipped.splice(0)) yield counted(row);
}
