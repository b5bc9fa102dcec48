import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeDevice, makeIntermediate, makeRoot, openssl } from '@fleetpki/test-support';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { curlIdentity, writeDeviceFiles, writeSecurityLevel0Config, type DeviceFiles } from './helpers/device-clients.js';
import { eventually } from './helpers/eventually.js';
import { storeSnapshot } from './helpers/snapshot.js';
import { DIALECTS } from './helpers/stores.js';

const DAY_MS = 24 * 60 * 60 * 1000;

for (const dialect of DIALECTS) {
  describe(`device HTTPS gateway with curl [${dialect}]`, () => {
    let api: TestApi;
    let dir: string;
    let serverCa: string;
    const acmeRoot = makeRoot('/CN=Acme Root', { from: new Date(Date.now() - 800 * DAY_MS), days: 3650 });
    const acmeIssuing = makeIntermediate(acmeRoot, '/CN=Acme Issuing', { from: new Date(Date.now() - 700 * DAY_MS), days: 2000 });
    const betaRoot = makeRoot('/CN=Beta Root');
    let acmeRootId: string;

    const upload = async (slug: string, pem: string): Promise<string> => {
      const r = await api.call('POST', `/v1/projects/${slug}/certificates`, { json: { certFile: base64(pem) } });
      assert.equal(r.status, 201, r.text);
      return r.body['id'] as string;
    };
    const device = (name: string, pem: string, keyPem: string): DeviceFiles => writeDeviceFiles(dir, name, pem, keyPem);
    /** The newest refusal in the project's audit log, once the journal has written the one expected. */
    const lastFailure = async (slug: string, expectedCode: string): Promise<Record<string, unknown> | undefined> =>
      eventually(
        async () => {
          const audit = await api.call('GET', `/v1/projects/${slug}/audit?perPage=1`);
          const [event] = audit.body['list'];
          return event?.action === 'device.authentication-failed' ? (event.details as Record<string, unknown>) : undefined;
        },
        (details) => details?.['code'] === expectedCode,
      );

    before(async () => {
      api = await startTestApi(dialect);
      dir = api.store.dataDir;
      for (const slug of ['acme', 'beta', 'chain']) assert.equal((await api.call('POST', '/v1/projects', { json: { name: slug, slug } })).status, 201);
      serverCa = join(dir, 'server-ca.pem');
      writeFileSync(serverCa, (await api.call('GET', '/v1/server-ca', { key: null })).text);
      acmeRootId = await upload('acme', acmeRoot.pem);
      await upload('beta', betaRoot.pem);
    });
    after(() => api.close());

    it('the seed’s openssl-made root and device: created, then existing; the device appears in the API', async () => {
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'seed-ca.key.pem'], dir);
      openssl(['req', '-x509', '-new', '-nodes', '-key', 'seed-ca.key.pem', '-sha256', '-subj', '/CN=Root CA', '-days', '10', '-out', 'seed-ca.crt.pem'], dir);
      await upload('acme', readFileSync(join(dir, 'seed-ca.crt.pem'), 'utf8'));
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'device.key.pem'], dir);
      openssl(['req', '-new', '-key', 'device.key.pem', '-subj', '/O=acme/CN=sensor-7', '-out', 'device.csr.pem'], dir);
      openssl(['x509', '-req', '-in', 'device.csr.pem', '-CA', 'seed-ca.crt.pem', '-CAkey', 'seed-ca.key.pem', '-CAcreateserial', '-out', 'device.crt.pem', '-days', '7', '-sha256'], dir);
      const files = { cert: join(dir, 'device.crt.pem'), key: join(dir, 'device.key.pem') };
      const first = await curlIdentity(api.server.gatewayUrl, serverCa, files);
      assert.equal(first.status, 200);
      assert.equal(first.body['projectId'], 'acme');
      assert.equal(first.body['certificateId'], 'sensor-7');
      assert.equal(first.body['deviceName'], 'sensor-7');
      assert.equal(first.body['provisioning'], 'created');
      const second = await curlIdentity(api.server.gatewayUrl, serverCa, files);
      assert.equal(second.body['provisioning'], 'existing');
      assert.equal(second.body['deviceId'], first.body['deviceId']);
      const listed = await api.call('GET', '/v1/projects/acme/devices?certificateId=sensor-7');
      assert.equal(listed.body['total'], 1);
      assert.equal(listed.body['list'][0].id, first.body['deviceId']);
      assert.equal(listed.body['list'][0].provisioning, 'created');
      assert.equal(typeof listed.body['list'][0].lastSeenAt, 'string');
    });

    it('a device pre-provisioned by name is associated on its first connection', async () => {
      const made = await api.call('POST', '/v1/projects/acme/devices', { json: { name: 'sensor-8' } });
      const cert = makeDevice(acmeRoot, '/O=acme/CN=sensor-8');
      const r = await curlIdentity(api.server.gatewayUrl, serverCa, device('sensor-8', cert.pem, cert.keyPem));
      assert.equal(r.body['provisioning'], 'associated');
      assert.equal(r.body['deviceId'], made.body['id']);
      assert.equal((await api.call('GET', `/v1/projects/acme/devices/${made.body['id']}`)).body['certificateId'], 'sensor-8');
    });

    it('root → intermediate → device: the intermediate uploaded and only the leaf sent', async () => {
      await upload('chain', acmeIssuing.pem);
      const cert = makeDevice(acmeIssuing, '/O=chain/CN=leaf-only');
      const r = await curlIdentity(api.server.gatewayUrl, serverCa, device('leaf-only', cert.pem, cert.keyPem));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body['provisioning'], 'created');
    });

    it('root → intermediate → device: the root alone uploaded and leaf + intermediate sent', async () => {
      const cert = makeDevice(acmeIssuing, '/O=acme/CN=with-intermediate');
      const r = await curlIdentity(api.server.gatewayUrl, serverCa, device('with-intermediate', cert.pem + acmeIssuing.pem, cert.keyPem));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body['projectId'], 'acme');
    });

    const refusals: { name: string; slug: string; files: () => Promise<DeviceFiles | undefined> | DeviceFiles | undefined; code: string; status?: number; before?: () => Promise<void>; after?: () => Promise<void> }[] = [
      { name: 'a certificate from project beta’s CA claiming O=acme', slug: 'acme', files: () => { const c = makeDevice(betaRoot, '/O=acme/CN=intruder'); return device('intruder', c.pem, c.keyPem); }, code: 'UNKNOWN_ISSUER' },
      { name: 'an O that names no project', slug: 'acme', files: () => { const c = makeDevice(acmeRoot, '/O=nope/CN=lost-1'); return device('lost-1', c.pem, c.keyPem); }, code: 'UNKNOWN_PROJECT' },
      { name: 'a CN that is no valid certificate ID', slug: 'acme', files: () => { const c = makeDevice(acmeRoot, '/O=acme/CN=bad id!'); return device('bad-cn', c.pem, c.keyPem); }, code: 'INVALID_CERTIFICATE_ID' },
      { name: 'an expired certificate', slug: 'acme', files: () => { const c = makeDevice(acmeRoot, '/O=acme/CN=expired-1', { from: new Date(Date.now() - 400 * DAY_MS), days: 30 }); return device('expired-1', c.pem, c.keyPem); }, code: 'CERT_EXPIRED' },
      { name: 'a certificate not yet valid', slug: 'acme', files: () => { const c = makeDevice(acmeRoot, '/O=acme/CN=future-1', { from: new Date(Date.now() + 5 * DAY_MS), days: 30 }); return device('future-1', c.pem, c.keyPem); }, code: 'CERT_NOT_YET_VALID' },
      { name: 'a chain that needs an intermediate nobody supplied', slug: 'acme', files: () => { const c = makeDevice(acmeIssuing, '/O=acme/CN=orphan-1'); return device('orphan-1', c.pem, c.keyPem); }, code: 'UNKNOWN_ISSUER' },
      { name: 'no client certificate at all', slug: 'acme', files: () => undefined, code: 'NO_CLIENT_CERTIFICATE', status: 401 },
      {
        name: 'an RSA-1024 device key',
        slug: 'acme',
        files: () => {
          openssl(['genrsa', '-out', 'rsa1024.key.pem', '1024'], dir);
          writeFileSync(join(dir, 'acme-root.crt.pem'), acmeRoot.pem);
          writeFileSync(join(dir, 'acme-root.key.pem'), acmeRoot.key.export({ type: 'pkcs8', format: 'pem' }));
          openssl(['req', '-new', '-key', 'rsa1024.key.pem', '-subj', '/O=acme/CN=weak-1', '-out', 'rsa1024.csr.pem'], dir);
          openssl(['x509', '-req', '-in', 'rsa1024.csr.pem', '-CA', 'acme-root.crt.pem', '-CAkey', 'acme-root.key.pem', '-CAcreateserial', '-days', '7', '-out', 'rsa1024.crt.pem'], dir);
          return { cert: join(dir, 'rsa1024.crt.pem'), key: join(dir, 'rsa1024.key.pem') };
        },
        code: 'WEAK_KEY',
      },
      {
        name: 'O and CN in one multi-valued RDN (openssl -multivalue-rdn)',
        slug: 'acme',
        files: () => {
          writeFileSync(join(dir, 'acme-root.crt.pem'), acmeRoot.pem);
          writeFileSync(join(dir, 'acme-root.key.pem'), acmeRoot.key.export({ type: 'pkcs8', format: 'pem' }));
          openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'mv.key.pem'], dir);
          openssl(['req', '-new', '-key', 'mv.key.pem', '-multivalue-rdn', '-subj', '/O=acme+CN=mv-1', '-out', 'mv.csr.pem'], dir);
          openssl(['x509', '-req', '-in', 'mv.csr.pem', '-CA', 'acme-root.crt.pem', '-CAkey', 'acme-root.key.pem', '-CAcreateserial', '-days', '7', '-out', 'mv.crt.pem'], dir);
          return { cert: join(dir, 'mv.crt.pem'), key: join(dir, 'mv.key.pem') };
        },
        code: 'SUBJECT_MULTIVALUED_RDN',
      },
    ];
    for (const r of refusals) {
      it(`refuses ${r.name} (${r.code}), audits it and creates nothing`, async () => {
        const files = await r.files();
        const before = JSON.parse(await storeSnapshot(api.server)) as unknown[][];
        const response = await curlIdentity(api.server.gatewayUrl, serverCa, files, r.code === 'WEAK_KEY' ? { OPENSSL_CONF: writeSecurityLevel0Config(dir) } : {});
        assert.equal(response.status, r.status ?? 403, JSON.stringify(response.body));
        assert.equal(response.body['code'], r.code);
        const after = JSON.parse(await storeSnapshot(api.server)) as unknown[][];
        assert.deepEqual(after.slice(0, 4), before.slice(0, 4), 'no project, CA, device or key changed');
        if (r.code !== 'NO_CLIENT_CERTIFICATE' && r.code !== 'UNKNOWN_PROJECT') {
          assert.equal((await lastFailure(r.slug, r.code))?.['code'], r.code);
        } else {
          // Tied to no project: in the platform's audit log.
          const platform = await eventually(
            async () => (await api.call('GET', '/v1/audit?perPage=1')).body['list'][0] as { action: string; details: { code: string } } | undefined,
            (event) => event?.details.code === r.code,
          );
          assert.equal(platform?.action, 'device.authentication-failed');
          assert.equal(platform?.details.code, r.code);
        }
      });
    }

    it('refuses a disabled CA (CA_DISABLED) and a disabled device (DEVICE_DISABLED)', async () => {
      const cert = makeDevice(acmeRoot, '/O=acme/CN=toggled');
      const files = device('toggled', cert.pem, cert.keyPem);
      assert.equal((await curlIdentity(api.server.gatewayUrl, serverCa, files)).status, 200);
      await api.call('PATCH', `/v1/projects/acme/certificates/${acmeRootId}`, { json: { enabled: false } });
      const caOff = await curlIdentity(api.server.gatewayUrl, serverCa, files);
      assert.equal(caOff.body['code'], 'CA_DISABLED');
      assert.equal((await lastFailure('acme', 'CA_DISABLED'))?.['code'], 'CA_DISABLED');
      await api.call('PATCH', `/v1/projects/acme/certificates/${acmeRootId}`, { json: { enabled: true } });
      const [toggled] = (await api.call('GET', '/v1/projects/acme/devices?certificateId=toggled')).body['list'];
      await api.call('PATCH', `/v1/projects/acme/devices/${toggled.id}`, { json: { enabled: false } });
      const deviceOff = await curlIdentity(api.server.gatewayUrl, serverCa, files);
      assert.equal(deviceOff.body['code'], 'DEVICE_DISABLED');
      assert.equal((await lastFailure('acme', 'DEVICE_DISABLED'))?.['code'], 'DEVICE_DISABLED');
      await api.call('PATCH', `/v1/projects/acme/devices/${toggled.id}`, { json: { enabled: true } });
      assert.equal((await curlIdentity(api.server.gatewayUrl, serverCa, files)).status, 200);
    });
  });
}
