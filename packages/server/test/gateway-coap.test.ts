import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeDevice, makeRoot, openssl } from '@fleetpki/test-support';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { coapGet, dtlsHandshake, holdDtlsSession, runTool, type CoapCredentials } from './helpers/coap-clients.js';
import { writeDeviceFiles, type DeviceFiles } from './helpers/device-clients.js';
import { eventually } from './helpers/eventually.js';
import { buildKeyMatchShim } from './helpers/key-match-shim.js';
import { storeSnapshot } from './helpers/snapshot.js';
import { DIALECTS } from './helpers/stores.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Short, so a wrong PSK (which DTLS can only notice at the deadline) is refused quickly. */
const HANDSHAKE_DEADLINE_MS = 2_000;
const CERT_SUITES = ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES128-CCM', 'ECDHE-ECDSA-AES128-CCM8'];
const PSK_SUITES = ['PSK-AES128-GCM-SHA256', 'PSK-AES128-CCM', 'PSK-AES128-CCM8', 'PSK-AES128-CBC-SHA256'];
const PSK = 'correct horse battery staple';

for (const dialect of DIALECTS) {
  describe(`device CoAP over DTLS 1.2 with libcoap and openssl clients [${dialect}]`, () => {
    let api: TestApi;
    let dir: string;
    let serverCa: string;
    let coapUrl: string;
    const acmeRoot = makeRoot('/CN=Acme Root', { from: new Date(Date.now() - 800 * DAY_MS), days: 3650 });

    const upload = async (slug: string, pem: string): Promise<string> => {
      const r = await api.call('POST', `/v1/projects/${slug}/certificates`, { json: { certFile: base64(pem) } });
      assert.equal(r.status, 201, r.text);
      return r.body['id'] as string;
    };
    const device = (name: string, pem: string, keyPem: string): DeviceFiles => writeDeviceFiles(dir, name, pem, keyPem);
    const certOf = (files: DeviceFiles): CoapCredentials => ({ files });
    const identity = (flavour: 'openssl' | 'gnutls', credentials: CoapCredentials, env: NodeJS.ProcessEnv = {}) =>
      coapGet(flavour, coapUrl, '/v1/device/identity', credentials, serverCa, env);
    const lastFailure = async (path: string, expectedCode: string): Promise<Record<string, unknown> | undefined> =>
      eventually(
        async () => {
          const audit = await api.call('GET', `${path}?perPage=20`);
          const list = audit.body['list'] as { action: string; details: Record<string, unknown> }[];
          return list.find((e) => e.action === 'device.authentication-failed' && e.details['code'] === expectedCode)?.details;
        },
        (details) => details !== undefined,
        HANDSHAKE_DEADLINE_MS + 3000,
      );
    const pskDevice = async (name: string): Promise<{ deviceId: string; identity: string }> => {
      const made = await api.call('POST', '/v1/projects/acme/devices', { json: { name } });
      assert.equal(made.status, 201, made.text);
      const credential = await api.call('POST', `/v1/projects/acme/devices/${made.body['id']}/credentials`, { json: { type: 'PRE_SHARED_KEY', identity: `${name}@acme`, preSharedKey: PSK } });
      assert.equal(credential.status, 201, credential.text);
      return { deviceId: made.body['id'] as string, identity: `${name}@acme` };
    };

    before(async () => {
      api = await startTestApi(dialect, { coapLimits: { handshakeTimeoutMs: HANDSHAKE_DEADLINE_MS } });
      dir = api.store.dataDir;
      coapUrl = api.server.coapUrl;
      for (const slug of ['acme', 'beta']) assert.equal((await api.call('POST', '/v1/projects', { json: { name: slug, slug } })).status, 201);
      serverCa = join(dir, 'server-ca.pem');
      writeFileSync(serverCa, (await api.call('GET', '/v1/server-ca', { key: null })).text);
      await upload('acme', acmeRoot.pem);
    });
    after(() => api.close());

    it('GET /.well-known/core lists the identity resource (RFC 6690)', async () => {
      const cert = makeDevice(acmeRoot, '/O=acme/CN=discover-1');
      for (const flavour of ['openssl', 'gnutls'] as const) {
        const r = await coapGet(flavour, coapUrl, '/.well-known/core', certOf(device('discover-1', cert.pem, cert.keyPem)), serverCa);
        assert.match(r.output.stdout, /<\/v1\/device\/identity>;rt="fleetpki\.device-identity";ct=50/);
        assert.match(r.output.stdout, /<\/v1\/csr>;rt="fleetpki\.csr";ct=287/);
      }
    });

    it('POST /v1/csr over CoAP (coap-client-openssl, DER PKCS#10 in, DER certificate out) rotates a device under the managed CA; the new certificate keeps its identity whatever the CSR says', async () => {
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'rot', slug: 'rot' } })).status, 201);
      const ca = await api.call('POST', '/v1/projects/rot/pki/cas', { json: { mode: 'generate' } });
      assert.equal(ca.status, 201, ca.text);
      // The device's current certificate, issued by the managed CA to an openssl-made key.
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'rotor.key.pem'], dir);
      openssl(['req', '-new', '-key', 'rotor.key.pem', '-subj', '/O=rot/CN=rotor-1', '-out', 'rotor.csr.pem'], dir);
      const issued = await api.call('POST', '/v1/projects/rot/pki/issue', { json: { csr: base64(readFileSync(join(dir, 'rotor.csr.pem'), 'utf8')) } });
      assert.equal(issued.status, 201, issued.text);
      writeFileSync(join(dir, 'rotor.crt.pem'), issued.body['certificate'] as string);
      const before = await identity('openssl', certOf({ cert: join(dir, 'rotor.crt.pem'), key: join(dir, 'rotor.key.pem') }));
      assert.equal(before.code, '2.05', before.text);
      assert.equal(before.body['credential'], 'certificate');
      // A new key, and a CSR that asks for another project and device.
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'rotor-2.key.pem'], dir);
      openssl(['req', '-new', '-key', 'rotor-2.key.pem', '-subj', '/O=beta/CN=somebody-else', '-outform', 'DER', '-out', 'rotor-2.csr.der'], dir);
      const posted = await runTool('coap-client-openssl', [
        '-m', 'post', '-B', '8', '-t', '286', '-f', join(dir, 'rotor-2.csr.der'), '-o', join(dir, 'rotor-2.crt.der'),
        '-c', join(dir, 'rotor.crt.pem'), '-j', join(dir, 'rotor.key.pem'), '-C', serverCa, `${coapUrl}/v1/csr`,
      ], { timeoutMs: 15_000 });
      assert.equal(posted.exitCode, 0, posted.stderr);
      const subject = openssl(['x509', '-inform', 'DER', '-in', 'rotor-2.crt.der', '-noout', '-subject'], dir).toString('utf8').trim();
      assert.equal(subject, 'subject=O = rot, CN = rotor-1');
      openssl(['x509', '-inform', 'DER', '-in', 'rotor-2.crt.der', '-out', 'rotor-2.crt.pem'], dir);
      const after = await identity('gnutls', certOf({ cert: join(dir, 'rotor-2.crt.pem'), key: join(dir, 'rotor-2.key.pem') }));
      assert.equal(after.code, '2.05', after.text);
      assert.equal(after.body['deviceId'], before.body['deviceId']);
      assert.equal(after.body['certificateId'], 'rotor-1');
      assert.equal(after.body['provisioning'], 'existing');
      // A session without the device certificate (PSK) cannot rotate.
      const psk = await api.call('POST', `/v1/projects/rot/devices/${before.body['deviceId'] as string}/credentials`, { json: { type: 'PRE_SHARED_KEY', identity: 'rotor-1@rot', preSharedKey: 'rotor-secret-key-1' } });
      assert.equal(psk.status, 201, psk.text);
      const viaPsk = await runTool('coap-client-openssl', ['-m', 'post', '-B', '8', '-t', '286', '-f', join(dir, 'rotor-2.csr.der'), '-u', 'rotor-1@rot', '-k', 'rotor-secret-key-1', `${coapUrl}/v1/csr`], { timeoutMs: 15_000 });
      assert.match(`${viaPsk.stdout}${viaPsk.stderr}`, /4\.01[\s\S]*"code":"NO_CLIENT_CERTIFICATE"/);
    });

    it('a pre-shared key made in the API lets both clients in as its device; the key is stored sealed and never shown', async () => {
      const { deviceId, identity: pskIdentity } = await pskDevice('psk-1');
      for (const flavour of ['openssl', 'gnutls'] as const) {
        const r = await identity(flavour, { identity: pskIdentity, key: PSK });
        assert.equal(r.code, '2.05', r.text);
        assert.equal(r.body['deviceId'], deviceId);
        assert.equal(r.body['deviceName'], 'psk-1');
        assert.equal(r.body['credential'], 'pre-shared-key');
        assert.equal(r.body['pskIdentity'], pskIdentity);
      }
      const listed = await api.call('GET', `/v1/projects/acme/devices/${deviceId}/credentials`);
      assert.equal(listed.status, 200);
      assert.equal(listed.body['total'], 1);
      assert.deepEqual(Object.keys(listed.body['list'][0]).sort(), ['createdAt', 'deviceId', 'id', 'identity', 'type']);
      const row = await api.server.store.db.selectFrom('device_credentials').selectAll().where('identity', '=', pskIdentity).executeTakeFirstOrThrow();
      assert.match(row.secret_sealed, /^v2\.[0-9a-f]{16}\./);
      assert.ok(!row.secret_sealed.includes(Buffer.from(PSK).toString('base64')) && !row.secret_sealed.includes(PSK));
      assert.equal(statSync(join(dir, 'master.key')).mode & 0o777, 0o600);
      const device = await eventually(
        async () => (await api.call('GET', `/v1/projects/acme/devices/${deviceId}`)).body,
        (body) => typeof body['lastSeenAt'] === 'string',
      );
      assert.equal(typeof device['lastSeenAt'], 'string');
    });

    it('the credentials API refuses bad input with codes and stores nothing', async () => {
      const made = await api.call('POST', '/v1/projects/acme/devices', { json: { name: 'psk-bad' } });
      const path = `/v1/projects/acme/devices/${made.body['id']}/credentials`;
      const stored = async () => {
        const tables = JSON.parse(await storeSnapshot(api.server)) as unknown[][];
        const credentials = await api.server.store.db.selectFrom('device_credentials').select('id').execute();
        return [tables.slice(0, 4), credentials.length];
      };
      const before = await stored();
      const cases: { json: unknown; status: number; code: string; path?: string }[] = [
        { json: { type: 'PRE_SHARED_KEY', identity: 'psk-bad@beta', preSharedKey: PSK }, status: 400, code: 'PSK_IDENTITY_INVALID' },
        { json: { type: 'PRE_SHARED_KEY', identity: 'no-at-sign', preSharedKey: PSK }, status: 400, code: 'PSK_IDENTITY_INVALID' },
        { json: { type: 'PRE_SHARED_KEY', identity: 'bad id!@acme', preSharedKey: PSK }, status: 400, code: 'PSK_IDENTITY_INVALID' },
        { json: { type: 'PRE_SHARED_KEY', identity: 'psk-bad@acme', preSharedKey: 'short' }, status: 400, code: 'PSK_INVALID' },
        { json: { type: 'PRE_SHARED_KEY', identity: 'psk-bad@acme', preSharedKey: 'x'.repeat(65) }, status: 400, code: 'PSK_INVALID' },
        { json: { type: 'CERTIFICATE', identity: 'psk-bad@acme', preSharedKey: PSK }, status: 400, code: 'VALIDATION_FAILED' },
        { json: { type: 'PRE_SHARED_KEY', identity: 'psk-bad@acme', preSharedKey: PSK }, status: 404, code: 'DEVICE_NOT_FOUND', path: '/v1/projects/acme/devices/no-such-device/credentials' },
      ];
      for (const c of cases) {
        const r = await api.call('POST', c.path ?? path, { json: c.json });
        assert.equal(r.status, c.status, r.text);
        assert.equal(r.body['code'], c.code);
      }
      assert.deepEqual(await stored(), before, 'no project, CA, device, key or credential changed');
      assert.equal((await api.call('POST', path, { json: { type: 'PRE_SHARED_KEY', identity: 'psk-bad@acme', preSharedKey: PSK } })).status, 201);
      const taken = await api.call('POST', path, { json: { type: 'PRE_SHARED_KEY', identity: 'psk-bad@acme', preSharedKey: PSK } });
      assert.equal(taken.status, 409);
      assert.equal(taken.body['code'], 'PSK_IDENTITY_TAKEN');
    });

    it('openssl s_client -dtls1_2 completes a handshake with each of the seven Golioth cipher suites, with extended master secret', async () => {
      const cert = makeDevice(acmeRoot, '/O=acme/CN=suites-1');
      const files = device('suites-1', cert.pem, cert.keyPem);
      const { identity: pskIdentity } = await pskDevice('psk-suites');
      for (const suite of CERT_SUITES) {
        const r = await dtlsHandshake(coapUrl, ['-cipher', suite, '-cert', files.cert, '-key', files.key, '-CAfile', serverCa, '-verify_return_error']);
        assert.equal(r.cipher, suite, r.output);
        assert.ok(r.extendedMasterSecret, r.output);
      }
      for (const suite of PSK_SUITES) {
        const r = await dtlsHandshake(coapUrl, ['-cipher', suite, '-psk_identity', pskIdentity, '-psk', Buffer.from(PSK).toString('hex')]);
        assert.equal(r.cipher, suite, r.output);
        assert.ok(r.extendedMasterSecret, r.output);
      }
    });

    it('a stolen certificate without its key (LD_PRELOAD shim, openssl s_client -dtls1_2) fails the handshake: KEY_POSSESSION_NOT_PROVEN, nothing created', async () => {
      const shim = buildKeyMatchShim(dir);
      const stolen = makeDevice(acmeRoot, '/O=acme/CN=coap-victim-1');
      const thief = device('coap-victim-1', stolen.pem, openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout'], dir).toString('utf8'));
      const withoutShim = await dtlsHandshake(coapUrl, ['-cert', thief.cert, '-key', thief.key, '-CAfile', serverCa]);
      assert.match(withoutShim.output, /key values mismatch/);
      const r = await dtlsHandshake(coapUrl, ['-cert', thief.cert, '-key', thief.key, '-CAfile', serverCa], { LD_PRELOAD: shim });
      assert.equal(r.cipher, '', r.output);
      // OpenSSL on the server checked CertificateVerify: decrypt_error (RFC 5246 §7.2.2).
      assert.match(r.output, /alert decrypt error/);
      const audited = await lastFailure('/v1/projects/acme/audit', 'KEY_POSSESSION_NOT_PROVEN');
      assert.equal(audited?.['transport'], 'coap');
      assert.equal((await api.call('GET', '/v1/projects/acme/devices?certificateId=coap-victim-1')).body['total'], 0);
    });

    it('refuses an unknown PSK identity (PSK_IDENTITY_UNKNOWN) and a wrong PSK (PSK_MISMATCH), audited in the project', async () => {
      await pskDevice('psk-refusals');
      const unknown = await identity('openssl', { identity: 'nobody@acme', key: PSK });
      assert.notEqual(unknown.code, '2.05');
      assert.doesNotMatch(unknown.text, /"deviceId"/);
      assert.equal((await lastFailure('/v1/projects/acme/audit', 'PSK_IDENTITY_UNKNOWN'))?.['pskIdentity'], 'nobody@acme');
      const wrong = await dtlsHandshake(coapUrl, ['-cipher', 'PSK-AES128-CCM8', '-psk_identity', 'psk-refusals@acme', '-psk', Buffer.from('not the right key at all').toString('hex')], {}, HANDSHAKE_DEADLINE_MS + 2_000);
      assert.equal(wrong.cipher, '', wrong.output);
      assert.equal((await lastFailure('/v1/projects/acme/audit', 'PSK_MISMATCH'))?.['pskIdentity'], 'psk-refusals@acme');
      // No identity enumeration (RFC 4279 §2): an unknown identity fails as the wrong key does —
      // no unknown_psk_identity alert, the same silence until the handshake deadline.
      const stranger = await dtlsHandshake(coapUrl, ['-cipher', 'PSK-AES128-CCM8', '-psk_identity', 'nobody-at-all@acme', '-psk', Buffer.from('not the right key at all').toString('hex')], {}, HANDSHAKE_DEADLINE_MS + 2_000);
      assert.equal(stranger.cipher, '', stranger.output);
      const alerts = (output: string) => [...output.matchAll(/alert ([a-z ]+)/gi)].map((m) => m[1]);
      assert.deepEqual(alerts(stranger.output), alerts(wrong.output));
      assert.doesNotMatch(stranger.output, /unknown psk identity/i);
    });

    it('disabling a PSK device ends its open DTLS session within one second', async () => {
      const { deviceId, identity: pskIdentity } = await pskDevice('psk-held');
      const session = await holdDtlsSession(coapUrl, ['-cipher', 'PSK-AES128-GCM-SHA256', '-psk_identity', pskIdentity, '-psk', Buffer.from(PSK).toString('hex')]);
      try {
        // Registered once authenticated (an audit event says so), then disabled.
        await eventually(
          async () => (await api.call('GET', `/v1/projects/acme/audit?targetId=${deviceId}`)).body['list'] as { action: string }[],
          (list) => list.some((e) => e.action === 'device.authenticate'),
        );
        const since = Date.now();
        assert.equal((await api.call('PATCH', `/v1/projects/acme/devices/${deviceId}`, { json: { enabled: false } })).status, 200);
        const closedAt = await Promise.race([session.exited, new Promise<number>((resolve) => setTimeout(() => resolve(Number.NaN), 5_000))]);
        assert.ok(closedAt - since <= 1_000, `the session ended ${closedAt - since} ms after the device was disabled`);
      } finally {
        session.end();
      }
    });
  });
}
