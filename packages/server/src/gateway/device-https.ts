import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { DeviceAuthResult } from '../domain/identity/index.js';
import { problemBody, problemDocument } from '../edge/problem.js';
import { PROBLEM_STATUS } from '../edge/problem-status.js';
import { isServiceError } from '../service-error.js';
import { MAX_CSR_BYTES, renewDeviceCertificate } from '../domain/issuance/index.js';
import { estRoute, handleEst } from './est-handlers.js';
import { CMP_PATH, handleCmp } from '../edge/cmp-transfer.js';
import { readBoundedBody } from '../edge/request-body.js';
import { listen } from '../listen.js';
import { deviceProblem } from './device-problem.js';
import { admitHandshakes } from './handshake-admission.js';
import { tlsClientErrorHandler } from './handshake-failure.js';
import type { DeviceTransportOptions } from './device-transport.js';
import { peerChain } from './peer-chain.js';
import { trackSockets } from './socket-tracker.js';
import { ConnectionVerdicts, REFUSED_CONNECTION_GRACE_MS } from './connection-verdicts.js';
import type { DeviceTokenIssuer } from '../domain/tokens/index.js';
import { answerJwks, answerTokenRequest, DEVICE_TOKEN_PATH, GATEWAY_JWKS_PATH } from './token-endpoint.js';

/**
 * How long an idle device connection stays open between requests. Devices poll or hold their
 * connection; a long keep-alive spares them a full handshake (and the platform a signature) per
 * request, and idle connections are cheap (measured by npm run bench:gateway).
 */
export const DEVICE_KEEP_ALIVE_MS = 120_000;

/** The longest a connection without a device identity may stay open while an EST enrollment runs on it. */
export const REFUSED_CONNECTION_MAX_MS = 30_000;

export interface DeviceHttpsOptions extends DeviceTransportOptions {
  /** The root the gateway's TLS certificate chains to, DER, when known: EST cacerts includes it. */
  readonly serverRootDer: Buffer | undefined;
  /** Device identity tokens: `POST /v1/token` and the JWKS (RFC 8705). */
  readonly tokens: DeviceTokenIssuer;
}


export interface DeviceHttps {
  readonly url: string;
  readonly server: HttpsServer;
  close(): Promise<void>;
}

/**
 * Device HTTPS with client certificates (DESIGN §5): each TLS connection is authenticated once,
 * right after its handshake, by the device-identity service; requests on it wait for that
 * verdict. The connection is registered so disabling its device or CA ends it.
 */
export async function startDeviceHttps(options: DeviceHttpsOptions): Promise<DeviceHttps> {
  const verdicts = new ConnectionVerdicts(options.registry);
  const enrolling = new WeakSet<object>();
  /** Ends a refused connection once its grace is over and no enrollment is running on it. */
  const endRefused = (socket: TLSSocket, waitedMs: number): void => {
    if (enrolling.has(socket) && waitedMs < REFUSED_CONNECTION_MAX_MS) {
      setTimeout(() => endRefused(socket, waitedMs + REFUSED_CONNECTION_GRACE_MS), REFUSED_CONNECTION_GRACE_MS).unref();
      return;
    }
    socket.destroy();
  };
  const refusal = (res: ServerResponse, result: Extract<DeviceAuthResult, { ok: false }>, path: string): void => {
    const problem = deviceProblem(result, path);
    res.setHeader('connection', 'close'); // a refused device gets its answer, then the connection ends
    send(res, problem.status, 'application/problem+json', problem.body);
  };
  const verdictOf = (req: IncomingMessage): Promise<DeviceAuthResult> => verdicts.of(req.socket);

  // Plain handlers, no framework layers per request: GET /v1/device/identity is on the hot path of every device.
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && path === '/v1/device/identity') {
      const result = await verdictOf(req);
      if (!result.ok) return refusal(res, result, path);
      const { projectId, certificateId, deviceId, deviceName, provisioning } = result.device;
      if (result.device.credential !== 'certificate') {
        send(res, 200, 'application/json', { projectId, certificateId, deviceId, deviceName, provisioning });
        return;
      }
      // DESIGN §8: the renewal window rides on every identity answer, and as a header for clients that read only headers.
      const { certificate } = result.device;
      send(res, 200, 'application/json', { projectId, certificateId, deviceId, deviceName, provisioning, certificate }, { 'fleetpki-renew-after': certificate.renewAfter });
      return;
    }
    if (req.method === 'POST' && path === DEVICE_TOKEN_PATH) return answerTokenRequest(req, res, verdictOf(req), options.tokens, path);
    if (req.method === 'GET' && path === GATEWAY_JWKS_PATH) return answerJwks(res, options.tokens);
    if (req.method === 'POST' && path === '/v1/csr') {
      // Golioth's rotation path: DER PKCS#10 in, DER certificate out, over the device's own connection.
      const result = await verdictOf(req);
      if (!result.ok) return refusal(res, result, path);
      const issued = await renewDeviceCertificate(options.pki, result.device, await readBoundedBody(req, MAX_CSR_BYTES), 'rotation');
      res.writeHead(200, { 'content-type': 'application/pkix-cert', 'content-length': issued.der.length });
      res.end(issued.der);
      return;
    }
    const cmp = CMP_PATH.exec(path);
    if (cmp) {
      // As EST's: a bootstrap connection has no certificate, and its enrollment must not be cut off.
      enrolling.add(req.socket);
      try {
        await handleCmp(options.pki, req, res, cmp[1]);
      } finally {
        enrolling.delete(req.socket);
      }
      return;
    }
    const est = estRoute(path);
    if (est) {
      // EST bootstrap connections carry no device certificate, so their verdict is a refusal and
      // its grace timer runs: an enrollment in progress (a remote signer may take seconds) is
      // not cut off, or its one-time token would be spent on an answer that never arrives.
      enrolling.add(req.socket);
      try {
        await handleEst(options.pki, req, res, est.operation, est.label, path, verdictOf, refusal, options.serverRootDer);
      } finally {
        enrolling.delete(req.socket);
      }
      return;
    }
    send(res, 404, 'application/problem+json', problemBody(404, 'ROUTE_NOT_FOUND', `no route ${req.method ?? ''} ${path}`, path));
  };

  const server = createHttpsServer(options.tls, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (isServiceError(error) && !res.headersSent) {
        const status = PROBLEM_STATUS[error.code];
        if (status === 401) res.setHeader('www-authenticate', 'Basic realm="fleetpki EST", charset="UTF-8"');
        // The rest of an oversize body is never read: the connection cannot carry another request.
        if (error.code === 'BODY_TOO_LARGE') res.setHeader('connection', 'close');
        send(res, status, 'application/problem+json', problemDocument(error, path));
        return;
      }
      options.logger.log('error', 'device request failed', { error: (error as Error).stack ?? String(error) });
      if (!res.headersSent) send(res, 500, 'application/problem+json', problemBody(500, 'INTERNAL_ERROR', 'the request failed; it is logged'));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = DEVICE_KEEP_ALIVE_MS;
  const sockets = trackSockets(server);
  admitHandshakes(server, options.maxPendingHandshakes, () => options.admissionRejected('https'));
  server.on('secureConnection', (socket: TLSSocket) => {
    verdicts.track(socket, options.authenticator.authenticate(peerChain(socket), { transport: 'https', remoteAddress: socket.remoteAddress }), {
      admit: (result) => {
        if (!socket.destroyed) options.registry.add(result.device, 'https', socket, socket);
      },
      // Time to ask for its refusal and read it; a refused peer does not hold a connection.
      end: () => endRefused(socket, REFUSED_CONNECTION_GRACE_MS),
      failed: (error) => {
        options.logger.log('error', 'device authentication failed unexpectedly', { error: (error as Error).stack ?? String(error) });
        socket.destroy();
      },
    });
  });
  server.on('tlsClientError', tlsClientErrorHandler(options.authenticator, 'https', options.logger));

  const url = await listen(server, options.port, options.host, 'https');
  return {
    url,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        sockets.destroyAll();
      }),
  };
}

export function send(res: ServerResponse, status: number, contentType: string, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
