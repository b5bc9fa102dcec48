import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openssl, opensslStatus, tempDir, type TempDir } from '@fleetpki/test-support';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { DIALECTS } from './helpers/stores.js';

/**
 * DESIGN §8 (issue 16, 3): a managed CA publishes revocation, judged by openssl: `openssl ocsp`
 * against the responder (good, then revoked with its reason), and `openssl verify -crl_check`
 * against the CRL the server serves, before and after a revocation.
 */
for (const dialect of DIALECTS) {
  describe(`a managed CA's CRL and OCSP responder, with openssl [${dialect}]`, () => {
    let api: TestApi;
    let tmp: TempDir;
    let caId: string;
    let serial: string;
    // The URLs the issued certificates carry (CRL distribution point, AIA OCSP): the tests use those.
    let crlUrl: string;
    let ocspFromCert: string;
    const ocspUrl = (): string => ocspFromCert;
    /** openssl as a child that does not stop this process's event loop (the server answers here): all it printed. */
    const opensslOutput = (args: readonly string[]): Promise<string> =>
      new Promise((resolve) => execFile('openssl', args, { cwd: tmp.dir, timeout: 15_000 }, (_error, stdout, stderr) => resolve(`${stdout}${stderr}`)));
    /** `openssl ocsp` as an operator runs it, with a nonce. */
    const ocsp = (cert: string): Promise<string> => opensslOutput(['ocsp', '-issuer', 'issuing.pem', '-CAfile', 'root.pem', '-cert', cert, '-url', ocspUrl(), '-resp_text']);
    const fetchCrl = async (name: string): Promise<void> => {
      const r = await fetch(`${crlUrl}?format=pem`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), 'application/x-pem-file');
      writeFileSync(join(tmp.dir, name), Buffer.from(await r.arrayBuffer()));
    };

    before(async () => {
      tmp = tempDir('managed-revocation');
      api = await startTestApi(dialect);
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Acme', slug: 'acme' } })).status, 201);
      const ca = await api.call('POST', '/v1/projects/acme/pki/cas', { json: { mode: 'generate' } });
      assert.equal(ca.status, 201, ca.text);
      caId = ca.body['id'] as string;
      tmp.write('issuing.pem', ca.body['certificate'] as string);
      tmp.write('root.pem', ca.body['chain'] as string);
      tmp.write('chain.pem', `${ca.body['certificate'] as string}${ca.body['chain'] as string}`);
      for (const id of ['m-1', 'm-2']) {
        openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${id}.key`], tmp.dir);
        openssl(['req', '-new', '-key', `${id}.key`, '-subj', `/O=acme/CN=${id}`, '-out', `${id}.csr`], tmp.dir);
        const issued = await api.call('POST', '/v1/projects/acme/pki/issue', { json: { csr: base64(tmp.read(`${id}.csr`)) } });
        assert.equal(issued.status, 201, issued.text);
        tmp.write(`${id}.pem`, issued.body['certificate'] as string);
      }
      serial = /serial=(\w+)/.exec(openssl(['x509', '-in', 'm-1.pem', '-noout', '-serial'], tmp.dir).toString())?.[1] as string;
      const extensions = openssl(['x509', '-in', 'm-1.pem', '-noout', '-ext', 'crlDistributionPoints,authorityInfoAccess'], tmp.dir).toString();
      crlUrl = /URI:(\S+\/crl)\b/.exec(extensions)?.[1] as string;
      ocspFromCert = /OCSP - URI:(\S+)/.exec(extensions)?.[1] as string;
    });
    after(async () => {
      await api.close();
      tmp.cleanup();
    });

    it('issued certificates name their CA’s CRL and OCSP responder under the server’s public URL', () => {
      assert.equal(crlUrl, `${api.server.httpUrl}/v1/pki/cas/${caId}/crl`);
      assert.equal(ocspFromCert, `${api.server.httpUrl}/v1/pki/ocsp`);
    });

    it('before a revocation: OCSP says good (nonce echoed, response verified), the CRL lists nothing', async () => {
      const text = await ocsp('m-1.pem');
      assert.match(text, /Response verify OK/);
      assert.match(text, /m-1\.pem: good/);
      assert.match(text, /OCSP Nonce/);
      await fetchCrl('before.crl.pem');
      assert.match(openssl(['verify', '-crl_check', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', '-CRLfile', 'before.crl.pem', 'm-1.pem'], tmp.dir).toString(), /m-1\.pem: OK/);
      const crlText = openssl(['crl', '-in', 'before.crl.pem', '-noout', '-text'], tmp.dir).toString();
      assert.match(crlText, /No Revoked Certificates/);
    });

    it('after revoking m-1 by fingerprint: OCSP says revoked with the reason, the CRL (a higher number) lists it, m-2 stays good', async () => {
      const fingerprint = /Fingerprint=(.*)/.exec(openssl(['x509', '-in', 'm-1.pem', '-noout', '-fingerprint', '-sha256'], tmp.dir).toString())?.[1] as string;
      const r = await api.call('POST', '/v1/projects/acme/revocations', { json: { certificates: [{ fingerprintSha256: fingerprint }], reason: 'keyCompromise' } });
      assert.equal(r.status, 200, r.text);
      const text = await ocsp('m-1.pem');
      assert.match(text, /Response verify OK/);
      assert.match(text, /m-1\.pem: revoked/);
      assert.match(text, /Reason: keyCompromise/);
      assert.match(await ocsp('m-2.pem'), /m-2\.pem: good/);
      await fetchCrl('after.crl.pem');
      const verify = opensslStatus(['verify', '-crl_check', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', '-CRLfile', 'after.crl.pem', 'm-1.pem'], tmp.dir);
      assert.notEqual(verify.status, 0);
      assert.match(verify.stdout + verify.stderr, /certificate revoked/);
      assert.match(openssl(['verify', '-crl_check', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', '-CRLfile', 'after.crl.pem', 'm-2.pem'], tmp.dir).toString(), /m-2\.pem: OK/);
      const numbers = ['before.crl.pem', 'after.crl.pem'].map((f) => Number.parseInt(/crlNumber=(\w+)/.exec(openssl(['crl', '-in', f, '-noout', '-crlnumber'], tmp.dir).toString())?.[1] ?? '', 16));
      assert.ok((numbers[1] as number) > (numbers[0] as number), `CRL numbers ${numbers.join(' → ')}`);
      const crlText = openssl(['crl', '-in', 'after.crl.pem', '-noout', '-text'], tmp.dir).toString();
      assert.match(crlText, new RegExp(`Serial Number: ${serial}`));
      assert.match(crlText, /Key Compromise/);
    });

    it('a cached answer (no nonce) turns revoked within one second of a revocation', async () => {
      openssl(['ocsp', '-issuer', 'issuing.pem', '-cert', 'm-2.pem', '-no_nonce', '-reqout', 'cached.req'], tmp.dir);
      const ask = async (): Promise<string> => {
        const r = await fetch(ocspUrl(), { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: new Uint8Array(tmp.read('cached.req')) });
        writeFileSync(join(tmp.dir, 'cached.resp'), Buffer.from(await r.arrayBuffer()));
        return opensslOutput(['ocsp', '-respin', 'cached.resp', '-reqin', 'cached.req', '-issuer', 'issuing.pem', '-CAfile', 'root.pem', '-resp_text']);
      };
      assert.match(await ask(), /Cert Status: good/);
      assert.match(await ask(), /Cert Status: good/);
      const m2Serial = /serial=(\w+)/.exec(openssl(['x509', '-in', 'm-2.pem', '-noout', '-serial'], tmp.dir).toString())?.[1] as string;
      const cas = await api.call('GET', '/v1/projects/acme/pki/cas');
      const caCertificateId = (cas.body['list'] as { id: string; caCertificateId: string }[]).find((c) => c.id === caId)?.caCertificateId as string;
      const since = Date.now();
      assert.equal((await api.call('POST', '/v1/projects/acme/revocations', { json: { certificates: [{ caId: caCertificateId, serialNumber: m2Serial }], reason: 'superseded' } })).status, 200);
      let text = await ask();
      while (!/Cert Status: revoked/.test(text) && Date.now() - since < 1000) text = await ask();
      assert.match(text, /Cert Status: revoked/);
      assert.match(text, /Revocation Reason: superseded/);
      assert.ok(Date.now() - since <= 1000 + 200, `revoked after ${Date.now() - since} ms`);
    });

    it('a certificate of another CA is unauthorized; a garbage request is malformed', async () => {
      openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'other.key', '-subj', '/CN=Other', '-days', '2', '-out', 'other.pem'], tmp.dir);
      const other = await opensslOutput(['ocsp', '-issuer', 'other.pem', '-cert', 'other.pem', '-url', ocspUrl(), '-noverify']);
      assert.match(other, /unauthorized/);
      const garbage = await fetch(ocspUrl(), { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: 'not a request' });
      assert.equal(garbage.status, 200);
      assert.deepEqual([...new Uint8Array(await garbage.arrayBuffer())], [0x30, 0x03, 0x0a, 0x01, 0x01]);
      assert.equal((await fetch(`${api.server.httpUrl}/v1/pki/cas/no-such-ca/crl`)).status, 404);
    });

    it('answers RFC 5019 GETs (the request in the URL)', async () => {
      openssl(['ocsp', '-issuer', 'issuing.pem', '-cert', 'm-2.pem', '-no_nonce', '-reqout', 'get.req'], tmp.dir);
      const encoded = encodeURIComponent(tmp.read('get.req').toString('base64'));
      const r = await fetch(`${ocspUrl()}/${encoded}`);
      assert.equal(r.headers.get('content-type'), 'application/ocsp-response');
      writeFileSync(join(tmp.dir, 'get.resp'), Buffer.from(await r.arrayBuffer()));
      const text = await opensslOutput(['ocsp', '-respin', 'get.resp', '-reqin', 'get.req', '-issuer', 'issuing.pem', '-CAfile', 'root.pem', '-resp_text']);
      // m-2 was revoked above.
      assert.match(text, /Cert Status: revoked/);
      assert.match(text, /Response verify OK/);
    });
  });
}
