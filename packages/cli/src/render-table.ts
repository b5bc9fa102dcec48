import { printable } from './terminal-text.js';

/** One column of a table for people: its header and how to read the cell from a row. */
export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => unknown;
}

/** Gap between columns: two spaces, as `kubectl get` and `docker ps` print. */
const GAP = '  ';

/** A cell as text: `-` for nothing, lists comma-separated, everything escaped for the terminal. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  if (typeof value === 'string') return printable(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map(cellText).join(', ');
  return printable(JSON.stringify(value));
}

/**
 * Aligned columns with a header row, left-aligned, no trailing spaces; the header alone for no
 * rows, so a script that skips the first line still works. Widths count UTF-16 code units,
 * which is right for the ASCII that IDs, dates and fingerprints are.
 */
export function renderTable<T>(columns: readonly Column<T>[], rows: readonly T[]): string {
  const cells = [columns.map((c) => c.header), ...rows.map((row) => columns.map((c) => cellText(c.value(row))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => (line[i] as string).length)));
  return cells.map((line) => line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i] as number))).join(GAP).trimEnd() + '\n').join('');
}

/** One object for people: `label:` and its value, the values aligned. */
export function renderRecord(fields: readonly (readonly [label: string, value: unknown])[]): string {
  const width = Math.max(...fields.map(([label]) => label.length + 1));
  return fields.map(([label, value]) => `${`${label}:`.padEnd(width)}${GAP}${cellText(value)}\n`).join('');
}
