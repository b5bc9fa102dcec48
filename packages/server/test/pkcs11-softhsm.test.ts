import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type * as Pkcs11Js from 'pkcs11js';
import { silentLogger, startServer } from '@fleetpki/server';
import { opensslAsync } from '@fleetpki/test-support';
import { apiRequest, startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { curlIdentity } from './helpers/device-clients.js';
import { DIALECTS } from './helpers/stores.js';

const run = promisify(execFile);
const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const TOKEN = 'fleetpki-test';
const PIN = '246810';

/**
 * Managed CA keys inside a real SoftHSM2 token (Debian softhsm2) through pkcs11js: the key is
 * generated in the token, never exported, and every certificate is signed there.
 */
describe('PKCS#11 (SoftHSM2) managed CA keys', () => {
  let hsmDir: string;
  before(async () => {
    hsmDir = mkdtempSync(join(tmpdir(), 'fleetpki-softhsm-'));
    mkdirSync(join(hsmDir, 'tokens'));
    writeFileSync(join(hsmDir, 'softhsm2.conf'), `directories.tokendir = ${join(hsmDir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    // SoftHSM reads its configuration from this variable when the module is loaded (in this process, by the server).
    process.env['SOFTHSM2_CONF'] = join(hsmDir, 'softhsm2.conf');
    await run('softhsm2-util', ['--init-token', '--free', '--label', TOKEN, '--pin', PIN, '--so-pin', '13579'], { env: process.env });
  });
  after(() => rmSync(hsmDir, { recursive: true, force: true }));

  for (const dialect of DIALECTS) {
    describe(`[${dialect}]`, () => {
      let api: TestApi;
      let dir: string;
      let caId: string;
      const ssl = (args: readonly string[]) => opensslAsync(args, dir);

      before(async () => {
        api = await startTestApi(dialect, { serve: { pkcs11: { module: SOFTHSM_MODULE, tokenLabel: TOKEN, pin: PIN } } });
        dir = api.store.dataDir;
        assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'hsm', slug: 'hsm' } })).status, 201);
      });
      after(() => api.close());

      it('mode generate with keyStorage pkcs11 keeps the issuing key in the token, nothing sealed in the store', async () => {
        const r = await api.call('POST', '/v1/projects/hsm/pki/cas', { json: { mode: 'generate', keyStorage: 'pkcs11' } });
        assert.equal(r.status, 201, r.text);
        assert.equal(r.body['keyStorage'], 'pkcs11');
        assert.equal(r.body['status'], 'active');
        caId = r.body['id'];
        writeFileSync(join(dir, 'hsm-issuing.pem'), r.body['certificate']);
        writeFileSync(join(dir, 'hsm-root.pem'), r.body['chain']);
        const row = await api.server.store.db.selectFrom('managed_cas').select(['sealed_key', 'pkcs11_label']).where('id', '=', caId).executeTakeFirstOrThrow();
        assert.equal(row.sealed_key, null);
        assert.equal(row.pkcs11_label, `fleetpki-ca-${caId}`);
      });

      it('the token holds the key as sensitive and non-extractable', () => {
        // The module is already initialized in this process by the server: reuse its state (PKCS#11 §5.4).
        const lib = createRequire(import.meta.url)('pkcs11js') as typeof Pkcs11Js;
        const p11 = new lib.PKCS11();
        p11.load(SOFTHSM_MODULE);
        try {
          p11.C_Initialize();
        } catch (error) {
          assert.match((error as Error).message, /CKR_CRYPTOKI_ALREADY_INITIALIZED/);
        }
        const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === TOKEN);
        assert.ok(slot);
        const session = p11.C_OpenSession(slot, lib.CKF_SERIAL_SESSION);
        try {
          try {
            p11.C_Login(session, lib.CKU_USER, PIN);
          } catch (error) {
            assert.match((error as Error).message, /CKR_USER_ALREADY_LOGGED_IN/);
          }
          p11.C_FindObjectsInit(session, [
            { type: lib.CKA_CLASS, value: lib.CKO_PRIVATE_KEY },
            { type: lib.CKA_LABEL, value: `fleetpki-ca-${caId}` },
          ]);
          const handle = p11.C_FindObjects(session);
          p11.C_FindObjectsFinal(session);
          assert.ok(handle, 'the private key is in the token');
          const [sensitive, extractable] = p11.C_GetAttributeValue(session, handle, [{ type: lib.CKA_SENSITIVE }, { type: lib.CKA_EXTRACTABLE }]);
          assert.deepEqual(sensitive?.value, Buffer.from([1]));
          assert.deepEqual(extractable?.value, Buffer.from([0]));
        } finally {
          p11.C_CloseSession(session);
        }
      });

      it('issues a device certificate signed inside SoftHSM2 that openssl verifies and the gateway accepts', async () => {
        await ssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'h1.key.pem']);
        await ssl(['req', '-new', '-key', 'h1.key.pem', '-subj', '/O=hsm/CN=h1', '-out', 'h1.csr.pem']);
        const r = await api.call('POST', '/v1/projects/hsm/pki/issue', { json: { csr: base64(readFileSync(join(dir, 'h1.csr.pem'))) } });
        assert.equal(r.status, 201, r.text);
        writeFileSync(join(dir, 'h1.crt.pem'), r.body['certificate']);
        assert.match((await ssl(['verify', '-CAfile', 'hsm-root.pem', '-untrusted', 'hsm-issuing.pem', '-purpose', 'sslclient', 'h1.crt.pem'])).toString('utf8'), /h1.crt.pem: OK/);
        const serverCa = join(dir, 'server-ca.pem');
        writeFileSync(serverCa, (await api.call('GET', '/v1/server-ca', { key: null })).text);
        const identity = await curlIdentity(api.server.gatewayUrl, serverCa, { cert: join(dir, 'h1.crt.pem'), key: join(dir, 'h1.key.pem') });
        assert.equal(identity.status, 200);
        assert.equal(identity.body['certificateId'], 'h1');
      });

      it('mode csr with keyStorage pkcs11: the token signs the CA’s CSR, which openssl verifies', async () => {
        const r = await api.call('POST', '/v1/projects/hsm/pki/cas', { json: { mode: 'csr', keyStorage: 'pkcs11' } });
        assert.equal(r.status, 201, r.text);
        writeFileSync(join(dir, 'hsm-ca.csr.pem'), r.body['csr']);
        const verified = await new Promise<string>((resolve, reject) =>
          execFile('openssl', ['req', '-in', join(dir, 'hsm-ca.csr.pem'), '-verify', '-noout'], (error, stdout, stderr) => (error ? reject(error) : resolve(stdout + stderr))),
        );
        assert.match(verified, /verify OK|Certificate request self-signature verify OK/);
      });

      it('after a restart the server finds the key in the token by its label and issues again', async () => {
        await api.server.close();
        const restarted = await startServer({
          dataDir: api.store.dataDir,
          database: api.store.database,
          httpPort: 0,
          gatewayPort: 0,
          mqttPort: 0,
          coapPort: 0,
          logger: silentLogger,
          announce: () => {},
          pkcs11: { module: SOFTHSM_MODULE, tokenLabel: TOKEN, pin: PIN },
        });
        try {
          await ssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'h2.key.pem']);
          await ssl(['req', '-new', '-key', 'h2.key.pem', '-subj', '/O=hsm/CN=h2', '-out', 'h2.csr.pem']);
          const r = await apiRequest('POST', `${restarted.httpUrl}/v1/projects/hsm/pki/issue`, api.adminKey, { json: { csr: base64(readFileSync(join(dir, 'h2.csr.pem'))) } });
          assert.equal(r.status, 201, r.text);
          writeFileSync(join(dir, 'h2.crt.pem'), r.body['certificate']);
          assert.match((await ssl(['verify', '-CAfile', 'hsm-root.pem', '-untrusted', 'hsm-issuing.pem', 'h2.crt.pem'])).toString('utf8'), /h2.crt.pem: OK/);
        } finally {
          await restarted.close();
        }
        const tokenless = await startServer({ dataDir: api.store.dataDir, database: api.store.database, httpPort: 0, gatewayPort: 0, mqttPort: 0, coapPort: 0, logger: silentLogger, announce: () => {} });
        try {
          // Without the token configured, the same CA cannot sign.
          const r = await apiRequest('POST', `${tokenless.httpUrl}/v1/projects/hsm/pki/issue`, api.adminKey, { json: { csr: base64(readFileSync(join(dir, 'h2.csr.pem'))) } });
          assert.equal(r.status, 503);
          assert.equal(r.body['code'], 'CA_KEY_UNAVAILABLE');
        } finally {
          await tokenless.close();
        }
      });
    });
  }
});
