import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { makeDevice, makeRoot } from '@fleetpki/test-support';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { holdConnection, type HeldConnection } from './helpers/device-clients.js';
import { TestDtlsClient } from './helpers/dtls-client.js';

const LIMIT = 3;
const HANDSHAKE_DEADLINE_MS = 1500;

/** A TCP connection that sends nothing: a handshake the server has accepted and waits on. */
async function silentConnection(port: number): Promise<{ socket: Socket; closedWithin(ms: number): Promise<boolean> }> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    closedWithin: (ms) => Promise.race([closed.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref())]),
  };
}

/**
 * Issue 19, 3: with `maxPendingHandshakes` handshakes in progress on a transport, the next
 * connection is closed as it is accepted (and counted in fleetpki_device_admission_rejected_total),
 * never left to time out; established connections do not count against the bound.
 */
describe('handshake admission: a bounded number of TLS handshakes in progress, then a fast refusal', () => {
  let api: TestApi;
  let serverCaPem = '';
  const root = makeRoot('/CN=Admission Root');
  const metric = async (transport: string): Promise<number> => {
    const text = (await api.call('GET', '/metrics')).text;
    return Number(new RegExp(`^fleetpki_device_admission_rejected_total\\{transport="${transport}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  };

  before(async () => {
    api = await startTestApi('sqlite', { serve: { maxPendingHandshakes: LIMIT, coapLimits: { handshakeTimeoutMs: HANDSHAKE_DEADLINE_MS } } });
    assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'acme', slug: 'acme' } })).status, 201);
    assert.equal((await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(root.pem) } })).status, 201);
    serverCaPem = (await api.call('GET', '/v1/server-ca')).text;
  });
  after(() => api.close());

  for (const transport of ['https', 'mqtt'] as const) {
    it(`${transport}: the connection past ${LIMIT} silent handshakes is closed at once and counted; the silent ones are not touched`, async () => {
      const port = Number(new URL(transport === 'https' ? api.server.gatewayUrl : api.server.mqttUrl).port);
      const before = await metric(transport);
      const pending = await Promise.all(Array.from({ length: LIMIT }, () => silentConnection(port)));
      const refused = await silentConnection(port);
      assert.equal(await refused.closedWithin(1000), true, 'refused at once, not left to time out');
      assert.equal(await metric(transport), before + 1);
      for (const held of pending) assert.equal(await held.closedWithin(50), false, 'a handshake in progress keeps its connection');
      for (const held of pending) held.socket.destroy();
      // Room again once they are gone.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const next = await silentConnection(port);
      assert.equal(await next.closedWithin(300), false);
      next.socket.destroy();
    });
  }

  it(`coap: the ClientHello past ${LIMIT} half-open DTLS handshakes is dropped and counted; a device gets in once they end`, async () => {
    const device = makeDevice(root, '/O=acme/CN=dtls-admission');
    const port = Number(new URL(api.server.coapUrl).port);
    const clients: TestDtlsClient[] = [];
    const client = (): Promise<TestDtlsClient> => TestDtlsClient.opened(device.pem, device.keyPem, port, clients);
    try {
      const before = await metric('coap');
      const stalled = await Promise.all(Array.from({ length: LIMIT }, () => client()));
      await Promise.all(stalled.map((c) => c.stallAfterCookie()));
      assert.equal(api.server.coapStats().halfOpen, LIMIT);
      const refused = await client();
      assert.equal(await refused.handshake(400), 'handshaking', 'no answer past the bound: the hello was dropped');
      assert.ok((await metric('coap')) > before);
      for (const c of stalled) c.close();
      refused.close();
      // The stalled handshakes end at their deadline (shortened below); then there is room again.
      await new Promise((resolve) => setTimeout(resolve, HANDSHAKE_DEADLINE_MS + 300));
      assert.equal(api.server.coapStats().halfOpen, 0);
      assert.equal(await (await client()).handshake(), 'established');
    } finally {
      for (const c of clients) c.close();
    }
  });

  it('established connections do not count: with more devices connected than the bound, handshakes still get in', async () => {
    const held: HeldConnection[] = [];
    try {
      for (let i = 0; i < LIMIT + 2; i++) {
        const device = makeDevice(root, `/O=acme/CN=held-${i}`);
        const connection = await holdConnection(api.server.gatewayUrl, serverCaPem, device.pem, device.keyPem);
        assert.equal(connection.identity['certificateId'], `held-${i}`);
        held.push(connection);
      }
      const port = Number(new URL(api.server.gatewayUrl).port);
      const pending = await Promise.all(Array.from({ length: LIMIT }, () => silentConnection(port)));
      for (const connection of pending) assert.equal(await connection.closedWithin(50), false);
      const refused = await silentConnection(port);
      assert.equal(await refused.closedWithin(1000), true);
      for (const connection of pending) connection.socket.destroy();
    } finally {
      for (const connection of held) connection.end();
    }
  });
});
