import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { makeDevice, makeRoot, type Issued } from '@fleetpki/test-support';
import { gatewayOf, startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { writeDeviceFiles } from './helpers/device-clients.js';
import { eventually } from './helpers/eventually.js';
import { DIALECTS } from './helpers/stores.js';
import type { GatewayUnderTest } from './helpers/transport.js';
import { TRANSPORTS } from './helpers/transports.js';

/** Issue 5: switching a device or its CA off ends its open connections within one second. */
const DEADLINE_MS = 1000;

for (const dialect of DIALECTS) {
  for (const transport of TRANSPORTS) {
    describe(`connections end when their device or CA is switched off, over ${transport.name} [${dialect}]`, () => {
      let api: TestApi;
      let gateway: GatewayUnderTest;
      let root: Issued;
      let rootId: string;
      before(async () => {
        api = await startTestApi(dialect);
        assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Acme', slug: 'acme' } })).status, 201);
        gateway = await gatewayOf(api);
        root = makeRoot('/CN=Enforced Root');
        rootId = (await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(root.pem) } })).body['id'] as string;
      });
      after(() => api.close());

      /** A device of `issuer` with an open session, once the server has admitted and registered it. */
      const connected = async (id: string, issuer: Issued = root) => {
        const cert = makeDevice(issuer, `/O=acme/CN=${id}`);
        const files = writeDeviceFiles(api.store.dataDir, id, cert.pem, cert.keyPem);
        const held = await transport.hold(gateway, files);
        // HTTPS answers the identity on the held connection itself.
        if (held.identity) assert.equal(held.identity['certificateId'], id);
        // Over CoAP the client sees only its handshake: the device appears once the server has
        // provisioned it, and its connection is registered once authenticated (an audit event says so).
        const [device] = await eventually(
          async () => (await api.call('GET', `/v1/projects/acme/devices?certificateId=${id}`)).body['list'] as { id: string }[],
          (list) => list.length === 1,
        );
        assert.ok(device, `device ${id} was provisioned`);
        await eventually(
          async () => (await api.call('GET', `/v1/projects/acme/audit?targetId=${device.id}`)).body['list'] as { action: string }[],
          (list) => list.some((e) => e.action === 'device.authenticate'),
        );
        return { held, files, deviceId: device.id };
      };

      it('disabling the device', async () => {
        const { held, deviceId } = await connected('enf-device-off');
        const since = Date.now();
        assert.equal((await api.call('PATCH', `/v1/projects/acme/devices/${deviceId}`, { json: { enabled: false } })).status, 200);
        assert.ok((await held.closedAfter(since, 3000)) <= DEADLINE_MS);
      });

      it('deleting the device, while another device of the project stays connected', async () => {
        const { held, deviceId } = await connected('enf-device-gone');
        const { held: bystander } = await connected('enf-bystander');
        const since = Date.now();
        assert.equal((await api.call('DELETE', `/v1/projects/acme/devices/${deviceId}`)).status, 204);
        assert.ok((await held.closedAfter(since, 3000)) <= DEADLINE_MS);
        await assert.rejects(bystander.closedAfter(Date.now(), 700), /still open/);
        bystander.end();
      });

      it('disabling the CA its chain rests on, then refusing it anew (CA_DISABLED)', async () => {
        const { held, files } = await connected('enf-ca-off');
        const since = Date.now();
        assert.equal((await api.call('PATCH', `/v1/projects/acme/certificates/${rootId}`, { json: { enabled: false } })).status, 200);
        assert.ok((await held.closedAfter(since, 3000)) <= DEADLINE_MS);
        const refused = await transport.clients[0].attempt(gateway, files);
        assert.equal(refused.status, transport.refusalStatus('CA_DISABLED'), refused.output);
        assert.equal(refused.body?.['code'], transport.answersWithBody ? 'CA_DISABLED' : undefined, refused.output);
        assert.equal((await api.call('PATCH', `/v1/projects/acme/certificates/${rootId}`, { json: { enabled: true } })).status, 200);
      });

      it('deleting the CA its chain rests on', async () => {
        const other = makeRoot('/CN=Short-lived Root');
        const otherId = (await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(other.pem) } })).body['id'] as string;
        const { held } = await connected('enf-ca-gone', other);
        const since = Date.now();
        assert.equal((await api.call('DELETE', `/v1/projects/acme/certificates/${otherId}`)).status, 204);
        assert.ok((await held.closedAfter(since, 3000)) <= DEADLINE_MS);
      });
    });
  }

  describe(`one new certificate connecting fifty times at once over HTTPS [${dialect}]`, () => {
    let api: TestApi;
    let serverCa: string;
    let root: Issued;
    before(async () => {
      api = await startTestApi(dialect);
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Acme', slug: 'acme' } })).status, 201);
      serverCa = (await api.call('GET', '/v1/server-ca', { key: null })).text;
      root = makeRoot('/CN=Enforced Root');
      assert.equal((await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(root.pem) } })).status, 201);
    });
    after(() => api.close());

    it('fifty parallel first connections of one new certificate create exactly one device', async () => {
      const cert = makeDevice(root, '/O=acme/CN=stampede-1');
      const port = Number(new URL(api.server.gatewayUrl).port);
      const answers = await Promise.all(
        Array.from(
          { length: 50 },
          () =>
            new Promise<{ status: number; body: Record<string, string> }>((resolve, reject) => {
              const req = request({ host: 'localhost', port, path: '/v1/device/identity', ca: serverCa, cert: cert.pem, key: cert.keyPem, agent: false }, (res) => {
                let data = '';
                res.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
                res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) as Record<string, string> }));
              });
              req.on('error', reject);
              req.end();
            }),
        ),
      );
      assert.deepEqual(answers.filter((a) => a.status !== 200), []);
      assert.equal(new Set(answers.map((a) => a.body['deviceId'])).size, 1);
      const outcomes = answers.map((a) => a.body['provisioning']);
      assert.equal(outcomes.filter((o) => o === 'created').length, 1);
      assert.equal(outcomes.filter((o) => o === 'existing').length, 49);
      const listed = await api.call('GET', '/v1/projects/acme/devices?certificateId=stampede-1');
      assert.equal(listed.body['total'], 1);
    });
  });
}
