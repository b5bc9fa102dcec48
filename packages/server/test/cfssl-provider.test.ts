import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { opensslAsync } from '@fleetpki/test-support';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { startCfssl, type CfsslServer } from './helpers/cfssl.js';
import { curl } from './helpers/curl.js';
import { curlIdentity } from './helpers/device-clients.js';
import { DIALECTS } from './helpers/stores.js';

/** A project whose CA fleetpki does not hold: certificates signed by a real `cfssl serve` started here. */
describe('cfssl remote signer', () => {
  let cfsslDir: string;
  let cfssl: CfsslServer;
  before(async () => {
    cfsslDir = mkdtempSync(join(tmpdir(), 'fleetpki-cfssl-'));
    cfssl = await startCfssl(cfsslDir, { expiryHours: 24 * 30 });
  });
  after(async () => {
    await cfssl.stop();
    rmSync(cfsslDir, { recursive: true, force: true });
  });

  for (const dialect of DIALECTS) {
    describe(`[${dialect}]`, () => {
      let api: TestApi;
      let dir: string;
      let serverCa: string;
      const ssl = (args: readonly string[]) => opensslAsync(args, dir);

      before(async () => {
        api = await startTestApi(dialect);
        dir = api.store.dataDir;
        serverCa = join(dir, 'server-ca.pem');
        writeFileSync(serverCa, (await api.call('GET', '/v1/server-ca', { key: null })).text);
        assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'remote', slug: 'remote' } })).status, 201);
      });
      after(() => api.close());

      it('mode cfssl takes the CA certificate from cfssl and makes it a trust anchor', async () => {
        const r = await api.call('POST', '/v1/projects/remote/pki/cas', { json: { mode: 'cfssl', cfssl: { url: cfssl.url }, profile: { maxDays: 31, defaultDays: 30 } } });
        assert.equal(r.status, 201, r.text);
        assert.equal(r.body['status'], 'active');
        assert.equal(r.body['keyStorage'], 'remote');
        assert.equal(r.body['certificate'], readFileSync(cfssl.caCertFile, 'utf8'));
        const anchors = await api.call('GET', '/v1/projects/remote/certificates');
        assert.equal(anchors.body['list'][0].id, r.body['caCertificateId']);
        assert.equal(anchors.body['list'][0].certType, 'root');
      });

      it('issues through cfssl with the enforced subject; the certificate authenticates at the gateway', async () => {
        await ssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'r1.key.pem']);
        // The CSR asks for another identity and a SAN: the pipeline's subject wins, the SAN is dropped.
        await ssl(['req', '-new', '-key', 'r1.key.pem', '-subj', '/O=remote/CN=probe-1', '-addext', 'subjectAltName=DNS:evil.example', '-out', 'r1.csr.pem']);
        const r = await api.call('POST', '/v1/projects/remote/pki/issue', { json: { csr: base64(readFileSync(join(dir, 'r1.csr.pem'))) } });
        assert.equal(r.status, 201, r.text);
        writeFileSync(join(dir, 'r1.crt.pem'), r.body['certificate']);
        writeFileSync(join(dir, 'cfssl-ca.crt.pem'), readFileSync(cfssl.caCertFile));
        assert.match((await ssl(['verify', '-CAfile', 'cfssl-ca.crt.pem', '-purpose', 'sslclient', 'r1.crt.pem'])).toString('utf8'), /OK/);
        const text = (await ssl(['x509', '-in', 'r1.crt.pem', '-noout', '-subject', '-issuer', '-ext', 'subjectAltName'])).toString('utf8');
        assert.match(text, /subject=O = remote, CN = probe-1/);
        assert.match(text, /issuer=CN = cfssl Device CA/);
        assert.doesNotMatch(text, /evil\.example/);
        const identity = await curlIdentity(api.server.gatewayUrl, serverCa, { cert: join(dir, 'r1.crt.pem'), key: join(dir, 'r1.key.pem') });
        assert.equal(identity.status, 200);
        assert.equal(identity.body['projectId'], 'remote');
        assert.equal(identity.body['certificateId'], 'probe-1');
        const audit = await api.call('GET', '/v1/projects/remote/audit?perPage=10');
        const issued = audit.body['list'].find((e: { action: string }) => e.action === 'pki.certificate.issue');
        assert.equal(issued?.details.certificateId, 'probe-1');
      });

      it('rotation over POST /v1/csr goes through cfssl too', async () => {
        await ssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'r1b.key.pem']);
        await ssl(['req', '-new', '-key', 'r1b.key.pem', '-subj', '/O=other/CN=someone', '-outform', 'DER', '-out', 'r1b.csr.der']);
        const port = new URL(api.server.gatewayUrl).port;
        const r = await curl(['--cacert', serverCa, '--cert', join(dir, 'r1.crt.pem'), '--key', join(dir, 'r1.key.pem'), '--data-binary', `@${join(dir, 'r1b.csr.der')}`, `https://localhost:${port}/v1/csr`]);
        assert.equal(r.status, 200, r.body.toString('utf8'));
        writeFileSync(join(dir, 'r1b.crt.der'), r.body);
        const text = (await ssl(['x509', '-in', 'r1b.crt.der', '-inform', 'DER', '-noout', '-subject', '-issuer'])).toString('utf8');
        assert.match(text, /subject=O = remote, CN = probe-1/);
        assert.match(text, /issuer=CN = cfssl Device CA/);
      });

      it('a cfssl signer is set up only with the admin key (the server calls its URL and trusts its CA)', async () => {
        const key = await api.call('POST', '/v1/projects/remote/api-keys', { json: { name: 'line' } });
        assert.equal(key.status, 201, key.text);
        const r = await api.call('POST', '/v1/projects/remote/pki/cas', { key: key.body['key'] as string, json: { mode: 'cfssl', cfssl: { url: cfssl.url } } });
        assert.equal(r.status, 403);
        assert.equal(r.body['code'], 'ADMIN_KEY_REQUIRED');
      });

      it('the cfssl CA already uploaded as the project\'s manufacturer CA is not made its issuing CA: 409 CA_DUPLICATE, no anchor added', async () => {
        assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'factory', slug: 'factory' } })).status, 201);
        const uploaded = await api.call('POST', '/v1/projects/factory/certificates', { json: { certFile: base64(readFileSync(cfssl.caCertFile)), purpose: 'manufacturer' } });
        assert.equal(uploaded.status, 201, uploaded.text);
        const made = await api.call('POST', '/v1/projects/factory/pki/cas', { json: { mode: 'cfssl', cfssl: { url: cfssl.url } } });
        assert.equal(made.status, 409, made.text);
        assert.equal(made.body['code'], 'CA_DUPLICATE');
        const listed = await api.call('GET', '/v1/projects/factory/certificates');
        assert.equal(listed.body['total'], 1);
        assert.equal((await api.call('GET', '/v1/projects/factory/pki/cas')).body['total'], 0);
      });

      for (const profile of ['ca-capable', 'server-too']) {
        it(`a certificate from cfssl's "${profile}" profile is refused as SIGNER_RESPONSE_INVALID and nothing is recorded`, async () => {
          const slug = `wide-${profile}`;
          assert.equal((await api.call('POST', '/v1/projects', { json: { name: slug, slug } })).status, 201);
          const made = await api.call('POST', `/v1/projects/${slug}/pki/cas`, { json: { mode: 'cfssl', cfssl: { url: cfssl.url, profile }, profile: { maxDays: 31, defaultDays: 30 } } });
          assert.equal(made.status, 201, made.text);
          await ssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${profile}.key.pem`]);
          await ssl(['req', '-new', '-key', `${profile}.key.pem`, '-subj', `/O=${slug}/CN=w1`, '-out', `${profile}.csr.pem`]);
          const r = await api.call('POST', `/v1/projects/${slug}/pki/issue`, { json: { csr: base64(readFileSync(join(dir, `${profile}.csr.pem`))) } });
          assert.equal(r.status, 502, r.text);
          assert.equal(r.body['code'], 'SIGNER_RESPONSE_INVALID');
          const projectRow = await api.server.store.db.selectFrom('projects').select('id').where('slug', '=', slug).executeTakeFirstOrThrow();
          const count = await api.server.store.db.selectFrom('issued_certificates').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectRow.id).executeTakeFirstOrThrow();
          assert.equal(Number(count.n), 0);
        });
      }

      it('fewer days asked than the cfssl profile gives: the longer certificate is refused, nothing recorded', async () => {
        // cfssl's sign API takes no validity (its profile's 30 days apply); a caller asking for 3 must not get 30.
        const before = await api.server.store.db.selectFrom('issued_certificates').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        await ssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'short.key.pem']);
        await ssl(['req', '-new', '-key', 'short.key.pem', '-subj', '/O=remote/CN=short-1', '-out', 'short.csr.pem']);
        const r = await api.call('POST', '/v1/projects/remote/pki/issue', { json: { csr: base64(readFileSync(join(dir, 'short.csr.pem'))), days: 3 } });
        assert.equal(r.status, 502, r.text);
        assert.equal(r.body['code'], 'SIGNER_RESPONSE_INVALID');
        const after = await api.server.store.db.selectFrom('issued_certificates').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        assert.equal(Number(after.n), Number(before.n));
        const full = await api.call('POST', '/v1/projects/remote/pki/issue', { json: { csr: base64(readFileSync(join(dir, 'short.csr.pem'))), days: 30 } });
        assert.equal(full.status, 201, full.text);
      });

      it('a cfssl profile longer than the project allows is refused as SIGNER_RESPONSE_INVALID, and a dead signer as SIGNER_UNAVAILABLE', async () => {
        assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'strict', slug: 'strict' } })).status, 201);
        const made = await api.call('POST', '/v1/projects/strict/pki/cas', { json: { mode: 'cfssl', cfssl: { url: cfssl.url }, profile: { maxDays: 7, defaultDays: 7 } } });
        assert.equal(made.status, 201, made.text);
        await ssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 's1.key.pem']);
        await ssl(['req', '-new', '-key', 's1.key.pem', '-subj', '/O=strict/CN=s1', '-out', 's1.csr.pem']);
        const r = await api.call('POST', '/v1/projects/strict/pki/issue', { json: { csr: base64(readFileSync(join(dir, 's1.csr.pem'))) } });
        assert.equal(r.status, 502);
        assert.equal(r.body['code'], 'SIGNER_RESPONSE_INVALID');
        const dead = await api.call('POST', '/v1/projects/strict/pki/cas', { json: { mode: 'cfssl', cfssl: { url: 'http://127.0.0.1:1' } } });
        assert.equal(dead.status, 502);
        assert.equal(dead.body['code'], 'SIGNER_UNAVAILABLE');
        const count = await api.server.store.db.selectFrom('issued_certificates').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', (await api.server.store.db.selectFrom('projects').select('id').where('slug', '=', 'strict').executeTakeFirstOrThrow()).id).executeTakeFirstOrThrow();
        assert.equal(Number(count.n), 0);
      });
    });
  }
});
