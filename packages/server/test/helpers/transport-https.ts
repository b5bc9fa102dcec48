import { readFileSync } from 'node:fs';
import { curlIdentity, holdConnection } from './device-clients.js';
import type { Transport } from './transport.js';

/** Device HTTPS: curl asks GET /v1/device/identity; a session is held with Node's TLS client on a keep-alive connection. */
export const HTTPS: Transport = {
  name: 'https',
  answersWithBody: true,
  refusalStatus: (code) => (code === 'NO_CLIENT_CERTIFICATE' ? '401' : '403'),
  clients: [
    {
      name: 'curl',
      sendsIntermediates: true,
      async attempt(gateway, files, env = {}) {
        const r = await curlIdentity(gateway.urls.gatewayUrl, gateway.serverCaFile, files, env);
        return { admitted: r.status === 200, status: String(r.status), body: r.body, output: `curl exited ${r.curlExit}, HTTP ${r.status} ${JSON.stringify(r.body)}` };
      },
    },
  ],
  async hold(gateway, files) {
    const read = (file: string): string => readFileSync(file, 'utf8');
    const held = await holdConnection(gateway.urls.gatewayUrl, read(gateway.serverCaFile), read(files.cert), read(files.key));
    if (typeof held.identity['code'] === 'string') {
      held.end();
      throw new Error(`the gateway refused the device: ${held.identity['code']}`);
    }
    return { identity: held.identity, closedAfter: held.closedAfter, end: held.end };
  },
};
