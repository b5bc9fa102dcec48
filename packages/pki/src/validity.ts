import { PkiError } from './errors.js';

export interface Validity {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Longest lifetime accepted from `--days`: a hundred years, far beyond any sane CA. */
export const MAX_VALIDITY_DAYS = 36_500;
const DAY_MS = 86_400_000;

/** `now` to `now + days`, to the second, as `openssl x509 -days` does. */
export function validityForDays(now: Date, days: number): Validity {
  if (!Number.isInteger(days) || days < 1 || days > MAX_VALIDITY_DAYS) {
    throw new PkiError('INVALID_VALIDITY', `days must be a whole number from 1 to ${MAX_VALIDITY_DAYS}, got ${days}`, {
      days,
    });
  }
  const start = Math.floor(now.getTime() / 1000) * 1000;
  return { notBefore: new Date(start), notAfter: new Date(start + days * DAY_MS) };
}
