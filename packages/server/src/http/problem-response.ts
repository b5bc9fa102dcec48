import type { Context } from 'hono';
import { PROBLEM_STATUS } from '../edge/problem-status.js';
import { problemDocument } from '../edge/problem.js';
import { ServiceError } from '../service-error.js';

/** A service error as the management API's response (the app's handlers and middleware). */
export function problemResponse(c: Context, error: ServiceError): Response {
  const status = PROBLEM_STATUS[error.code];
  return new Response(JSON.stringify(problemDocument(error, c.req.path)), { status, headers: problemHeaders(status) });
}

/** The headers of a problem answer: its media type, and the API-key challenge with a 401 (RFC 9110 §11.6.1). */
export function problemHeaders(status: number): Record<string, string> {
  return { 'content-type': 'application/problem+json', ...(status === 401 ? { 'www-authenticate': 'ApiKey realm="fleetpki", header="x-api-key"' } : {}) };
}

/** What the API answers for a failure it did not expect: logged with the request id, said without details. */
export function internalError(requestId: string): ServiceError {
  return new ServiceError('INTERNAL_ERROR', 'the server failed to handle this request; it is logged', { requestId });
}
