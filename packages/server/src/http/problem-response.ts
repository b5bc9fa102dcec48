import type { Context } from 'hono';
import { PROBLEM_STATUS } from '../edge/problem-status.js';
import { problemDocument } from '../edge/problem.js';
import type { ServiceError } from '../service-error.js';

/** A service error as the management API's response (the app's handlers and middleware). */
export function problemResponse(c: Context, error: ServiceError): Response {
  const status = PROBLEM_STATUS[error.code];
  return new Response(JSON.stringify(problemDocument(error, c.req.path)), {
    status,
    headers: { 'content-type': 'application/problem+json', ...(status === 401 ? { 'www-authenticate': 'ApiKey realm="fleetpki", header="x-api-key"' } : {}) },
  });
}
