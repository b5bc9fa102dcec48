import { silentLogger, startServer, type RunningServer, type ServeOptions } from '@fleetpki/server';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestStore, type Dialect, type TestStore } from './stores.js';
import type { GatewayUnderTest } from './transport.js';

export interface ApiResponse {
  readonly status: number;
  readonly contentType: string;
  // Tests read fields by name; the shapes are asserted there.
  readonly body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly text: string;
}

/** A running server on a fresh store, and a small client for its API. */
export interface TestApi {
  readonly server: RunningServer;
  readonly store: TestStore;
  readonly adminKey: string;
  call(method: string, path: string, options?: RequestOptions & { key?: string | null }): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface RequestOptions {
  readonly json?: unknown;
  readonly rawBody?: string | Buffer;
  readonly headers?: Record<string, string>;
}

/** One request to a management API (any server's URL), its answer parsed when it is JSON. */
export async function apiRequest(method: string, url: string, key: string | null, options: RequestOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (key !== null) headers['x-api-key'] = key;
  let body: string | Buffer | undefined = options.rawBody;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  const contentType = response.headers.get('content-type') ?? '';
  return { status: response.status, contentType, text, body: contentType.includes('json') && text ? JSON.parse(text) : {} };
}

export async function startTestApi(dialect: Dialect, options: { now?: () => Date; coapLimits?: ServeOptions['coapLimits']; serve?: Partial<ServeOptions> } = {}): Promise<TestApi> {
  const store = await createTestStore(dialect);
  const server = await startServer({ dataDir: store.dataDir, database: store.database, httpPort: 0, gatewayPort: 0, mqttPort: 0, coapPort: 0, coapLimits: options.coapLimits, logger: silentLogger, announce: () => {}, now: options.now, ...options.serve });
  const adminKey = server.adminApiKey;
  if (!adminKey) throw new Error('a fresh store must create an admin key');
  return {
    server,
    store,
    adminKey,
    call: (method, path, opts = {}) => apiRequest(method, `${server.httpUrl}${path}`, opts.key === undefined ? adminKey : opts.key, opts),
    async close() {
      await server.close();
      await store.cleanup();
    },
  };
}

/**
 * The device gateways of a test server as a device finds them: their URLs, and the platform
 * root written where real clients read their CA file from.
 */
export async function gatewayOf(api: TestApi): Promise<GatewayUnderTest> {
  const serverCaFile = join(api.store.dataDir, 'server-ca.pem');
  writeFileSync(serverCaFile, (await api.call('GET', '/v1/server-ca', { key: null })).text);
  return { urls: api.server, serverCaFile };
}
