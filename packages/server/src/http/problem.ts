import type { Context } from 'hono';
import type { ServiceError } from '../service-error.js';
import { PROBLEM_STATUS, STATUS_TITLE } from './problem-status.js';

/** The RFC 9457 document for a service error: stable `code`, human `detail`, facts as members. */
export function problemDocument(error: ServiceError, instance?: string): Record<string, unknown> {
  const status = PROBLEM_STATUS[error.code];
  return {
    ...error.context,
    type: `https://fleetpki.dev/problems/${error.code.toLowerCase().replace(/_/g, '-')}`,
    title: STATUS_TITLE[status] ?? 'Error',
    status,
    code: error.code,
    detail: error.message,
    ...(instance ? { instance } : {}),
  };
}

export function problemResponse(c: Context, error: ServiceError): Response {
  const status = PROBLEM_STATUS[error.code];
  return new Response(JSON.stringify(problemDocument(error, c.req.path)), {
    status,
    headers: { 'content-type': 'application/problem+json', ...(status === 401 ? { 'www-authenticate': 'ApiKey realm="fleetpki", header="x-api-key"' } : {}) },
  });
}
