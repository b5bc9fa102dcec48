import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket, TlsOptions } from 'node:tls';
import { createAdaptorServer, type HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import type { DeviceAuthenticator, DeviceAuthResult } from '../domain/device-authentication.js';
import type { Logger } from '../logger.js';
import type { ConnectionEnforcer } from './connection-enforcer.js';
import type { ConnectionRegistry } from './connection-registry.js';
import { deviceProblemResponse } from './device-problem.js';
import { recordHandshakeFailure } from './handshake-failure.js';
import { peerChain } from './peer-chain.js';

export interface DeviceHttpsOptions {
  readonly authenticator: DeviceAuthenticator;
  readonly registry: ConnectionRegistry;
  readonly enforcer: ConnectionEnforcer;
  readonly tls: TlsOptions;
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
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
  const verdicts = new WeakMap<TLSSocket, Promise<DeviceAuthResult>>();
  const app = new Hono<{ Bindings: HttpBindings }>();

  app.get('/v1/device/identity', async (c) => {
    const verdict = verdicts.get(c.env.incoming.socket as TLSSocket);
    if (!verdict) return deviceProblemResponse('NO_CLIENT_CERTIFICATE', 'this connection was not authenticated', c.req.path);
    const result = await verdict;
    if (!result.ok) return deviceProblemResponse(result.code, result.message, c.req.path);
    const { projectId, certificateId, deviceId, deviceName, provisioning } = result.device;
    return c.json({ projectId, certificateId, deviceId, deviceName, provisioning });
  });
  app.notFound((c) => new Response(JSON.stringify({ status: 404, code: 'ROUTE_NOT_FOUND', detail: `no route ${c.req.method} ${c.req.path}` }), { status: 404, headers: { 'content-type': 'application/problem+json' } }));

  const server = createAdaptorServer({ fetch: app.fetch, createServer: createHttpsServer, serverOptions: options.tls }) as HttpsServer;
  server.on('secureConnection', (socket: TLSSocket) => {
    const verdict = options.authenticator.authenticate(peerChain(socket), { transport: 'https', remoteAddress: socket.remoteAddress });
    verdicts.set(socket, verdict);
    verdict.then(
      (result) => {
        if (!result.ok || socket.destroyed) return;
        const unregister = options.registry.add({ device: result.device, close: () => socket.destroy() });
        options.enforcer.admitted(result.device.projectKey, result.device.authGeneration);
        socket.once('close', unregister);
      },
      (error: unknown) => {
        options.logger.log('error', 'device authentication failed unexpectedly', { error: (error as Error).stack ?? String(error) });
        socket.destroy();
      },
    );
  });
  server.on('tlsClientError', (error: Error & { code?: string }, socket: TLSSocket) => {
    options.logger.log('info', 'device TLS handshake failed', { error: error.message, remoteAddress: socket.remoteAddress ?? null });
    recordHandshakeFailure(options.authenticator, error, socket, 'https', options.logger);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `https://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
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
