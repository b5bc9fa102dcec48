import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestApi, type TestApi } from './helpers/api.js';
import { makeDevice, makeRoot } from '@fleetpki/test-support';
import { base64 } from './helpers/base64.js';
import { coapGet } from './helpers/coap-clients.js';
import { curlIdentity, writeDeviceFiles } from './helpers/device-clients.js';
import { eventually } from './helpers/eventually.js';

const DAY_MS = 86_400_000;

/**
 * A refused device learns the facts of its refusal, not only the code: an expired certificate's
 * problem document says when it expired and which certificate of the path it is, over HTTPS and
 * CoAP alike, and the audit event records the same facts.
 */
describe('device refusals carry their code’s facts', () => {
  let api: TestApi;
  let serverCa: string;
  const root = makeRoot('/CN=Facts Root', { from: new Date(Date.now() - 800 * DAY_MS), days: 3650 });
  const expired = makeDevice(root, '/O=facts/CN=expired-7', { from: new Date(Date.now() - 400 * DAY_MS), days: 30 });

  before(async () => {
    api = await startTestApi('sqlite');
    assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'facts', slug: 'facts' } })).status, 201);
    assert.equal((await api.call('POST', '/v1/projects/facts/certificates', { json: { certFile: base64(root.pem) } })).status, 201);
    serverCa = join(api.store.dataDir, 'server-ca.pem');
    writeFileSync(serverCa, (await api.call('GET', '/v1/server-ca', { key: null })).text);
  });
  after(() => api.close());

  const expectedNotAfter = (): string => new Date(Math.floor((Date.now() - 370 * DAY_MS) / 1000) * 1000).toISOString();

  it('HTTPS: CERT_EXPIRED with notAfter, at and certIndex as problem members, and in the audit event', async () => {
    const files = writeDeviceFiles(api.store.dataDir, 'expired-7', expired.pem, expired.keyPem);
    const r = await curlIdentity(api.server.gatewayUrl, serverCa, files);
    assert.equal(r.status, 403);
    assert.equal(r.body['code'], 'CERT_EXPIRED');
    assert.equal(r.body['certIndex'], 0);
    assert.equal(typeof r.body['notAfter'], 'string');
    assert.ok(Math.abs(Date.parse(r.body['notAfter'] as string) - Date.parse(expectedNotAfter())) < 5_000, `notAfter ${String(r.body['notAfter'])}`);
    assert.ok(Date.parse(r.body['at'] as string) > Date.parse(r.body['notAfter'] as string));
    const event = await eventually(
      async () => (await api.call('GET', '/v1/projects/facts/audit?perPage=1')).body['list'][0] as { action: string; details: Record<string, any> } | undefined, // eslint-disable-line @typescript-eslint/no-explicit-any
      (e) => e?.action === 'device.authentication-failed',
    );
    assert.equal(event?.details['code'], 'CERT_EXPIRED');
    assert.deepEqual(event?.details['facts'], { notAfter: r.body['notAfter'], at: event?.details['facts']?.at, certIndex: 0 });
  });

  it('CoAP: the same facts in the 4.03 JSON problem', async () => {
    const files = writeDeviceFiles(api.store.dataDir, 'expired-7-coap', expired.pem, expired.keyPem);
    const r = await coapGet('openssl', api.server.coapUrl, '/v1/device/identity', { files }, serverCa);
    assert.equal(r.code, '4.03', r.text);
    assert.equal(r.body['code'], 'CERT_EXPIRED');
    assert.equal(r.body['certIndex'], 0);
    assert.ok(Math.abs(Date.parse(r.body['notAfter'] as string) - Date.parse(expectedNotAfter())) < 5_000, `notAfter ${String(r.body['notAfter'])}`);
  });
});
