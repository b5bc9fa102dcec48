import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { buildCrl, prepareIssuer } from '@fleetpki/pki';
import { makeDevice, makeRoot } from '@fleetpki/test-support';
import { gatewayOf, startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { writeDeviceFiles } from './helpers/device-clients.js';
import { eventually } from './helpers/eventually.js';
import { DIALECTS } from './helpers/stores.js';
import { HTTPS } from './helpers/transport-https.js';

const DAY_MS = 86_400_000;

/** DESIGN §8: a CA certificate's CRL fetched from its crlUrl, under an SSRF guard and a lease. */
for (const dialect of DIALECTS) {
  describe(`CRLs fetched from a CA certificate's crlUrl [${dialect}]`, () => {
    let api: TestApi;
    let crlServer: Server;
    let crlBase: string;
    let served: Buffer | undefined;
    let fetches = 0;
    const root = makeRoot('/CN=Fetched Root');
    const revoked = makeDevice(root, '/O=acme/CN=fetched-gone');
    const kept = makeDevice(root, '/O=acme/CN=fetched-kept');
    let rootId: string;

    before(async () => {
      crlServer = createServer((req, res) => {
        fetches++;
        if (!served) {
          res.writeHead(500).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(served);
      });
      await new Promise<void>((resolve) => crlServer.listen(0, '127.0.0.1', resolve));
      crlBase = `http://127.0.0.1:${(crlServer.address() as AddressInfo).port}`;
      api = await startTestApi(dialect, { serve: { allowPrivateCrlUrls: true, crlFetch: { intervalMs: 100, leaseMs: 1000 } } });
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Acme', slug: 'acme' } })).status, 201);
      rootId = (await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(root.pem) } })).body['id'] as string;
    });
    after(async () => {
      await api.close();
      await new Promise((resolve) => crlServer.close(resolve));
    });

    it('only the admin key sets a crlUrl, and only http(s)', async () => {
      const projectKey = (await api.call('POST', '/v1/projects/acme/api-keys', { json: {} })).body['key'] as string;
      const byProject = await api.call('PATCH', `/v1/projects/acme/certificates/${rootId}`, { json: { crlUrl: `${crlBase}/ca.crl` }, key: projectKey });
      assert.equal(byProject.status, 403);
      assert.equal(byProject.body['code'], 'ADMIN_KEY_REQUIRED');
      const ftp = await api.call('PATCH', `/v1/projects/acme/certificates/${rootId}`, { json: { crlUrl: 'ftp://example.com/ca.crl' } });
      assert.equal(ftp.status, 422);
      assert.equal(ftp.body['code'], 'CRL_URL_REFUSED');
      assert.equal((await api.call('GET', `/v1/projects/acme/certificates/${rootId}`)).body['crlUrl'], null);
    });

    it('a failing URL is retried with backoff, its error kept; then the CRL it serves goes in force and its serials are refused', async () => {
      const set = await api.call('PATCH', `/v1/projects/acme/certificates/${rootId}`, { json: { crlUrl: `${crlBase}/ca.crl` } });
      assert.equal(set.status, 200, set.text);
      assert.equal(set.body['crlUrl'], `${crlBase}/ca.crl`);
      const failed = await eventually(
        () => api.server.store.db.selectFrom('crl_fetches').selectAll().executeTakeFirst(),
        (row) => (row?.failures ?? 0) >= 1,
      );
      assert.match(failed?.last_error ?? '', /HTTP 500/);
      // The backoff holds the next attempt: no second fetch within the lease.
      const afterFailure = fetches;
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(fetches, afterFailure);
      const now = Date.now();
      served = buildCrl(prepareIssuer(root.cert, root.key), { number: 5n, thisUpdate: new Date(now - 1000), nextUpdate: new Date(now + DAY_MS), entries: [{ serialNumber: revoked.cert.serialNumber, revocationDate: new Date(now - 1000), reason: 1 }] });
      const inForce = await eventually(
        async () => (await api.call('GET', `/v1/projects/acme/certificates/${rootId}/crl`)).body,
        (body) => body['crlNumber'] === '5',
        10_000,
      );
      assert.equal(inForce?.['entryCount'], 1);
      const gateway = await gatewayOf(api);
      const refused = await HTTPS.clients[0].attempt(gateway, writeDeviceFiles(api.store.dataDir, 'fetched-gone', revoked.pem, revoked.keyPem));
      assert.equal(refused.body?.['code'], 'CERT_REVOKED');
      assert.equal((await HTTPS.clients[0].attempt(gateway, writeDeviceFiles(api.store.dataDir, 'fetched-kept', kept.pem, kept.keyPem))).admitted, true);
      const audit = await api.call('GET', '/v1/projects/acme/audit?action=certificate.crl-upload&perPage=1');
      assert.equal(audit.body['list'][0].actor, 'server:crl-fetch');
    });

    it('a CRL in force is not fetched again before three quarters of its validity, nor more than once per lease', async () => {
      const before = fetches;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal(fetches, before, 'a fresh CRL is not fetched again');
    });
  });
}

describe('the CRL URL guard without --allow-private-crl-urls', () => {
  let api: TestApi;
  let rootId: string;
  before(async () => {
    api = await startTestApi('sqlite');
    assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Acme', slug: 'acme' } })).status, 201);
    rootId = (await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(makeRoot('/CN=Guarded Root').pem) } })).body['id'] as string;
  });
  after(() => api.close());

  for (const url of ['http://127.0.0.1/ca.crl', 'http://localhost:8080/ca.crl', 'http://[::1]/ca.crl', 'http://169.254.169.254/latest/meta-data', 'http://10.1.2.3/ca.crl', 'http://user:pw@example.com/ca.crl']) {
    it(`refuses ${url} (CRL_URL_REFUSED) and stores nothing`, async () => {
      const r = await api.call('PATCH', `/v1/projects/acme/certificates/${rootId}`, { json: { crlUrl: url } });
      assert.equal(r.status, 422, r.text);
      assert.equal(r.body['code'], 'CRL_URL_REFUSED');
      assert.equal((await api.call('GET', `/v1/projects/acme/certificates/${rootId}`)).body['crlUrl'], null);
    });
  }
});
