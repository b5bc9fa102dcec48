import type { IncomingMessage, ServerResponse } from 'node:http';
import { refusalStatus, type AuthenticatedDevice, type DeviceAuthResult, type DeviceRefusal } from '../domain/identity/index.js';
import { MAX_TOKEN_REQUEST_BYTES, parseTokenRequest, type DeviceTokenIssuer } from '../domain/tokens/index.js';
import { coapCodeFor } from '../edge/coap-code.js';
import { problemBody } from '../edge/problem.js';
import { PROBLEM_STATUS } from '../edge/problem-status.js';
import { readBoundedBody } from '../edge/request-body.js';
import { isServiceError, ServiceError, type AnyServiceError } from '../service-error.js';
import type { CoapRequest, CoapResponse } from './coap-session.js';

/** DESIGN §8: the token endpoint, on the gateway (HTTPS and CoAP), where the device's certificate is. */
export const DEVICE_TOKEN_PATH = '/v1/token';
/** The JWKS, on the gateway too: a relying party next to the devices need not reach the management API. */
export const GATEWAY_JWKS_PATH = '/.well-known/jwks.json';

/** RFC 6749 §5.1: token answers and their refusals are never cached. */
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;

/** RFC 7252 §12.3 Content-Format application/json. */
const CONTENT_FORMAT_JSON = 50;

/** RFC 6749 §5.2 (and RFC 8707 §2's invalid_target): the OAuth error a failure code stands for. */
type OAuthError = 'invalid_request' | 'invalid_client' | 'unsupported_grant_type' | 'invalid_target' | 'server_error';

function oauthErrorOf(error: AnyServiceError): OAuthError {
  switch (error.code) {
    case 'TOKEN_GRANT_TYPE_UNSUPPORTED':
      return 'unsupported_grant_type';
    case 'TOKEN_AUDIENCE_NOT_ALLOWED':
      return 'invalid_target';
    case 'TOKEN_REQUEST_INVALID':
      return error.context.reason === 'client-id-mismatch' ? 'invalid_client' : 'invalid_request';
    case 'NO_CLIENT_CERTIFICATE':
      return 'invalid_client';
    default:
      return PROBLEM_STATUS[error.code] < 500 ? 'invalid_request' : 'server_error';
  }
}

interface TokenFailure {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/**
 * A refusal in OAuth's shape (RFC 6749 §5.2: `error`, `error_description`) that is also the
 * platform's problem document (RFC 9457 fields with the stable `code` and its facts): OAuth
 * client libraries read the first two, firmware and logs the code.
 */
function failureOf(error: AnyServiceError, instance: string): TokenFailure {
  const status = PROBLEM_STATUS[error.code];
  return { status, body: { error: oauthErrorOf(error), error_description: error.message, ...problemBody(status, error.code, error.message, instance, error.context) } };
}

/** A device the identity service refused (DEVICE_DISABLED, CERT_REVOKED …): its client authentication failed. */
function refusalOf(refusal: DeviceRefusal, instance: string): TokenFailure {
  const status = refusalStatus(refusal.code);
  return { status, body: { error: 'invalid_client' satisfies OAuthError, error_description: refusal.message, ...problemBody(status, refusal.code, refusal.message, instance, refusal.context) } };
}

function writeJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * `POST /v1/token` over HTTPS: the connection's verdict (the certificate its handshake proved)
 * is the client authentication (RFC 8705 §2.1, tls_client_auth); the body asks for the grant
 * and audience. A refused device gets its refusal and the connection ends, as on every route.
 */
export async function answerTokenRequest(req: IncomingMessage, res: ServerResponse, verdict: Promise<DeviceAuthResult>, issuer: DeviceTokenIssuer, path: string): Promise<void> {
  const result = await verdict;
  if (!result.ok) {
    const failure = refusalOf(result, path);
    writeJson(res, failure.status, failure.body, { ...NO_STORE, connection: 'close' });
    return;
  }
  try {
    const request = parseTokenRequest(await readBoundedBody(req, MAX_TOKEN_REQUEST_BYTES), req.headers['content-type']);
    writeJson(res, 200, await issuer.issue(result.device, request, 'https'), NO_STORE);
  } catch (error) {
    if (!isServiceError(error) || res.headersSent) throw error;
    const failure = failureOf(error, path);
    // The rest of an oversize body is never read: the connection cannot carry another request.
    writeJson(res, failure.status, failure.body, error.code === 'BODY_TOO_LARGE' ? { ...NO_STORE, connection: 'close' } : NO_STORE);
  }
}

/** `GET /.well-known/jwks.json` on the gateway: public, no client certificate needed. */
export async function answerJwks(res: ServerResponse, issuer: DeviceTokenIssuer): Promise<void> {
  writeJson(res, 200, await issuer.keys.jwks(), { 'cache-control': 'public, max-age=300' });
}

/**
 * `POST /v1/token` over CoAP: the same request as JSON (Content-Format 50; CoAP registers no
 * form encoding), answered 2.05 with the same JSON, or the same refusal body under the CoAP code
 * of its HTTP status (RFC 8075 §7). The session's verdict admitted the device already.
 */
export async function coapTokenRequest(request: CoapRequest, device: AuthenticatedDevice, issuer: DeviceTokenIssuer): Promise<CoapResponse> {
  try {
    if (request.contentFormat !== undefined && request.contentFormat !== CONTENT_FORMAT_JSON) {
      throw new ServiceError('TOKEN_REQUEST_INVALID', `send the token request as JSON (Content-Format ${CONTENT_FORMAT_JSON})`, { reason: 'content-type' });
    }
    const answer = await issuer.issue(device, parseTokenRequest(request.payload, 'application/json'), 'coap');
    return { code: '2.05', contentFormat: CONTENT_FORMAT_JSON, payload: Buffer.from(JSON.stringify(answer)) };
  } catch (error) {
    if (!isServiceError(error)) throw error;
    const failure = failureOf(error, DEVICE_TOKEN_PATH);
    return { code: coapCodeFor(failure.status), contentFormat: CONTENT_FORMAT_JSON, payload: Buffer.from(JSON.stringify(failure.body)) };
  }
}
