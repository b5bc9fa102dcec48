import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { makeDevice, makeRoot, type Issued } from '@fleetpki/test-support';
import { gatewayOf, startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { writeDeviceFiles } from './helpers/device-clients.js';
import { eventually } from './helpers/eventually.js';
import { DIALECTS } from './helpers/stores.js';
import type { GatewayUnderTest } from './helpers/transport.js';
import { HTTPS } from './helpers/transport-https.js';

const fingerprintOf = (issued: Issued): string => createHash('sha256').update(issued.cert.der).digest('hex');

/** DESIGN §8: the inventory of device certificates, and a CA's blast radius read from it. */
for (const dialect of DIALECTS) {
  describe(`the device-certificate inventory and a CA's blast radius [${dialect}]`, () => {
    let api: TestApi;
    let gateway: GatewayUnderTest;
    const rootA = makeRoot('/CN=Inventory Root A');
    const rootB = makeRoot('/CN=Inventory Root B');
    let idA: string;
    let idB: string;
    const certs: Record<string, Issued> = {};

    /** Connects `cert` over HTTPS and waits until the inventory lists it. */
    const connect = async (name: string, cert: Issued): Promise<void> => {
      const files = writeDeviceFiles(api.store.dataDir, name, cert.pem, cert.keyPem);
      const attempt = await HTTPS.clients[0].attempt(gateway, files);
      assert.equal(attempt.admitted, true, attempt.output);
      await eventually(async () => (await api.call('GET', `/v1/projects/acme/device-certificates/${fingerprintOf(cert)}`)).status, (s) => s === 200);
    };

    before(async () => {
      api = await startTestApi(dialect);
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Acme', slug: 'acme' } })).status, 201);
      gateway = await gatewayOf(api);
      idA = (await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(rootA.pem) } })).body['id'] as string;
      idB = (await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(rootB.pem) } })).body['id'] as string;
      certs['d1-old'] = makeDevice(rootA, '/O=acme/CN=d1', { days: 10 });
      certs['d2'] = makeDevice(rootA, '/O=acme/CN=d2', { days: 40 });
      certs['d3'] = makeDevice(rootB, '/O=acme/CN=d3', { days: 20 });
      certs['d1-new'] = makeDevice(rootB, '/O=acme/CN=d1', { days: 30 });
      for (const name of ['d1-old', 'd2', 'd3']) await connect(name, certs[name] as Issued);
      // d1 moves to a certificate under B: its latest accepted certificate chains to B now.
      await new Promise((resolve) => setTimeout(resolve, 20));
      await connect('d1-new', certs['d1-new'] as Issued);
    });
    after(() => api.close());

    it('records each accepted certificate with its facts, once', async () => {
      const one = await api.call('GET', `/v1/projects/acme/device-certificates/${fingerprintOf(certs['d2'] as Issued)}`);
      assert.equal(one.status, 200);
      assert.equal(one.body['subject'], '/O=acme/CN=d2');
      assert.equal(one.body['issuer'], '/CN=Inventory Root A');
      assert.equal(one.body['caId'], idA);
      assert.equal(one.body['source'], 'seen');
      assert.equal(one.body['status'], 'active');
      assert.equal(one.body['notAfter'], (certs['d2'] as Issued).cert.notAfter.toISOString());
      assert.equal(typeof one.body['firstSeenAt'], 'string');
      // Connecting again moves last-seen, adds no row.
      await HTTPS.clients[0].attempt(gateway, writeDeviceFiles(api.store.dataDir, 'd2', (certs['d2'] as Issued).pem, (certs['d2'] as Issued).keyPem));
      const all = await api.call('GET', '/v1/projects/acme/device-certificates');
      assert.equal(all.body['total'], 4);
    });

    it('lists soonest to expire first, with filters; per device', async () => {
      const all = await api.call('GET', '/v1/projects/acme/device-certificates');
      assert.deepEqual(
        all.body['list'].map((c: { subject: string }) => c.subject),
        ['/O=acme/CN=d1', '/O=acme/CN=d3', '/O=acme/CN=d1', '/O=acme/CN=d2'],
      );
      const underA = await api.call('GET', `/v1/projects/acme/device-certificates?caId=${idA}`);
      assert.equal(underA.body['total'], 2);
      const soon = await api.call('GET', `/v1/projects/acme/device-certificates?expiresBefore=${encodeURIComponent(new Date(Date.now() + 15 * 86_400_000).toISOString())}`);
      assert.deepEqual(soon.body['list'].map((c: { fingerprintSha256: string }) => c.fingerprintSha256), [fingerprintOf(certs['d1-old'] as Issued)]);
      assert.equal((await api.call('GET', '/v1/projects/acme/device-certificates?expiresBefore=yesterday')).body['code'], 'VALIDATION_FAILED');
      const d1 = (await api.call('GET', '/v1/projects/acme/devices?certificateId=d1')).body['list'][0] as { id: string };
      const ofD1 = await api.call('GET', `/v1/projects/acme/devices/${d1.id}/certificates`);
      assert.equal(ofD1.body['total'], 2);
      assert.equal((await api.call('GET', '/v1/projects/acme/devices/nope/certificates')).body['code'], 'DEVICE_NOT_FOUND');
      assert.equal((await api.call('GET', `/v1/projects/acme/device-certificates/${'0'.repeat(64)}`)).body['code'], 'DEVICE_CERTIFICATE_NOT_FOUND');
    });

    it('a CA’s blast radius counts each device once, by its latest certificate', async () => {
      const a = await api.call('GET', `/v1/projects/acme/certificates/${idA}/devices`);
      assert.equal(a.status, 200, a.text);
      assert.equal(a.body['deviceCount'], 1);
      assert.equal(a.body['certificateCount'], 2);
      assert.deepEqual(a.body['devices']['list'].map((d: { name: string }) => d.name), ['d2']);
      const b = await api.call('GET', `/v1/projects/acme/certificates/${idB}/devices`);
      assert.equal(b.body['deviceCount'], 2);
      assert.deepEqual(b.body['devices']['list'].map((d: { name: string }) => d.name), ['d1', 'd3']);
      assert.equal((await api.call('GET', '/v1/projects/acme/certificates/nope/devices')).body['code'], 'CA_NOT_FOUND');
      // A revoked certificate no longer counts.
      assert.equal((await api.call('POST', '/v1/projects/acme/revocations', { json: { certificates: [{ fingerprintSha256: fingerprintOf(certs['d2'] as Issued) }], reason: 'superseded' } })).status, 200);
      assert.equal((await api.call('GET', `/v1/projects/acme/certificates/${idA}/devices`)).body['deviceCount'], 0);
    });
  });
}
