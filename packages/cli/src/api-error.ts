import type { Problem } from './api-types.js';
import { printableLine } from './terminal-text.js';

/**
 * Failures of a management-API call that are the client's to name: the server could not be
 * reached or did not answer as a fleetpki server, or a command refuses what came back.
 * Problems the server answered keep the server's own code (ApiProblemError).
 */
export const API_CLIENT_ERROR_CODES = [
  /** No connection: refused, DNS, TLS, reset. */
  'SERVER_UNREACHABLE',
  /** Connected, but no whole answer within the request timeout. */
  'SERVER_TIMEOUT',
  /** An answer that is not the API's: not JSON, too large, a redirect, an error without a problem document. */
  'SERVER_RESPONSE_INVALID',
  /** A bundle upload in which the server refused some certificates (each result is printed). */
  'CERTIFICATES_REFUSED',
  /** A list longer than the CLI pages through; narrow it with filters or page the API yourself. */
  'LIST_TOO_LONG',
] as const;

export type ApiClientErrorCode = (typeof API_CLIENT_ERROR_CODES)[number];

export class ApiClientError extends Error {
  override readonly name = 'ApiClientError';

  constructor(
    readonly code: ApiClientErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The shape of a server code (UPPER_SNAKE, DESIGN §7); anything else is not a problem document of ours. */
const SERVER_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

/**
 * The API answered with a problem (RFC 9457). `code` is the server's stable code, whatever it
 * is: a newer server may send codes this CLI has never seen, and they all exit SERVER_REFUSED.
 */
export class ApiProblemError extends Error {
  override readonly name = 'ApiProblemError';

  constructor(
    readonly code: string,
    /** The HTTP status of the answer. */
    readonly httpStatus: number,
    /** The whole problem document, facts included (existingId, issues, …). */
    readonly problem: Problem,
  ) {
    super(printableLine(typeof problem.detail === 'string' && problem.detail !== '' ? problem.detail : `HTTP ${httpStatus}`));
  }
}

/** A problem document from parsed JSON, or undefined when the value is not one. */
export function asProblem(value: unknown): Problem | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const code = (value as { code?: unknown }).code;
  return typeof code === 'string' && SERVER_CODE.test(code) ? (value as Problem) : undefined;
}

/** An answer's body as a problem document, or undefined when it is not JSON or not one of ours. */
export function problemFromBody(body: Buffer): Problem | undefined {
  try {
    return asProblem(JSON.parse(body.toString('utf8')));
  } catch {
    return undefined;
  }
}
