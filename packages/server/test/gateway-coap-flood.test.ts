import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeDevice, makeRoot } from '@fleetpki/test-support';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { coapGet } from './helpers/coap-clients.js';
import { writeDeviceFiles } from './helpers/device-clients.js';
import { floodClientHellos } from './helpers/dtls-flood.js';

/** Bounds of the flood: count and time, both; it stops at whichever comes first. */
const FLOOD_HELLOS = 30_000;
const FLOOD_SOURCE_PORTS = 64;
const FLOOD_MAX_MS = 10_000;
const DURING_FLOOD_WAIT_S = 25;
/** RSS may move with the allocator and the GC; state kept per ClientHello would be far larger (30,000 × an SSL object ≈ 100+ MiB). */
const RSS_GROWTH_LIMIT = 32 * 1024 * 1024;

describe('CoAP/DTLS under a flood of spoofed ClientHellos (loopback, bounded)', () => {
  let api: TestApi;
  const root = makeRoot('/CN=Flood Root');

  before(async () => {
    api = await startTestApi('sqlite');
    assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'acme', slug: 'acme' } })).status, 201);
    assert.equal((await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(root.pem) } })).status, 201);
  });
  after(() => api.close());

  it('answers each with a stateless HelloVerifyRequest, keeps no state, memory stays flat, and a real client still connects during the flood', async (t) => {
    const dir = api.store.dataDir;
    const serverCa = join(dir, 'server-ca.pem');
    writeFileSync(serverCa, (await api.call('GET', '/v1/server-ca', { key: null })).text);
    const cert = makeDevice(root, '/O=acme/CN=flood-survivor');
    const files = writeDeviceFiles(dir, 'flood-survivor', cert.pem, cert.keyPem);
    const port = Number(new URL(api.server.coapUrl.replace(/^coaps:/, 'https:')).port);
    // Warm up (first handshake, first provisioning) so the baseline holds what any server holds.
    assert.equal((await coapGet('openssl', api.server.coapUrl, '/v1/device/identity', { files }, serverCa)).code, '2.05');
    const rssBefore = process.memoryUsage().rss;
    const flood = floodClientHellos(port, FLOOD_HELLOS, FLOOD_SOURCE_PORTS, FLOOD_MAX_MS);
    await new Promise((r) => setTimeout(r, 300));
    // The flood fills the server's socket buffer, so the client's first flights may be dropped
    // by the kernel: it retransmits (RFC 6347 §4.2.4, 1 s doubling), as a real device does, and
    // is given time for several rounds on a loaded 2-core machine.
    const during = await coapGet('openssl', api.server.coapUrl, '/v1/device/identity', { files }, serverCa, {}, DURING_FLOOD_WAIT_S);
    const result = await flood;
    const rssAfter = process.memoryUsage().rss;
    const after = await coapGet('gnutls', api.server.coapUrl, '/v1/device/identity', { files }, serverCa);
    t.diagnostic(`flood: ${result.sent} ClientHellos in ${Math.round(result.ms)} ms, ${result.helloVerifyRequests} HelloVerifyRequests, RSS ${((rssAfter - rssBefore) / 1024 / 1024).toFixed(1)} MiB`);
    assert.equal(during.code, '2.05', during.text);
    assert.equal(during.body['certificateId'], 'flood-survivor');
    assert.equal(after.code, '2.05', after.text);
    assert.ok(result.sent >= 5_000, `the flooder sent ${result.sent} ClientHellos in ${Math.round(result.ms)} ms`);
    // The flooder outruns the server, and the kernel drops what overflows the socket buffer; what
    // the server did read, it answered without keeping anything.
    assert.ok(result.helloVerifyRequests >= 1_000, `${result.helloVerifyRequests} HelloVerifyRequests for ${result.sent} ClientHellos`);
    assert.deepEqual(api.server.coapStats(), { sessions: 0, halfOpen: 0, blockBytes: 0 });
    assert.ok(rssAfter - rssBefore < RSS_GROWTH_LIMIT, `RSS grew by ${((rssAfter - rssBefore) / 1024 / 1024).toFixed(1)} MiB`);
  });
});
