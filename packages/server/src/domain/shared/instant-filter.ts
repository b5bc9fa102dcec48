import { ServiceError } from '../../service-error.js';

/** A date a list filters by, as the store compares it (ISO 8601 in UTC sorts as text); VALIDATION_FAILED naming the filter otherwise. */
/**
 * RFC 3339's date-time (a zone required: without one JavaScript reads local time, and the
 * answer would depend on the server's clock setting) or a bare date, read as UTC midnight.
 * Date.parse alone takes whatever the engine guesses at ("Dec 4", "2026/12/04").
 */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

export function instantFilter(value: string, name: string): string {
  const ms = ISO_INSTANT.test(value) && isCalendarDate(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new ServiceError('VALIDATION_FAILED', `${name} must be an ISO 8601 date-time with a zone (2026-12-04T12:00:00Z) or a date (2026-12-04)`);
  return new Date(ms).toISOString();
}

/** The date part names a day that exists: Date.parse rolls 2026-02-30 over into March. */
function isCalendarDate(value: string): boolean {
  const [year, month, day] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}
