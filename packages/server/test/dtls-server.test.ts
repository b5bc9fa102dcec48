import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeDevice, makeRoot } from '@fleetpki/test-support';
import { DtlsServer, type DtlsHandshakeFailure, type DtlsPeer } from '../src/gateway/dtls-server.js';
import { TestDtlsClient } from './helpers/dtls-client.js';

const HANDSHAKE_DEADLINE_MS = 600;
const HALF_OPEN_PER_ADDRESS = 2;

describe('DTLS server sessions: bounds, deadline, a reconnect from the same port', () => {
  const root = makeRoot('/CN=DTLS Test Root');
  const serverCert = makeDevice(root, '/O=acme/CN=dtls-server');
  const device = makeDevice(root, '/O=acme/CN=dtls-client');
  let server: DtlsServer;
  let port: number;
  const sessions: DtlsPeer[] = [];
  const failures: DtlsHandshakeFailure[] = [];
  const clients: TestDtlsClient[] = [];
  const client = (): Promise<TestDtlsClient> => TestDtlsClient.opened(device.pem, device.keyPem, port, clients);

  before(async () => {
    server = new DtlsServer({
      certChainPem: serverCert.pem,
      keyPem: serverCert.keyPem,
      lookupPsk: () => Promise.resolve(null),
      limits: { handshakeTimeoutMs: HANDSHAKE_DEADLINE_MS, maxHalfOpenPerAddress: HALF_OPEN_PER_ADDRESS },
    });
    server.on('session', (peer) => sessions.push(peer));
    server.on('handshakeFailed', (failure) => failures.push(failure));
    port = (await server.listen(0, '127.0.0.1')).port;
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.close();
  });

  it('a full handshake hands the chain the client sent to the caller', async () => {
    const c = await client();
    assert.equal(await c.handshake(), 'established');
    const peer = sessions.at(-1) as DtlsPeer;
    assert.equal(peer.chain.length, 1);
    assert.ok(peer.chain[0]?.equals(Buffer.from(device.pem.replace(/-----[^-]+-----|\s/g, ''), 'base64')));
    assert.equal(peer.cipher, 'ECDHE-ECDSA-AES128-GCM-SHA256');
  });

  it(`holds at most ${HALF_OPEN_PER_ADDRESS} half-open handshakes per address, drops them at the deadline, then accepts again`, async () => {
    const droppedBefore = server.dropped.halfOpen;
    const stalled = await Promise.all([client(), client(), client()]);
    await Promise.all(stalled.map((c) => c.stallAfterCookie()));
    assert.equal(server.halfOpenCount, HALF_OPEN_PER_ADDRESS);
    assert.ok(server.dropped.halfOpen > droppedBefore, 'the third cookie-bearing hello was dropped at the bound');
    await new Promise((r) => setTimeout(r, HANDSHAKE_DEADLINE_MS + 300));
    assert.equal(server.halfOpenCount, 0);
    assert.equal(failures.filter((f) => f.kind === 'deadline').length, HALF_OPEN_PER_ADDRESS);
    assert.equal(await (await client()).handshake(), 'established');
  });

  it('a new handshake from the port of an established session replaces it (RFC 6347 §4.2.8)', async () => {
    const c = await client();
    assert.equal(await c.handshake(), 'established');
    const first = sessions.at(-1) as DtlsPeer;
    const count = server.sessionCount;
    assert.equal(await c.handshake(), 'established');
    const second = sessions.at(-1) as DtlsPeer;
    assert.notEqual(second, first);
    assert.equal(first.closed, true);
    assert.equal(second.port, first.port);
    assert.equal(server.sessionCount, count);
  });
});
