import { PkiError } from './errors.js';

export interface Validity {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Longest lifetime accepted from `--days`: a hundred years, far beyond any sane CA. */
export const MAX_VALIDITY_DAYS = 36_500;
const DAY_MS = 86_400_000;

/** The span X.509 time encodings can hold (RFC 5280 §4.1.2.5: GeneralizedTime has four-digit years). */
// Date.UTC maps years 0-99 to 1900-1999, so year 0 is set explicitly.
const EARLIEST_ENCODABLE = new Date(Date.UTC(2000, 0, 1)).setUTCFullYear(0);
const LATEST_ENCODABLE = Date.UTC(9999, 11, 31, 23, 59, 59);

/** Refuses validity bounds that are not dates or that no certificate can encode. */
export function assertEncodableValidity(validity: Validity): void {
  for (const [field, date] of [['notBefore', validity.notBefore], ['notAfter', validity.notAfter]] as const) {
    const ms = date instanceof Date ? date.getTime() : Number.NaN;
    if (Number.isNaN(ms)) throw new PkiError('INVALID_VALIDITY', `${field} is not a valid date`, { field });
    if (ms < EARLIEST_ENCODABLE || ms > LATEST_ENCODABLE) {
      throw new PkiError('INVALID_VALIDITY', `${field} ${date.toISOString()} is outside the years 0000-9999 X.509 can encode`, { field });
    }
  }
  if (validity.notAfter.getTime() <= validity.notBefore.getTime()) {
    throw new PkiError('INVALID_VALIDITY', 'notAfter must be after notBefore');
  }
}

/** `now` to `now + days`, to the second, as `openssl x509 -days` does. */
export function validityForDays(now: Date, days: number): Validity {
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new PkiError('INVALID_VALIDITY', 'the start time is not a valid date');
  }
  if (!Number.isInteger(days) || days < 1 || days > MAX_VALIDITY_DAYS) {
    throw new PkiError('INVALID_VALIDITY', `days must be a whole number from 1 to ${MAX_VALIDITY_DAYS}, got ${days}`, {
      days,
    });
  }
  const start = Math.floor(now.getTime() / 1000) * 1000;
  const validity = { notBefore: new Date(start), notAfter: new Date(start + days * DAY_MS) };
  assertEncodableValidity(validity);
  return validity;
}
