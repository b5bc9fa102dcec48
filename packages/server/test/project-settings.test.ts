import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildCrl, prepareIssuer } from '@fleetpki/pki';
import { makeDevice, makeRoot, type Issued } from '@fleetpki/test-support';
import { gatewayOf, startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { writeDeviceFiles } from './helpers/device-clients.js';
import { eventually } from './helpers/eventually.js';
import { DIALECTS } from './helpers/stores.js';
import type { GatewayUnderTest } from './helpers/transport.js';
import { HTTPS } from './helpers/transport-https.js';

/** DESIGN §8's settings with their defaults, as a new project shows them. */
const DEFAULTS = {
  staleCrl: 'apply',
  crlValiditySeconds: 604_800,
  rotationGracePeriodSeconds: 3600,
  supersedeOnNewerCertificate: false,
  renewAtLifetimeFraction: 0.67,
  renewalJitterSeconds: 0,
  expiryAlertDays: [30, 7, 1],
  tokenLifetimeSeconds: 600,
  tokenAudiences: [],
  allowServerKeygen: false,
};

const DAY_MS = 86_400_000;

/** DESIGN §8 project settings, and the first one read at the gateway: staleCrl. */
for (const dialect of DIALECTS) {
  describe(`project settings; staleCrl at the gateway [${dialect}]`, () => {
    let api: TestApi;
    let gateway: GatewayUnderTest;
    const root: Issued = makeRoot('/CN=Stale Root');
    let rootId: string;
    before(async () => {
      api = await startTestApi(dialect, { serve: { crlFetch: { intervalMs: 200 } } });
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Acme', slug: 'acme' } })).status, 201);
      gateway = await gatewayOf(api);
      rootId = (await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(root.pem) } })).body['id'] as string;
    });
    after(() => api.close());

    it('a project shows its settings with the defaults filled in', async () => {
      const r = await api.call('GET', '/v1/projects/acme');
      assert.deepEqual(r.body['settings'], DEFAULTS);
    });

    const refusals: { name: string; settings: unknown; code: string }[] = [
      { name: 'an unknown setting', settings: { noSuchSetting: true }, code: 'VALIDATION_FAILED' },
      { name: 'an unknown staleCrl value', settings: { staleCrl: 'ignore' }, code: 'VALIDATION_FAILED' },
      { name: 'a CRL validity under an hour', settings: { crlValiditySeconds: 60 }, code: 'VALIDATION_FAILED' },
      { name: 'a CRL validity that is no whole number', settings: { crlValiditySeconds: 3600.5 }, code: 'VALIDATION_FAILED' },
      { name: 'a token lifetime under a minute', settings: { tokenLifetimeSeconds: 59 }, code: 'VALIDATION_FAILED' },
      { name: 'a token lifetime over a day', settings: { tokenLifetimeSeconds: 86_401 }, code: 'VALIDATION_FAILED' },
      { name: 'a token audience twice', settings: { tokenAudiences: ['https://a.example', 'https://a.example'] }, code: 'VALIDATION_FAILED' },
      { name: 'a token audience with a space', settings: { tokenAudiences: ['https://a.example/x y'] }, code: 'VALIDATION_FAILED' },
      { name: 'an empty token audience', settings: { tokenAudiences: [''] }, code: 'VALIDATION_FAILED' },
      { name: 'more than twenty token audiences', settings: { tokenAudiences: Array.from({ length: 21 }, (_, i) => `aud-${i}`) }, code: 'VALIDATION_FAILED' },
    ];
    for (const r of refusals) {
      it(`refuses ${r.name} and changes nothing`, async () => {
        const answer = await api.call('PATCH', '/v1/projects/acme', { json: { settings: r.settings } });
        assert.equal(answer.status, 400, answer.text);
        assert.equal(answer.body['code'], r.code);
        assert.deepEqual((await api.call('GET', '/v1/projects/acme')).body['settings'], DEFAULTS);
      });
    }

    it('a stale CRL applies its entries only, until staleCrl is refuse: then its devices are refused (CRL_STALE), and admitted again when it is apply', async () => {
      const now = Date.now();
      const crl = buildCrl(prepareIssuer(root.cert, root.key), { number: 1n, thisUpdate: new Date(now - 2 * DAY_MS), nextUpdate: new Date(now - DAY_MS), entries: [] });
      const put = await api.call('PUT', `/v1/projects/acme/certificates/${rootId}/crl`, { json: { crlFile: crl.toString('base64') } });
      assert.equal(put.status, 200, put.text);
      assert.equal(put.body['stale'], true);
      const device = makeDevice(root, '/O=acme/CN=stale-1');
      const files = writeDeviceFiles(api.store.dataDir, 'stale-1', device.pem, device.keyPem);
      assert.equal((await HTTPS.clients[0].attempt(gateway, files)).admitted, true);
      const changed = await api.call('PATCH', '/v1/projects/acme', { json: { settings: { staleCrl: 'refuse' } } });
      assert.equal(changed.status, 200, changed.text);
      assert.equal(changed.body['settings']['staleCrl'], 'refuse');
      const refused = await HTTPS.clients[0].attempt(gateway, files);
      assert.equal(refused.status, '403', refused.output);
      assert.equal(refused.body?.['code'], 'CRL_STALE');
      assert.equal(refused.body?.['caId'], rootId);
      assert.equal(refused.body?.['certIndex'], 0);
      const audit = await api.call('GET', '/v1/projects/acme/audit?action=project.update&perPage=1');
      assert.deepEqual(audit.body['list'][0].details, { settings: { staleCrl: 'refuse' } });
      assert.equal((await api.call('PATCH', '/v1/projects/acme', { json: { settings: { staleCrl: 'apply' } } })).status, 200);
      assert.equal((await HTTPS.clients[0].attempt(gateway, files)).admitted, true);
    });

    it('a CRL going stale while a device is connected: reported once (certificate.crl-stale), and under refuse the connection ends', async () => {
      assert.equal((await api.call('PATCH', '/v1/projects/acme', { json: { settings: { staleCrl: 'refuse' } } })).status, 200);
      const now = Date.now();
      const soon = buildCrl(prepareIssuer(root.cert, root.key), { number: 2n, thisUpdate: new Date(now - 1000), nextUpdate: new Date(now + 2500), entries: [] });
      const put = await api.call('PUT', `/v1/projects/acme/certificates/${rootId}/crl`, { json: { crlFile: soon.toString('base64') } });
      assert.equal(put.status, 200, put.text);
      assert.equal(put.body['stale'], false);
      const device = makeDevice(root, '/O=acme/CN=stale-2');
      const held = await HTTPS.hold(gateway, writeDeviceFiles(api.store.dataDir, 'stale-2', device.pem, device.keyPem));
      assert.equal(held.identity?.['certificateId'], 'stale-2');
      // Ends once the CRL's nextUpdate passes and a server reports it (every 200 ms here).
      const ended = await held.closedAfter(Date.now(), 8000);
      // X.509 times are whole seconds: the CRL's nextUpdate is the one it carries, as the server shows it.
      const nextUpdate = Date.parse(put.body['nextUpdate'] as string);
      assert.ok(Date.now() >= nextUpdate, `ended ${ended} ms in, before the CRL's nextUpdate ${put.body['nextUpdate']}`);
      // Each stale CRL once: the earlier test's (number 1) and this one (number 2).
      const reported = await eventually(
        async () => (await api.call('GET', '/v1/projects/acme/audit?action=certificate.crl-stale')).body['list'] as { targetId: string; details: { crlNumber: string } }[],
        (list) => list.some((e) => e.details.crlNumber === '2'),
      );
      assert.deepEqual(reported?.map((e) => [e.targetId, e.details.crlNumber]).sort(), [
        [rootId, '1'],
        [rootId, '2'],
      ]);
      assert.equal((await api.call('PATCH', '/v1/projects/acme', { json: { settings: { staleCrl: 'apply' } } })).status, 200);
    });

    it('crlValiditySeconds sets how long a managed CA’s CRL is valid', async () => {
      assert.equal((await api.call('PATCH', '/v1/projects/acme', { json: { settings: { crlValiditySeconds: 7200 } } })).status, 200);
      const ca = await api.call('POST', '/v1/projects/acme/pki/cas', { json: { mode: 'generate' } });
      assert.equal(ca.status, 201, ca.text);
      const der = Buffer.from(await (await fetch(`${api.server.httpUrl}/v1/pki/cas/${ca.body['id']}/crl`)).arrayBuffer());
      const { parseCrl } = await import('@fleetpki/pki');
      const parsed = parseCrl(der);
      assert.equal((parsed.nextUpdate as Date).getTime() - parsed.thisUpdate.getTime(), 7_200_000);
    });
  });
}
