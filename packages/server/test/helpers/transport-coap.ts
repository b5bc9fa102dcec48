import { coapGet, holdDtlsSession } from './coap-clients.js';
import { closedAfter, type DeviceClient, type Transport } from './transport.js';

/** libcoap's coap-client (Debian libcoap3-bin) in one of its TLS builds, asking GET /v1/device/identity. */
function coapClient(flavour: 'openssl' | 'gnutls', sendsIntermediates: boolean): DeviceClient {
  return {
    name: `coap-client-${flavour}`,
    sendsIntermediates,
    async attempt(gateway, files, env = {}) {
      const r = await coapGet(flavour, gateway.urls.coapUrl, '/v1/device/identity', files ? { files } : undefined, gateway.serverCaFile, env);
      return { admitted: r.code === '2.05', status: r.code, body: r.body, output: r.text };
    },
  };
}

/**
 * CoAP over DTLS 1.2. Both libcoap builds, for they differ: the OpenSSL one sends the leaf alone,
 * the GnuTLS one the whole certificate file. A session is held with openssl s_client.
 */
export const COAP: Transport = {
  name: 'coap',
  answersWithBody: true,
  refusalStatus: (code) => (code === 'NO_CLIENT_CERTIFICATE' ? '4.01' : '4.03'),
  clients: [coapClient('openssl', false), coapClient('gnutls', true)],
  async hold(gateway, files) {
    const session = await holdDtlsSession(gateway.urls.coapUrl, ['-cert', files.cert, '-key', files.key, '-CAfile', gateway.serverCaFile]);
    return { identity: undefined, closedAfter: (since, timeoutMs) => closedAfter(session.exited, since, timeoutMs), end: session.end };
  },
};
