import { ServiceError } from '../../service-error.js';

/**
 * Bound on a token request's body: `grant_type`, an audience of at most 256 characters (the
 * setting's bound, percent-encoded up to three times longer) and a client_id fit with room.
 */
export const MAX_TOKEN_REQUEST_BYTES = 4096;

/** RFC 6749 §4.4.2: the one grant a device's certificate stands for. */
export const CLIENT_CREDENTIALS_GRANT = 'client_credentials';

/** The parameters of POST /v1/token that the platform reads (RFC 6749 §3.2: others are ignored). */
export interface TokenRequest {
  readonly grantType: string | undefined;
  /** RFC 8693 §2.1's `audience`; one value. */
  readonly audience: string | undefined;
  /** RFC 8705 §2.1's client_id, optional here: when sent, it must be the certificate ID the TLS handshake proved. */
  readonly clientId: string | undefined;
}

const PARAMETERS = { grant_type: 'grantType', audience: 'audience', client_id: 'clientId' } as const;
type Parameter = keyof typeof PARAMETERS;
const isParameter = (name: string): name is Parameter => Object.hasOwn(PARAMETERS, name);

/** A longer value is named in an error's facts only up to this many characters: the peer's bytes, echoed. */
const ECHO_CHARACTERS = 256;

export const echoed = (value: string): string => (value.length > ECHO_CHARACTERS ? `${value.slice(0, ECHO_CHARACTERS)}…` : value);

/** Strict: a body that is not UTF-8 is refused, not patched with U+FFFD. One decoder serves every request (decode is synchronous). */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

const invalid = (reason: string, message: string) => new ServiceError('TOKEN_REQUEST_INVALID', message, { reason });

/**
 * The body of a token request, form-encoded (RFC 6749 §4.4.2, `application/x-www-form-urlencoded`)
 * or JSON (DESIGN §8): strictly, each malformation its own `reason` — a body that is not UTF-8,
 * a broken percent-escape, JSON that does not parse or is not an object, a parameter that is not
 * a string, or one sent twice (RFC 6749 §3.2).
 */
export function parseTokenRequest(body: Buffer, contentType: string | undefined): TokenRequest {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    throw invalid('encoding', 'the request body is not UTF-8');
  }
  if (mediaType === 'application/x-www-form-urlencoded') return fromForm(text);
  if (mediaType === 'application/json') return fromJson(text);
  throw invalid('content-type', `send the token request as application/x-www-form-urlencoded or application/json${mediaType ? `, not ${echoed(mediaType)}` : ''}`);
}

function fromForm(text: string): TokenRequest {
  // URLSearchParams would keep a broken escape as it is; a request that carries one is malformed.
  if (/%(?![0-9A-Fa-f]{2})/.test(text)) throw invalid('malformed-form', 'the form has a % that does not start a percent-escape');
  const found: { -readonly [P in keyof TokenRequest]?: string } = {};
  for (const [name, value] of new URLSearchParams(text)) {
    if (!isParameter(name)) continue;
    const field = PARAMETERS[name];
    if (found[field] !== undefined) throw invalid('duplicate-parameter', `${name} is sent more than once (RFC 6749 §3.2)`);
    found[field] = value;
  }
  return { grantType: found.grantType, audience: found.audience, clientId: found.clientId };
}

function fromJson(text: string): TokenRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalid('malformed-json', `the request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('not-an-object', 'the JSON token request is an object of parameters');
  const record = parsed as Record<string, unknown>;
  const field = (name: Parameter): string | undefined => {
    const value = record[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw invalid('parameter-type', `${name} is a string`);
    return value;
  };
  return { grantType: field('grant_type'), audience: field('audience'), clientId: field('client_id') };
}
