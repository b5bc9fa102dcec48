import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { fingerprintSha256 } from '@fleetpki/pki';
import { makeDevice, makeRoot, opensslAsync } from '@fleetpki/test-support';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { curl } from './helpers/curl.js';
import { curlIdentity, writeDeviceFiles, type DeviceFiles } from './helpers/device-clients.js';
import { eventually } from './helpers/eventually.js';
import { mosquitto } from './helpers/mqtt-clients.js';
import { DIALECTS } from './helpers/stores.js';
import type { GatewayUnderTest } from './helpers/transport.js';
import { TRANSPORTS } from './helpers/transports.js';

const run = promisify(execFile);

/**
 * Issue 17 with real openssl and curl: an issued certificate is in the inventory before it
 * connects; rotation over POST /v1/csr supersedes the old certificate once the new one is used,
 * the old one connects through the grace period and is refused with CERT_SUPERSEDED after it;
 * a device that never uses its new certificate keeps its old one; renewAfter is the same on
 * HTTPS and CoAP and a forced renewal moves it to then; bad settings and renewals change nothing.
 */
for (const dialect of DIALECTS) {
  describe(`certificate lifecycle: inventory, rotation, renewal window [${dialect}]`, () => {
    let api: TestApi;
    let dir: string;
    let serverCa: string;
    let gatewayUnderTest: GatewayUnderTest;
    // Room for a loaded machine between the supersession and the checks that must still fall inside it.
    const GRACE_SECONDS = 4;

    const ssl = (args: readonly string[]) => opensslAsync(args, dir);
    const newKeyAndCsr = async (name: string, subject: string) => {
      await ssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key.pem`]);
      await ssl(['req', '-new', '-key', `${name}.key.pem`, '-subj', subject, '-out', `${name}.csr.pem`]);
      await ssl(['req', '-in', `${name}.csr.pem`, '-outform', 'DER', '-out', `${name}.csr.der`]);
      return { key: join(dir, `${name}.key.pem`), pem: readFileSync(join(dir, `${name}.csr.pem`), 'utf8') };
    };
    /** A certificate from POST …/pki/issue, written beside its key. */
    const issue = async (name: string, certificateId: string): Promise<DeviceFiles & { fingerprint: string }> => {
      const csr = await newKeyAndCsr(name, `/O=life/CN=${certificateId}`);
      const r = await api.call('POST', '/v1/projects/life/pki/issue', { json: { csr: base64(csr.pem) } });
      assert.equal(r.status, 201, r.text);
      writeFileSync(join(dir, `${name}.crt.pem`), r.body['certificate']);
      return { cert: join(dir, `${name}.crt.pem`), key: csr.key, fingerprint: r.body['fingerprintSha256'] as string };
    };
    /** POST /v1/csr over the device's own mTLS connection (curl), as Golioth's rotation is done. */
    const rotate = async (device: DeviceFiles, name: string, certificateId: string): Promise<DeviceFiles & { fingerprint: string }> => {
      const csr = await newKeyAndCsr(name, `/O=life/CN=${certificateId}`);
      const port = new URL(api.server.gatewayUrl).port;
      const r = await curl(['--cacert', serverCa, '--cert', device.cert, '--key', device.key, '-H', 'content-type: application/pkcs10', '--data-binary', `@${join(dir, `${name}.csr.der`)}`, `https://localhost:${port}/v1/csr`]);
      assert.equal(r.status, 200, r.body.toString('utf8'));
      writeFileSync(join(dir, `${name}.crt.der`), r.body);
      await ssl(['x509', '-in', `${name}.crt.der`, '-inform', 'DER', '-out', `${name}.crt.pem`]);
      const fingerprint = (await ssl(['x509', '-in', `${name}.crt.pem`, '-noout', '-fingerprint', '-sha256'])).toString('utf8').split('=')[1]?.trim().replaceAll(':', '').toLowerCase();
      return { cert: join(dir, `${name}.crt.pem`), key: csr.key, fingerprint: fingerprint as string };
    };
    const inventoryOf = async (fingerprint: string) => (await api.call('GET', `/v1/projects/life/device-certificates/${fingerprint}`)).body;
    const identity = (device: DeviceFiles) => curlIdentity(api.server.gatewayUrl, serverCa, device);
    /** The authentication journal writes sightings every 200 ms: past one write. */
    const journalWritten = () => new Promise((resolve) => setTimeout(resolve, 500));

    before(async () => {
      api = await startTestApi(dialect);
      dir = api.store.dataDir;
      serverCa = join(dir, 'server-ca.pem');
      writeFileSync(serverCa, (await api.call('GET', '/v1/server-ca', { key: null })).text);
      gatewayUnderTest = { urls: api.server, serverCaFile: serverCa };
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Life', slug: 'life' } })).status, 201);
      assert.equal((await api.call('POST', '/v1/projects/life/pki/cas', { json: { mode: 'generate', profile: { defaultDays: 30, maxDays: 90 } } })).status, 201);
      const settings = await api.call('PATCH', '/v1/projects/life', { json: { settings: { rotationGracePeriodSeconds: GRACE_SECONDS } } });
      assert.equal(settings.status, 200, settings.text);
    });
    after(() => api.close());

    it('the project shows the lifecycle settings with their defaults', async () => {
      const r = await api.call('GET', '/v1/projects/life');
      assert.deepEqual(r.body['settings'], {
        staleCrl: 'apply',
        crlValiditySeconds: 604_800,
        rotationGracePeriodSeconds: GRACE_SECONDS,
        supersedeOnNewerCertificate: false,
        renewAtLifetimeFraction: 0.67,
        renewalJitterSeconds: 0,
        expiryAlertDays: [30, 7, 1],
        tokenLifetimeSeconds: 600,
        tokenAudiences: [],
        allowServerKeygen: false,
      });
    });

    it('an issued certificate is in the inventory before it connects (source issued, no sighting yet)', async () => {
      const first = await issue('unit-1', 'unit-1');
      const row = await inventoryOf(first.fingerprint);
      assert.equal(row['source'], 'issued');
      assert.equal(row['status'], 'active');
      assert.equal(row['firstSeenAt'], null);
      assert.equal(row['subject'], '/O=life/CN=unit-1');
      assert.match(row['serialNumber'] as string, /^[0-9A-F]+$/);
    });

    it('rotation over POST /v1/csr: the old certificate works until the new one is used, through the grace period, then CERT_SUPERSEDED', async () => {
      const old = await issue('unit-2', 'unit-2');
      const before = await identity(old);
      assert.equal(before.status, 200, JSON.stringify(before.body));
      const next = await rotate(old, 'unit-2-next', 'unit-2');
      // Not used yet: the old one keeps working (no bricking), and stays active.
      for (let i = 0; i < 2; i++) assert.equal((await identity(old)).status, 200);
      await journalWritten();
      assert.equal((await inventoryOf(old.fingerprint))['status'], 'active');
      assert.equal((await inventoryOf(next.fingerprint))['status'], 'active');
      // First use of the new one: the old one is superseded, and connects through the grace period.
      const used = await identity(next);
      assert.equal(used.status, 200, JSON.stringify(used.body));
      assert.equal(used.body['deviceId'], before.body['deviceId']);
      const superseded = await eventually(() => inventoryOf(old.fingerprint), (row) => row['status'] === 'superseded');
      assert.equal(superseded['status'], 'superseded');
      assert.ok(superseded['supersededAt']);
      assert.equal((await inventoryOf(next.fingerprint))['status'], 'active');
      assert.equal((await identity(old)).status, 200, 'within the grace period');
      const refusedAt = Date.parse(superseded['supersededAt'] as string) + GRACE_SECONDS * 1000;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, refusedAt - Date.now()) + 200));
      const refused = await identity(old);
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.equal(refused.body['code'], 'CERT_SUPERSEDED');
      assert.equal(refused.body['supersededAt'], superseded['supersededAt']);
      assert.equal(refused.body['gracePeriodSeconds'], GRACE_SECONDS);
      assert.equal((await identity(next)).status, 200);
      const listed = await api.call('GET', `/v1/projects/life/devices/${before.body['deviceId']}/certificates`);
      assert.deepEqual(
        (listed.body['list'] as { fingerprintSha256: string; status: string }[]).map((c) => [c.fingerprintSha256, c.status]).sort(),
        [
          [old.fingerprint, 'superseded'],
          [next.fingerprint, 'active'],
        ].sort(),
      );
      const audit = await api.call('GET', `/v1/projects/life/audit?action=certificate.superseded`);
      assert.equal((audit.body['list'] as { targetId: string }[]).filter((e) => e.targetId === old.fingerprint).length, 1);
    });

    it('a device that rotates but keeps connecting with its old certificate is not locked out', async () => {
      const old = await issue('unit-3', 'unit-3');
      assert.equal((await identity(old)).status, 200);
      await rotate(old, 'unit-3-next', 'unit-3');
      await new Promise((resolve) => setTimeout(resolve, GRACE_SECONDS * 1000 + 200));
      assert.equal((await identity(old)).status, 200);
      await journalWritten();
      assert.equal((await inventoryOf(old.fingerprint))['status'], 'active');
    });

    it('supersedeOnNewerCertificate: with it, a certificate from an uploaded CA with a later notBefore supersedes the older; without it, neither does', async () => {
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Uploaded', slug: 'uploaded' } })).status, 201);
      const root = makeRoot('/CN=Uploaded Root', { from: new Date(Date.now() - 10 * 24 * 3600 * 1000) });
      assert.equal((await api.call('POST', '/v1/projects/uploaded/certificates', { json: { certFile: base64(root.pem) } })).status, 201);
      const made = (name: string, daysAgo: number) => {
        const issued = makeDevice(root, `/O=uploaded/CN=${name}`, { from: new Date(Date.now() - daysAgo * 24 * 3600 * 1000) });
        return { ...writeDeviceFiles(dir, `${name}-${daysAgo}`, issued.pem, issued.keyPem), fingerprint: fingerprintSha256(issued.der) };
      };
      const statusOf = async (fingerprint: string) => (await api.call('GET', `/v1/projects/uploaded/device-certificates/${fingerprint}`)).body['status'];
      // Off (the default): two certificates of one device, both stay active.
      const [older, newer] = [made('gauge-1', 3), made('gauge-1', 2)];
      for (const device of [older, newer, older]) assert.equal((await identity(device)).status, 200);
      await journalWritten();
      assert.deepEqual([await statusOf(older.fingerprint), await statusOf(newer.fingerprint)], ['active', 'active']);
      // On, grace 0: the first use of a newer certificate retires the older at once.
      const set = await api.call('PATCH', '/v1/projects/uploaded', { json: { settings: { supersedeOnNewerCertificate: true, rotationGracePeriodSeconds: 0 } } });
      assert.equal(set.status, 200, set.text);
      const [first, second] = [made('gauge-2', 3), made('gauge-2', 1)];
      assert.equal((await identity(first)).status, 200);
      await journalWritten();
      assert.equal((await identity(second)).status, 200);
      await eventually(() => statusOf(first.fingerprint), (status) => status === 'superseded');
      const refused = await identity(first);
      assert.equal(refused.body['code'], 'CERT_SUPERSEDED');
      assert.equal(await statusOf(second.fingerprint), 'active');
      // An older certificate seen after a newer one retires nothing.
      const oldest = made('gauge-2', 5);
      assert.equal((await identity(oldest)).status, 200);
      await journalWritten();
      assert.equal(await statusOf(second.fingerprint), 'active');
    });

    it('renewAfter is the same on HTTPS (body and Fleetpki-Renew-After) and CoAP, at 0.67 of the lifetime; forcing renewal moves it to then', async () => {
      const device = await issue('unit-4', 'unit-4');
      const https = await identity(device);
      const certificate = https.body['certificate'] as { fingerprintSha256: string; notAfter: string; renewAfter: string };
      assert.equal(certificate.fingerprintSha256, device.fingerprint);
      const notBefore = Date.parse((await inventoryOf(device.fingerprint))['notBefore'] as string);
      const notAfter = Date.parse(certificate.notAfter);
      const expected = notBefore + Math.floor(((notAfter - notBefore) * 0.67) / 1000) * 1000;
      assert.equal(certificate.renewAfter, new Date(expected).toISOString());
      const port = new URL(api.server.gatewayUrl).port;
      const headers = (await run('curl', ['-s', '-D', '-', '-o', '/dev/null', '--cacert', serverCa, '--cert', device.cert, '--key', device.key, `https://localhost:${port}/v1/device/identity`], { encoding: 'utf8' })).stdout;
      assert.match(headers, new RegExp(`^fleetpki-renew-after: ${certificate.renewAfter.replaceAll('.', '\\.')}\\r?$`, 'mi'));
      const coap = TRANSPORTS.find((t) => t.name === 'coap');
      assert.ok(coap);
      const overCoap = await coap.clients[0].attempt(gatewayUnderTest, device);
      assert.equal(overCoap.admitted, true, overCoap.output);
      assert.deepEqual(overCoap.body?.['certificate'], certificate);

      // MQTT: nothing on the renewal topic while the window is closed.
      const renewalTopicArgs = ['-i', 'unit-4', '-t', 'life/unit-4/$fleetpki/renewal', '--retained-only', '-C', '1', '-W', '2'];
      const quiet = await mosquitto('mosquitto_sub', api.server.mqttUrl, serverCa, device, renewalTopicArgs);
      assert.notEqual(quiet.exit, 0, quiet.output);
      assert.equal(quiet.output.trim(), 'Timed out', quiet.output);
      // A device may not publish under the server's part of its prefix: the session ends.
      const spoof = await mosquitto('mosquitto_pub', api.server.mqttUrl, serverCa, device, ['-i', 'unit-4', '-t', 'life/unit-4/$fleetpki/renewal', '-m', '{}', '-q', '1']);
      assert.notEqual(spoof.exit, 0, spoof.output);
      // A renewal covers certificates issued before its second (notBefore has whole seconds only).
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const forced = await api.call('POST', '/v1/projects/life/renewals', { json: { deviceIds: [https.body['deviceId']] } });
      assert.equal(forced.status, 201, forced.text);
      const requestedAt = forced.body['requestedAt'] as string;
      const after = (await identity(device)).body['certificate'] as { renewAfter: string };
      assert.equal(after.renewAfter, new Date(Math.floor(Date.parse(requestedAt) / 1000) * 1000).toISOString());
      assert.deepEqual((await coap.clients[0].attempt(gatewayUnderTest, device)).body?.['certificate'], { ...certificate, renewAfter: after.renewAfter });
      // MQTT: the window is open, so subscribing to the renewal topic gets the same JSON, retained.
      const notice = await mosquitto('mosquitto_sub', api.server.mqttUrl, serverCa, device, renewalTopicArgs);
      assert.equal(notice.exit, 0, notice.output);
      assert.deepEqual(JSON.parse(notice.output.trim()), { ...certificate, renewAfter: after.renewAfter });
      // The certificate it renews into is not told to renew again.
      const renewed = await rotate(device, 'unit-4-next', 'unit-4');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const fresh = (await identity(renewed)).body['certificate'] as { renewAfter: string };
      assert.ok(Date.parse(fresh.renewAfter) > Date.now() + 24 * 3600 * 1000, fresh.renewAfter);
    });

    it('MQTT: a device subscribed to its renewal topic is told within seconds of a forced renewal, retained', async () => {
      const device = await issue('unit-6', 'unit-6');
      const first = await identity(device);
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // past the second it was issued in
      const waiting = mosquitto('mosquitto_sub', api.server.mqttUrl, serverCa, device, ['-i', 'unit-6', '-t', 'life/unit-6/$fleetpki/renewal', '--retained-only', '-C', '1', '-W', '10']);
      await new Promise((resolve) => setTimeout(resolve, 700)); // subscribed, window still closed
      const forced = await api.call('POST', '/v1/projects/life/renewals', { json: { deviceIds: [first.body['deviceId']] } });
      assert.equal(forced.status, 201, forced.text);
      const notice = await waiting;
      assert.equal(notice.exit, 0, notice.output);
      const told = JSON.parse(notice.output.trim()) as { fingerprintSha256: string; renewAfter: string };
      assert.equal(told.fingerprintSha256, device.fingerprint);
      assert.equal(told.renewAfter, new Date(Math.floor(Date.parse(forced.body['requestedAt'] as string) / 1000) * 1000).toISOString());
    });

    it('renewal for every device under a CA certificate', async () => {
      const device = await issue('unit-5', 'unit-5');
      const before = (await identity(device)).body['certificate'] as { renewAfter: string };
      assert.ok(Date.parse(before.renewAfter) > Date.now());
      const cas = await api.call('GET', '/v1/projects/life/certificates');
      const caId = (cas.body['list'] as { id: string }[])[0]?.id as string;
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // past the second it was issued in
      const forced = await api.call('POST', '/v1/projects/life/renewals', { json: { caId } });
      assert.equal(forced.status, 201, forced.text);
      await eventually(
        async () => ((await identity(device)).body['certificate'] as { renewAfter: string }).renewAfter,
        (renewAfter) => Date.parse(renewAfter) <= Date.now(),
        2000,
      );
    });

    it('the inventory pages by cursor: in order, without overlap or gap, to a null nextCursor', async () => {
      const all = await api.call('GET', '/v1/projects/life/device-certificates?perPage=500');
      const expected = (all.body['list'] as { fingerprintSha256: string }[]).map((c) => c.fingerprintSha256);
      assert.ok(expected.length >= 8, `${expected.length} certificates`);
      assert.equal(all.body['nextCursor'], null);
      const walked: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r = await api.call('GET', `/v1/projects/life/device-certificates?perPage=3${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(r.status, 200, r.text);
        walked.push(...(r.body['list'] as { fingerprintSha256: string }[]).map((c) => c.fingerprintSha256));
        cursor = r.body['nextCursor'] as string | null;
        pages++;
      } while (cursor !== null && pages < 20);
      assert.deepEqual(walked, expected);
      // Filters hold across pages too.
      const issued = await api.call('GET', '/v1/projects/life/device-certificates?perPage=2&source=issued');
      const next = await api.call('GET', `/v1/projects/life/device-certificates?perPage=2&source=issued&cursor=${issued.body['nextCursor']}`);
      assert.ok([...issued.body['list'], ...next.body['list']].every((c: { source: string }) => c.source === 'issued'));
    });

    it('refuses bad settings and renewals with codes, changing nothing', async () => {
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Other', slug: 'other' } })).status, 201);
      const foreign = await api.call('POST', '/v1/projects/other/devices', { json: { name: 'theirs' } });
      assert.equal(foreign.status, 201);
      const snapshot = async () =>
        JSON.stringify([
          (await api.call('GET', '/v1/projects/life')).body['settings'],
          await api.server.store.db.selectFrom('renewal_requests').select(['id']).orderBy('id').execute(),
          (await api.call('GET', '/v1/projects/life/device-certificates?perPage=100')).body['total'],
        ]);
      const before = await snapshot();
      const cases: { name: string; method: 'PATCH' | 'POST' | 'GET'; path: string; json?: unknown; status: number; code: string }[] = [
        { name: 'grace period negative', method: 'PATCH', path: '/v1/projects/life', json: { settings: { rotationGracePeriodSeconds: -1 } }, status: 400, code: 'VALIDATION_FAILED' },
        { name: 'grace period over a year', method: 'PATCH', path: '/v1/projects/life', json: { settings: { rotationGracePeriodSeconds: 366 * 24 * 3600 } }, status: 400, code: 'VALIDATION_FAILED' },
        { name: 'renewal fraction 0', method: 'PATCH', path: '/v1/projects/life', json: { settings: { renewAtLifetimeFraction: 0 } }, status: 400, code: 'VALIDATION_FAILED' },
        { name: 'renewal fraction 1', method: 'PATCH', path: '/v1/projects/life', json: { settings: { renewAtLifetimeFraction: 1 } }, status: 400, code: 'VALIDATION_FAILED' },
        { name: 'renewal fraction 1.5', method: 'PATCH', path: '/v1/projects/life', json: { settings: { renewAtLifetimeFraction: 1.5 } }, status: 400, code: 'VALIDATION_FAILED' },
        { name: 'alert days not a list', method: 'PATCH', path: '/v1/projects/life', json: { settings: { expiryAlertDays: 30 } }, status: 400, code: 'VALIDATION_FAILED' },
        { name: 'alert day 0', method: 'PATCH', path: '/v1/projects/life', json: { settings: { expiryAlertDays: [30, 0] } }, status: 400, code: 'VALIDATION_FAILED' },
        { name: 'supersede flag not boolean', method: 'PATCH', path: '/v1/projects/life', json: { settings: { supersedeOnNewerCertificate: 'yes' } }, status: 400, code: 'VALIDATION_FAILED' },
        { name: 'renewal of another project’s device', method: 'POST', path: '/v1/projects/life/renewals', json: { deviceIds: [foreign.body['id']] }, status: 404, code: 'DEVICE_NOT_FOUND' },
        { name: 'renewal of an unknown CA', method: 'POST', path: '/v1/projects/life/renewals', json: { caId: 'no-such-ca' }, status: 404, code: 'CA_NOT_FOUND' },
        { name: 'renewal naming nothing', method: 'POST', path: '/v1/projects/life/renewals', json: { deviceIds: [] }, status: 400, code: 'VALIDATION_FAILED' },
        { name: 'renewal naming both', method: 'POST', path: '/v1/projects/life/renewals', json: { deviceIds: ['a'], caId: 'b' }, status: 400, code: 'VALIDATION_FAILED' },
        { name: 'unknown status filter', method: 'GET', path: '/v1/projects/life/device-certificates?status=expired', status: 400, code: 'VALIDATION_FAILED' },
        { name: 'a cursor that is no base64url', method: 'GET', path: '/v1/projects/life/device-certificates?cursor=not%20a%20cursor!', status: 400, code: 'CURSOR_INVALID' },
        { name: 'a cursor of another shape', method: 'GET', path: `/v1/projects/life/device-certificates?cursor=${Buffer.from('["x"]').toString('base64url')}`, status: 400, code: 'CURSOR_INVALID' },
        { name: 'a cursor that is not JSON', method: 'GET', path: `/v1/projects/life/device-certificates?cursor=${Buffer.from('{oops').toString('base64url')}`, status: 400, code: 'CURSOR_INVALID' },
        { name: 'a cursor with a forged key', method: 'GET', path: `/v1/projects/life/device-certificates?cursor=${Buffer.from(JSON.stringify(["2026-01-01' OR 1=1", 'zz'])).toString('base64url')}`, status: 400, code: 'CURSOR_INVALID' },
      ];
      for (const c of cases) {
        const r = await api.call(c.method, c.path, c.json === undefined ? {} : { json: c.json });
        assert.equal(r.status, c.status, `${c.name}: ${r.text}`);
        assert.equal(r.body['code'], c.code, `${c.name}: ${r.text}`);
      }
      assert.equal(await snapshot(), before);
    });
  });
}
