import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { DeviceAuthenticator } from '../domain/identity/index.js';
import { problemBody, problemDocument } from '../edge/problem.js';
import { isServiceError, ServiceError } from '../service-error.js';
import { listen } from '../listen.js';
import type { Logger } from '../logger.js';
import { deviceProblem } from './device-problem.js';
import { chainFromHeader, MAX_FORWARD_AUTH_HEADER_BYTES, type ForwardAuthCertHeader } from './forward-auth-header.js';
import { FORWARD_AUTH_SECRET_HEADER, secretMatcher } from './forward-auth-secret.js';

export const FORWARD_AUTH_PATH = '/v1/forward-auth';

/**
 * Idle keep-alive of the proxy's connections: longer than nginx's upstream keepalive_timeout
 * (60 s) and Traefik's idle timeout (90 s is its default; see docs/forward-auth.md), so the proxy
 * is the side that closes an idle connection and never sends a request on one being closed.
 */
export const FORWARD_AUTH_KEEP_ALIVE_MS = 120_000;

/**
 * Node's own bound on a request's headers (default 16 KiB), raised so a certificate header up to
 * MAX_FORWARD_AUTH_HEADER_BYTES reaches the handler and is answered with its code; beyond this
 * Node answers 431 itself.
 */
const MAX_REQUEST_HEADER_BYTES = 2 * MAX_FORWARD_AUTH_HEADER_BYTES;

/** The answer's identity headers (DESIGN §8), which the proxy copies to its upstream. */
export const IDENTITY_HEADERS = { project: 'Fleetpki-Project', device: 'Fleetpki-Device', certificateId: 'Fleetpki-Certificate-Id', renewAfter: 'Fleetpki-Renew-After' } as const;
/** On every answer but 200: the failure code, for proxies that pass on only headers (nginx's auth_request_set). */
export const REFUSAL_CODE_HEADER = 'Fleetpki-Refusal-Code';

export interface ForwardAuthOptions {
  readonly authenticator: DeviceAuthenticator;
  readonly host: string;
  readonly port: number;
  /** The one header the certificate is read from; the other proxy's header is ignored, so a client cannot send it through. */
  readonly certHeader: ForwardAuthCertHeader;
  /** When set, every request must carry it in Fleetpki-Forward-Auth-Secret. */
  readonly secret: string | undefined;
  readonly logger: Logger;
  /** Counts each answer by status and code (OK when accepted). */
  readonly answered: (status: number, code: string) => void;
}

export interface ForwardAuth {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** One value of a header, or a ServiceError when it was sent more than once (a proxy never repeats these). */
function single(req: IncomingMessage, name: ForwardAuthCertHeader): string | undefined {
  const values = req.headersDistinct[name];
  if (values === undefined) return undefined;
  if (values.length > 1) throw new ServiceError('FORWARD_AUTH_HEADER_INVALID', `${name} was sent ${values.length} times`, { header: name, reason: 'repeated' });
  return values[0];
}

/**
 * The device's address as the proxy saw it (X-Real-IP, else the last X-Forwarded-For hop, which
 * the proxy itself appended), else the proxy's own. It is audited and keys the refusal throttle,
 * so devices behind one proxy are not throttled as one.
 */
function deviceAddress(req: IncomingMessage): string | undefined {
  const realIp = req.headers['x-real-ip'];
  if (typeof realIp === 'string' && isIP(realIp.trim()) !== 0) return realIp.trim();
  const forwarded = req.headers['x-forwarded-for'];
  const last = typeof forwarded === 'string' ? forwarded.split(',').at(-1)?.trim() : undefined;
  if (last !== undefined && isIP(last) !== 0) return last;
  return req.socket.remoteAddress;
}

/**
 * GET /v1/forward-auth (issue 20, 3): a TLS-terminating proxy (nginx auth_request, Traefik
 * forwardAuth) asks who the device behind a request is, passing the certificate the device
 * presented in its handshake. The proxy's TLS stack has checked the device's CertificateVerify
 * (key possession); the trust decision is the same identity service as the gateway's, with
 * its policy, zero-touch provisioning, audit and refusal codes. There is no connection of ours
 * to hold or end, so every request is judged anew (the validated-chain cache makes that cheap).
 * A plain node:http handler, as the device gateway: it is on the path of every proxied request.
 */
export async function startForwardAuth(options: ForwardAuthOptions): Promise<ForwardAuth> {
  const secretMatches = options.secret === undefined ? undefined : secretMatcher(options.secret);

  const answer = (res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>>, code: string): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { ...headers, 'content-type': status === 200 ? 'application/json' : 'application/problem+json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
    options.answered(status, code);
  };
  const fail = (res: ServerResponse, status: number, body: Record<string, unknown>, code: string, extra: Readonly<Record<string, string>> = {}): void =>
    answer(res, status, body, { ...extra, [REFUSAL_CODE_HEADER]: code }, code);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path !== FORWARD_AUTH_PATH) return fail(res, 404, problemBody(404, 'ROUTE_NOT_FOUND', `no route ${req.method ?? ''} ${path}`, path, { expected: FORWARD_AUTH_PATH }), 'ROUTE_NOT_FOUND');
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(res, 405, problemBody(405, 'METHOD_NOT_ALLOWED', `${FORWARD_AUTH_PATH} answers GET and HEAD`, path), 'METHOD_NOT_ALLOWED', { allow: 'GET, HEAD' });
    if (secretMatches && !secretMatches(req.headersDistinct[FORWARD_AUTH_SECRET_HEADER]?.join(','))) {
      throw new ServiceError('FORWARD_AUTH_SECRET_INVALID', `the ${FORWARD_AUTH_SECRET_HEADER} header is missing or wrong`);
    }
    const chain = chainFromHeader(options.certHeader, single(req, options.certHeader));
    const result = await options.authenticator.authenticate(chain, { transport: 'forward-auth', remoteAddress: deviceAddress(req) });
    if (!result.ok) {
      const problem = deviceProblem(result, path);
      return fail(res, problem.status, problem.body, result.code);
    }
    const { projectId, certificateId, deviceId, deviceName, provisioning } = result.device;
    const headers: Record<string, string> = { [IDENTITY_HEADERS.project]: projectId, [IDENTITY_HEADERS.device]: deviceId };
    if (certificateId !== null) headers[IDENTITY_HEADERS.certificateId] = certificateId;
    if (result.device.credential === 'certificate') {
      headers[IDENTITY_HEADERS.renewAfter] = result.device.certificate.renewAfter;
      answer(res, 200, { projectId, certificateId, deviceId, deviceName, provisioning, certificate: result.device.certificate }, headers, 'OK');
      return;
    }
    answer(res, 200, { projectId, certificateId, deviceId, deviceName, provisioning }, headers, 'OK');
  };

  const server = createServer({ maxHeaderSize: MAX_REQUEST_HEADER_BYTES }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (isServiceError(error) && !res.headersSent) {
        const body = problemDocument(error, path);
        fail(res, body['status'] as number, body, error.code);
        return;
      }
      options.logger.log('error', 'forward-auth request failed', { error: (error as Error).stack ?? String(error) });
      // Fails closed: the proxy refuses the request (nginx answers 500 for any status but 2xx, 401, 403).
      if (!res.headersSent) fail(res, 500, problemBody(500, 'INTERNAL_ERROR', 'the request failed; it is logged'), 'INTERNAL_ERROR');
      else res.destroy();
    });
  });
  server.keepAliveTimeout = FORWARD_AUTH_KEEP_ALIVE_MS;
  const url = await listen(server, options.port, options.host, 'http');
  return {
    url,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
