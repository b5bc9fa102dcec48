import { ServiceError } from '../../service-error.js';

/** A date a list filters by, as the store compares it (ISO 8601 in UTC sorts as text); VALIDATION_FAILED naming the filter otherwise. */
export function instantFilter(value: string, name: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new ServiceError('VALIDATION_FAILED', `${name} must be an ISO 8601 date-time`);
  return new Date(ms).toISOString();
}
