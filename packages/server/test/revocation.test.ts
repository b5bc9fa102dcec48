import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { makeDevice, makeIntermediate, makeRoot, type Issued } from '@fleetpki/test-support';
import { serialNumberText } from '../src/domain/revocation/index.js';
import { gatewayOf, startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { writeDeviceFiles } from './helpers/device-clients.js';
import { eventually } from './helpers/eventually.js';
import { DIALECTS } from './helpers/stores.js';
import type { GatewayUnderTest } from './helpers/transport.js';
import { TRANSPORTS } from './helpers/transports.js';

/** DESIGN §8: a revoked certificate is refused everywhere, and its open sessions end within one second. */
const DEADLINE_MS = 1000;

const serialOf = (issued: Issued): string => serialNumberText(issued.cert.serialNumber);
const fingerprintOf = (issued: Issued): string => createHash('sha256').update(issued.cert.der).digest('hex');

/** What the store holds of revocations and the inventory's statuses, to show a refused request changed nothing. */
async function revocationState(api: TestApi): Promise<string> {
  const db = api.server.store.db;
  const [revocations, statuses, generations] = await Promise.all([
    db.selectFrom('revocations').selectAll().orderBy('id').execute(),
    db.selectFrom('device_certificates').select(['fingerprint_sha256', 'status']).orderBy('fingerprint_sha256').execute(),
    db.selectFrom('projects').select(['id', 'auth_generation', 'revocation_generation']).orderBy('id').execute(),
  ]);
  return JSON.stringify({ revocations, statuses, generations });
}

for (const dialect of DIALECTS) {
  for (const transport of TRANSPORTS) {
    describe(`revoked certificates over ${transport.name} [${dialect}]`, () => {
      let api: TestApi;
      let gateway: GatewayUnderTest;
      let root: Issued;
      let rootId: string;
      before(async () => {
        api = await startTestApi(dialect);
        assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Acme', slug: 'acme' } })).status, 201);
        gateway = await gatewayOf(api);
        root = makeRoot('/CN=Revoking Root');
        rootId = (await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(root.pem) } })).body['id'] as string;
      });
      after(() => api.close());

      const deviceOf = (id: string, issuer: Issued = root) => {
        const cert = makeDevice(issuer, `/O=acme/CN=${id}`);
        return { cert, files: writeDeviceFiles(api.store.dataDir, id, cert.pem, cert.keyPem) };
      };

      /** Holds a session of a new device and waits until the inventory lists its certificate. */
      const connected = async (id: string) => {
        const { cert, files } = deviceOf(id);
        const held = await transport.hold(gateway, files);
        const fingerprint = fingerprintOf(cert);
        await eventually(
          async () => (await api.call('GET', `/v1/projects/acme/device-certificates/${fingerprint}`)).status,
          (status) => status === 200,
        );
        return { held, files, fingerprint, cert };
      };

      const refusedWithRevoked = async (files: ReturnType<typeof deviceOf>['files']): Promise<void> => {
        const refused = await transport.clients[0].attempt(gateway, files);
        assert.equal(refused.admitted, false, refused.output);
        assert.equal(refused.status, transport.refusalStatus('CERT_REVOKED'), refused.output);
        if (transport.answersWithBody) {
          assert.equal(refused.body?.['code'], 'CERT_REVOKED', refused.output);
          assert.equal(refused.body?.['reason'], 'keyCompromise', refused.output);
          assert.equal(refused.body?.['certIndex'], 0, refused.output);
        }
      };

      it('revoking by fingerprint ends the open session within one second, refuses it anew, and leaves a bystander', async () => {
        const victim = await connected('rev-fp');
        const bystander = await connected('rev-bystander');
        const since = Date.now();
        const r = await api.call('POST', '/v1/projects/acme/revocations', { json: { certificates: [{ fingerprintSha256: victim.fingerprint }], reason: 'keyCompromise' } });
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.body['results'], [{ index: 0, fingerprintSha256: victim.fingerprint, status: 'revoked' }]);
        assert.ok((await victim.held.closedAfter(since, 3000)) <= DEADLINE_MS);
        await assert.rejects(bystander.held.closedAfter(Date.now(), 700), /still open/);
        bystander.held.end();
        await refusedWithRevoked(victim.files);
        const listed = (await api.call('GET', `/v1/projects/acme/device-certificates/${victim.fingerprint}`)).body;
        assert.equal(listed['status'], 'revoked');
        assert.equal(listed['revocationReason'], 'keyCompromise');
        const event = await eventually(
          async () => (await api.call('GET', '/v1/projects/acme/audit?action=device.authentication-failed&perPage=1')).body['list'][0] as { details: Record<string, any> } | undefined, // eslint-disable-line @typescript-eslint/no-explicit-any
          (e) => e?.details['code'] === 'CERT_REVOKED',
        );
        assert.equal(event?.details['facts']?.reason, 'keyCompromise');
        assert.equal(event?.details['transport'], transport.name);
      });

      it('revoking by the CA and serial ends the session the same way', async () => {
        const victim = await connected('rev-serial');
        const since = Date.now();
        const r = await api.call('POST', '/v1/projects/acme/revocations', { json: { certificates: [{ caId: rootId, serialNumber: serialOf(victim.cert) }], reason: 'keyCompromise' } });
        assert.equal(r.status, 200, r.text);
        assert.ok((await victim.held.closedAfter(since, 3000)) <= DEADLINE_MS);
        await refusedWithRevoked(victim.files);
      });

      it('a serial revoked before its certificate was ever seen: refused at its first connection, no device created', async () => {
        const { cert, files } = deviceOf('rev-unseen');
        // As a factory manifest spells it: lower case, with openssl's colons.
        const spelled = serialOf(cert).toLowerCase().replace(/(..)(?!$)/g, '$1:');
        const r = await api.call('POST', '/v1/projects/acme/revocations', { json: { certificates: [{ caId: rootId, serialNumber: spelled }], reason: 'keyCompromise' } });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.body['results'][0].serialNumber, serialOf(cert));
        await refusedWithRevoked(files);
        assert.equal((await api.call('GET', '/v1/projects/acme/devices?certificateId=rev-unseen')).body['total'], 0);
      });

      it('an intermediate revoked by its serial under the root refuses the devices below it (certIndex 1)', async () => {
        const intermediate = makeIntermediate(root, '/CN=Revoked Issuing CA');
        const cert = makeDevice(intermediate, '/O=acme/CN=rev-below');
        const files = writeDeviceFiles(api.store.dataDir, 'rev-below', cert.pem + intermediate.pem, cert.keyPem);
        const sendsChain = transport.clients.find((c) => c.sendsIntermediates) ?? transport.clients[0];
        assert.equal((await sendsChain.attempt(gateway, files)).admitted, true);
        assert.equal((await api.call('POST', '/v1/projects/acme/revocations', { json: { certificates: [{ caId: rootId, serialNumber: serialOf(intermediate) }], reason: 'keyCompromise' } })).status, 200);
        const refused = await sendsChain.attempt(gateway, files);
        assert.equal(refused.admitted, false, refused.output);
        if (transport.answersWithBody) {
          assert.equal(refused.body?.['code'], 'CERT_REVOKED');
          assert.equal(refused.body?.['certIndex'], 1);
        }
      });
    });
  }

  describe(`the revocation API [${dialect}]`, () => {
    let api: TestApi;
    let root: Issued;
    let rootId: string;
    let betaFingerprint: string;
    before(async () => {
      api = await startTestApi(dialect);
      for (const slug of ['acme', 'beta']) assert.equal((await api.call('POST', '/v1/projects', { json: { name: slug, slug } })).status, 201);
      root = makeRoot('/CN=API Root');
      rootId = (await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(root.pem) } })).body['id'] as string;
      // A certificate beta has seen: its fingerprint means nothing to acme.
      const betaRoot = makeRoot('/CN=Beta Root');
      assert.equal((await api.call('POST', '/v1/projects/beta/certificates', { json: { certFile: base64(betaRoot.pem) } })).status, 201);
      const betaDevice = makeDevice(betaRoot, '/O=beta/CN=beta-1');
      await api.server.store.db
        .insertInto('device_certificates')
        .values({
          project_id: (await api.server.store.db.selectFrom('projects').select('id').where('slug', '=', 'beta').executeTakeFirstOrThrow()).id,
          fingerprint_sha256: (betaFingerprint = fingerprintOf(betaDevice)),
          serial_number: serialOf(betaDevice),
          issuer: '/CN=Beta Root',
          subject: '/O=beta/CN=beta-1',
          not_before: betaDevice.cert.notBefore.toISOString(),
          not_after: betaDevice.cert.notAfter.toISOString(),
          ca_id: null,
          issuer_ca_id: null,
          device_id: null,
          source: 'seen',
          status: 'active',
          revoked_at: null,
          revocation_reason: null,
          superseded_at: null,
          first_seen_at: new Date().toISOString(),
          last_seen_at: new Date().toISOString(),
        })
        .execute();
    });
    after(() => api.close());

    const revoke = (certificates: unknown, reason: unknown = 'keyCompromise') => api.call('POST', '/v1/projects/acme/revocations', { json: { certificates, reason } });

    const refusals: { name: string; certificates: () => unknown; reason?: unknown; status: number; code: string }[] = [
      { name: 'an unknown reason', certificates: () => [{ caId: rootId, serialNumber: '01' }], reason: 'lostIt', status: 400, code: 'VALIDATION_FAILED' },
      { name: 'certificateHold (a revocation here is final)', certificates: () => [{ caId: rootId, serialNumber: '01' }], reason: 'certificateHold', status: 400, code: 'VALIDATION_FAILED' },
      { name: 'a zero serial', certificates: () => [{ caId: rootId, serialNumber: '00' }], status: 400, code: 'SERIAL_NUMBER_INVALID' },
      { name: 'a negative serial', certificates: () => [{ caId: rootId, serialNumber: '-1' }], status: 400, code: 'SERIAL_NUMBER_INVALID' },
      { name: 'a serial that is no number', certificates: () => [{ caId: rootId, serialNumber: 'xyz' }], status: 400, code: 'SERIAL_NUMBER_INVALID' },
      { name: 'a serial longer than 20 octets', certificates: () => [{ caId: rootId, serialNumber: '7'.repeat(41) }], status: 400, code: 'SERIAL_NUMBER_INVALID' },
      { name: 'a fingerprint that is not 64 hex digits', certificates: () => [{ fingerprintSha256: 'abc' }], status: 400, code: 'FINGERPRINT_INVALID' },
      { name: 'the fingerprint of another project’s certificate', certificates: () => [{ fingerprintSha256: betaFingerprint }], status: 404, code: 'DEVICE_CERTIFICATE_NOT_FOUND' },
      { name: 'a CA the project does not hold', certificates: () => [{ caId: 'no-such-ca', serialNumber: '01' }], status: 404, code: 'CA_NOT_FOUND' },
      { name: 'a good entry before a bad one (nothing is half-applied)', certificates: () => [{ caId: rootId, serialNumber: '0A' }, { caId: rootId, serialNumber: 'zz' }], status: 400, code: 'SERIAL_NUMBER_INVALID' },
      { name: '10,001 entries', certificates: () => Array.from({ length: 10_001 }, (_, i) => ({ caId: rootId, serialNumber: (i + 1).toString(16) })), status: 400, code: 'VALIDATION_FAILED' },
      { name: 'no entries', certificates: () => [], status: 400, code: 'VALIDATION_FAILED' },
      { name: 'an entry naming both ways', certificates: () => [{ caId: rootId, serialNumber: '01', fingerprintSha256: 'a'.repeat(64) }], status: 400, code: 'VALIDATION_FAILED' },
    ];
    for (const r of refusals) {
      it(`refuses ${r.name} (${r.code}) and stores nothing`, async () => {
        const before = await revocationState(api);
        const answer = await revoke(r.certificates(), r.reason);
        assert.equal(answer.status, r.status, answer.text);
        assert.equal(answer.body['code'], r.code, answer.text);
        assert.equal(await revocationState(api), before);
      });
    }

    it('answers one result per entry, says already-revoked for a repeat, and lists with filters', async () => {
      const first = await revoke([{ caId: rootId, serialNumber: '0x1F' }, { caId: rootId, serialNumber: '1f' }, { caId: rootId, serialNumber: '20' }], 'superseded');
      assert.equal(first.status, 200, first.text);
      assert.deepEqual(
        first.body['results'].map((r: { status: string; serialNumber: string }) => [r.serialNumber, r.status]),
        [
          ['1F', 'revoked'],
          ['1F', 'already-revoked'],
          ['20', 'revoked'],
        ],
      );
      assert.equal(first.body['revoked'], 2);
      assert.equal(first.body['alreadyRevoked'], 1);
      const again = await revoke([{ caId: rootId, serialNumber: '20' }], 'keyCompromise');
      assert.equal(again.body['results'][0].status, 'already-revoked');
      const listed = await api.call('GET', `/v1/projects/acme/revocations?caId=${rootId}&reason=superseded`);
      assert.equal(listed.status, 200);
      assert.equal(listed.body['total'], 2);
      const one = await api.call('GET', '/v1/projects/acme/revocations?serialNumber=20');
      assert.equal(one.body['total'], 1);
      assert.equal(one.body['list'][0].reason, 'superseded', 'the first revocation stands');
      const audit = await api.call('GET', '/v1/projects/acme/audit?action=certificate.revoke');
      assert.equal(audit.body['total'], 2);
      assert.equal((await api.call('GET', '/v1/projects/beta/revocations')).body['total'], 0);
      assert.equal((await api.call('GET', '/v1/projects/acme/revocations?serialNumber=-5')).body['code'], 'SERIAL_NUMBER_INVALID');
    });

    it('10,000 serials in one request, in one transaction (bench:revocation times it)', async () => {
      const certificates = Array.from({ length: 10_000 }, (_, i) => ({ caId: rootId, serialNumber: (0x100000 + i).toString(16) }));
      const r = await revoke(certificates);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body['revoked'], 10_000);
      assert.equal(r.body['results'].length, 10_000);
      assert.equal((await api.call('GET', `/v1/projects/acme/revocations?caId=${rootId}&perPage=1&count=true`)).body['total'], 10_002);
      assert.equal((await api.call('GET', '/v1/projects/acme/audit?action=certificate.revoke&perPage=1&count=true')).body['total'], 10_002);
      // Uncounted, a list past 10,000 rows says so instead of counting them all.
      assert.equal((await api.call('GET', `/v1/projects/acme/revocations?caId=${rootId}&perPage=1`)).body['total'], null);
    });
  });
}
