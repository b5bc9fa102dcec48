import { PkiError, type KeySpec } from '@fleetpki/pki';
import { CliError } from './cli-error.js';

export function parseInteger(value: string, flag: string): number {
  const parsed = Number(value.trim());
  if (!/^-?[0-9]+$/.test(value.trim()) || !Number.isSafeInteger(parsed)) {
    throw new CliError('USAGE', `${flag} must be a whole number, got "${value}"`);
  }
  return parsed;
}

/** `--days`: the core checks the range and answers INVALID_VALIDITY. */
export function parseDays(value: string): number {
  if (!/^-?[0-9]+$/.test(value.trim()) || !Number.isSafeInteger(Number(value.trim()))) {
    throw new PkiError('INVALID_VALIDITY', `--days must be a whole number of days, got "${value}"`, { field: '--days', value });
  }
  return Number(value.trim());
}

/** `--curve P-256|P-384` or `--rsa 2048|3072|4096`, EC P-256 by default (DESIGN §2). */
export function parseKeySpec(options: { curve?: string; rsa?: string }): KeySpec {
  if (options.curve !== undefined && options.rsa !== undefined) {
    throw new CliError('USAGE', 'give either --curve or --rsa, not both');
  }
  if (options.rsa !== undefined) {
    const bits = parseInteger(options.rsa, '--rsa');
    if (bits !== 2048 && bits !== 3072 && bits !== 4096) throw new CliError('USAGE', '--rsa must be 2048, 3072 or 4096');
    return { kind: 'rsa', bits };
  }
  const curve = (options.curve ?? 'P-256').toUpperCase();
  const aliases: Record<string, 'P-256' | 'P-384'> = {
    'P-256': 'P-256',
    P256: 'P-256',
    PRIME256V1: 'P-256',
    SECP256R1: 'P-256',
    'P-384': 'P-384',
    P384: 'P-384',
    SECP384R1: 'P-384',
  };
  const resolved = aliases[curve];
  if (!resolved) throw new CliError('USAGE', `--curve must be P-256 or P-384, got "${options.curve ?? ''}"`);
  return { kind: 'ec', curve: resolved };
}

export type OutputFormat = 'pem' | 'der';

/** `--format`, else DER for a path ending in .der/.cer-less names, else PEM. */
export function outputFormat(explicit: string | undefined, path: string | undefined): OutputFormat {
  if (explicit !== undefined) {
    const f = explicit.toLowerCase();
    if (f !== 'pem' && f !== 'der') throw new CliError('USAGE', `--format must be pem or der, got "${explicit}"`);
    return f;
  }
  return path !== undefined && path.toLowerCase().endsWith('.der') ? 'der' : 'pem';
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/**
 * `--at`: an ISO 8601 date or instant (a time needs its zone: Z or ±hh:mm), or `@` and Unix
 * seconds as in `date -d @SECONDS`. Nothing looser, so "March 7" is not silently some year.
 */
export function parseTime(value: string): Date {
  const trimmed = value.trim();
  let date = new Date(Number.NaN);
  if (/^@-?[0-9]{1,12}$/.test(trimmed)) date = new Date(Number(trimmed.slice(1)) * 1000);
  else if (ISO_8601.test(trimmed)) date = new Date(trimmed);
  if (Number.isNaN(date.getTime())) {
    throw new CliError('USAGE', `--at must be ISO 8601 (2026-01-31 or 2026-01-31T12:00:00Z) or @UNIX_SECONDS, got "${value}"`);
  }
  return date;
}

/** Collects a repeatable option into a list. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
