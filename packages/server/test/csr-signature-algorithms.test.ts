import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { opensslAsync } from '@fleetpki/test-support';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { runTool } from './helpers/coap-clients.js';
import { curl } from './helpers/curl.js';
import { DIALECTS } from './helpers/stores.js';

/**
 * A CSR signed with a digest the platform refuses (issue 14, finding 3): every way in answers
 * a 4xx problem (4.00 over CoAP) with one stable code, audits the refusal, and issues nothing —
 * where it used to answer 500 INTERNAL_ERROR.
 */
const REFUSED_DIGESTS = ['sha1', 'sha224', 'sha3-256'] as const;
const CODE = 'CSR_SIGNATURE_ALGORITHM_UNSUPPORTED';

for (const dialect of DIALECTS) {
  describe(`CSRs signed with refused digests [${dialect}]`, () => {
    let api: TestApi;
    let dir: string;
    let serverCa: string;
    let gateway: (path: string) => string;
    const ssl = (args: readonly string[]) => opensslAsync(args, dir);
    const countIssued = async () => Number((await api.server.store.db.selectFrom('issued_certificates').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const refusalsAudited = async () => {
      const audit = await api.call('GET', '/v1/projects/acme/audit?perPage=100&action=pki.certificate.refuse');
      return (audit.body['list'] as { details: { code: string; channel: string } }[]).filter((e) => e.details.code === CODE).map((e) => e.details.channel);
    };

    before(async () => {
      api = await startTestApi(dialect);
      dir = api.store.dataDir;
      gateway = (path) => `https://localhost:${new URL(api.server.gatewayUrl).port}${path}`;
      serverCa = join(dir, 'server-ca.pem');
      writeFileSync(serverCa, (await api.call('GET', '/v1/server-ca', { key: null })).text);
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'acme', slug: 'acme' } })).status, 201);
      assert.equal((await api.call('POST', '/v1/projects/acme/pki/cas', { json: { mode: 'generate' } })).status, 201);
      // A device with a certificate from the managed CA, to rotate over HTTPS and CoAP.
      await ssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'dev.key.pem']);
      await ssl(['req', '-new', '-key', 'dev.key.pem', '-subj', '/O=acme/CN=dev-1', '-out', 'dev.csr.pem']);
      const issued = await api.call('POST', '/v1/projects/acme/pki/issue', { json: { csr: base64(readFileSync(join(dir, 'dev.csr.pem'))) } });
      assert.equal(issued.status, 201, issued.text);
      writeFileSync(join(dir, 'dev.crt.pem'), issued.body['certificate'] as string);
      for (const digest of REFUSED_DIGESTS) {
        await ssl(['req', '-new', `-${digest}`, '-key', 'dev.key.pem', '-subj', '/O=acme/CN=dev-1', '-outform', 'DER', '-out', `${digest}.csr.der`]);
        writeFileSync(join(dir, `${digest}.csr.b64`), readFileSync(join(dir, `${digest}.csr.der`)).toString('base64'));
      }
    });
    after(() => api.close());

    for (const digest of REFUSED_DIGESTS) {
      it(`${digest}: POST …/pki/issue, HTTPS /v1/csr, EST simpleenroll and CoAP /v1/csr refuse it with ${CODE}, audited, nothing issued`, async () => {
        const before = await countIssued();
        const audited = (await refusalsAudited()).length;
        const der = readFileSync(join(dir, `${digest}.csr.der`));

        const viaApi = await api.call('POST', '/v1/projects/acme/pki/issue', { json: { csr: der.toString('base64') } });
        assert.equal(viaApi.status, 400, viaApi.text);
        assert.equal(viaApi.body['code'], CODE);

        const device = ['--cacert', serverCa, '--cert', join(dir, 'dev.crt.pem'), '--key', join(dir, 'dev.key.pem')];
        const rotation = await curl([...device, '-H', 'content-type: application/pkcs10', '--data-binary', `@${join(dir, `${digest}.csr.der`)}`, gateway('/v1/csr')]);
        assert.equal(rotation.status, 400, rotation.body.toString('utf8'));
        assert.equal(JSON.parse(rotation.body.toString('utf8')).code, CODE);

        const token = (await api.call('POST', '/v1/projects/acme/pki/enrollment-tokens', { json: { count: 1 } })).body['tokens'][0].token as string;
        const est = await curl(['--cacert', serverCa, '--user', `device:${token}`, '-H', 'content-type: application/pkcs10', '--data-binary', `@${join(dir, `${digest}.csr.b64`)}`, gateway('/.well-known/est/acme/simpleenroll')]);
        assert.equal(est.status, 400, est.body.toString('utf8'));
        assert.equal(JSON.parse(est.body.toString('utf8')).code, CODE);

        const coap = await runTool('coap-client-openssl', ['-m', 'post', '-B', '8', '-t', '286', '-f', join(dir, `${digest}.csr.der`), '-c', join(dir, 'dev.crt.pem'), '-j', join(dir, 'dev.key.pem'), '-C', serverCa, `${api.server.coapUrl}/v1/csr`], { timeoutMs: 15_000 });
        assert.match(`${coap.stdout}${coap.stderr}`, new RegExp(`4\\.00[\\s\\S]*"code":"${CODE}"`));

        assert.equal(await countIssued(), before);
        const channels = (await refusalsAudited()).slice(0, 4).sort();
        assert.equal((await refusalsAudited()).length, audited + 4);
        assert.deepEqual(channels, ['api', 'est-enroll', 'rotation', 'rotation']);
      });
    }
  });
}
