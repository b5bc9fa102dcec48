import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeDevice, makeIntermediate, makeRoot, openssl, opensslFingerprint, opensslNotAfter } from '@fleetpki/test-support';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { DIALECTS } from './helpers/stores.js';

const DAY_MS = 24 * 60 * 60 * 1000;

for (const dialect of DIALECTS) {
  describe(`CA certificates API [${dialect}]`, () => {
    let api: TestApi;
    before(async () => {
      api = await startTestApi(dialect);
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Acme', slug: 'acme' } })).status, 201);
    });
    after(() => api.close());

    it('stores the seed’s openssl-made root and lists it with openssl’s subject, not-after and fingerprint', async () => {
      const dir = api.store.dataDir;
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key.pem'], dir);
      openssl(['req', '-x509', '-new', '-nodes', '-key', 'ca.key.pem', '-sha256', '-subj', '/CN=Root CA', '-days', '10', '-out', 'ca.crt.pem'], dir);
      const created = await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(readFileSync(join(dir, 'ca.crt.pem'))), certType: 'root' } });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body['certType'], 'root');
      assert.equal(created.body['enabled'], true);
      // 10 days left: accepted, with the expiry warning.
      assert.deepEqual(created.body['warnings'].map((w: { code: string }) => w.code), ['CA_EXPIRES_SOON']);
      const listed = await api.call('GET', '/v1/projects/acme/certificates');
      assert.equal(listed.status, 200);
      assert.equal(listed.body['total'], 1);
      const content = listed.body['list'][0].certificateContent;
      assert.equal(content.subject, '/CN=Root CA');
      assert.equal(content.issuer, '/CN=Root CA');
      assert.equal(content.fingerprintSha256, opensslFingerprint('ca.crt.pem', dir));
      assert.equal(new Date(content.notAfter).getTime(), opensslNotAfter('ca.crt.pem', dir).getTime());
      assert.equal(content.publicKeyAlgorithm, 'EC P-256');
      assert.equal(content.signatureAlgorithm, 'ecdsa-with-SHA256');
      for (const field of ['serialNumber', 'notBefore', 'keyUsages']) assert.ok(field in content, field);
      // The stored certificate comes back byte for byte.
      const pem = await api.call('GET', `/v1/projects/acme/certificates/${created.body['id']}?format=pem`);
      assert.equal(pem.text, readFileSync(join(dir, 'ca.crt.pem'), 'utf8'));
    });

    it('answers a second upload of the same certificate with 409 and the existing id', async () => {
      const root = makeRoot('/CN=Twice');
      const first = await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(root.pem) } });
      assert.equal(first.status, 201);
      assert.deepEqual(first.body['warnings'], []);
      const again = await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(root.cert.der) } });
      assert.equal(again.status, 409);
      assert.equal(again.body['code'], 'CA_DUPLICATE');
      assert.equal(again.body['existingId'], first.body['id']);
    });

    it('detects the type: self-issued is root, otherwise intermediate; DER is accepted', async () => {
      const root = makeRoot('/CN=Typed Root');
      const intermediate = makeIntermediate(root, '/CN=Typed Issuing');
      const r = await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(root.cert.der) } });
      const i = await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(intermediate.cert.der) } });
      assert.equal(r.body['certType'], 'root');
      assert.equal(i.body['certType'], 'intermediate');
      assert.equal(i.body['certificateContent'].issuer, '/CN=Typed Root');
    });

    it('uploads a bundle certificate by certificate and reports each result (207)', async () => {
      const root = makeRoot('/CN=Bundle Root');
      const intermediate = makeIntermediate(root, '/CN=Bundle Issuing');
      const device = makeDevice(intermediate, '/O=acme/CN=dev-1');
      const expired = makeRoot('/CN=Bundle Expired', { from: new Date(Date.now() - 100 * DAY_MS), days: 10 });
      const bundle = root.pem + device.pem + intermediate.pem + expired.pem;
      const response = await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(bundle) } });
      assert.equal(response.status, 207, response.text);
      assert.equal(response.body['created'], 2);
      assert.equal(response.body['refused'], 2);
      const results = response.body['results'] as { index: number; status: number; certificate?: { certType: string }; problem?: { code: string } }[];
      assert.deepEqual(
        results.map((r) => [r.index, r.status, r.certificate?.certType ?? r.problem?.code]),
        [
          [0, 201, 'root'],
          [1, 422, 'CA_NOT_A_CA'],
          [2, 201, 'intermediate'],
          [3, 422, 'CA_EXPIRED'],
        ],
      );
    });

    it('refuses a CA whose keyUsage lacks keyCertSign', async () => {
      const dir = api.store.dataDir;
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ku.key.pem'], dir);
      openssl(['req', '-x509', '-new', '-key', 'ku.key.pem', '-subj', '/CN=No KeyCertSign', '-days', '100', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,digitalSignature', '-out', 'ku.crt.pem'], dir);
      const response = await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(readFileSync(join(dir, 'ku.crt.pem'))) } });
      assert.equal(response.status, 422);
      assert.equal(response.body['code'], 'CA_KEY_CERT_SIGN_MISSING');
    });

    it('disables, enables and deletes a certificate, 404 afterwards', async () => {
      const root = makeRoot('/CN=Lifecycle');
      const created = await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(root.pem) } });
      const path = `/v1/projects/acme/certificates/${created.body['id']}`;
      const disabled = await api.call('PATCH', path, { json: { enabled: false } });
      assert.equal(disabled.status, 200);
      assert.equal(disabled.body['enabled'], false);
      assert.equal((await api.call('GET', path)).body['enabled'], false);
      assert.equal((await api.call('PATCH', path, { json: { enabled: true } })).body['enabled'], true);
      assert.equal((await api.call('DELETE', path)).status, 204);
      const gone = await api.call('GET', path);
      assert.equal(gone.status, 404);
      assert.equal(gone.body['code'], 'CA_NOT_FOUND');
    });

    it('keeps projects apart: a CA of one project is not listed in another', async () => {
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Beta', slug: 'beta' } })).status, 201);
      const root = makeRoot('/CN=Shared Root');
      assert.equal((await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(root.pem) } })).status, 201);
      // The same certificate may be uploaded to another project: duplicates are per project.
      assert.equal((await api.call('POST', '/v1/projects/beta/certificates', { json: { certFile: base64(root.pem) } })).status, 201);
      const beta = await api.call('GET', '/v1/projects/beta/certificates');
      assert.equal(beta.body['total'], 1);
    });
  });
}
