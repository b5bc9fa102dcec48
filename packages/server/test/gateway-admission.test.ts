import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeDevice, makeIntermediate, makeRoot, openssl, type Issued } from '@fleetpki/test-support';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { writeDeviceFiles, writeSecurityLevel0Config, type DeviceFiles } from './helpers/device-clients.js';
import { eventually } from './helpers/eventually.js';
import { storeSnapshot } from './helpers/snapshot.js';
import { DIALECTS } from './helpers/stores.js';
import type { GatewayUnderTest } from './helpers/transport.js';
import { TRANSPORTS } from './helpers/transports.js';

const DAY_MS = 24 * 60 * 60 * 1000;

interface AuditEvent {
  readonly id: number;
  readonly action: string;
  readonly targetId: string;
  readonly details: Record<string, unknown>;
}

// Who is admitted and who is refused is decided once for every transport (the identity
// service); each transport only carries the verdict. So every case runs over each transport and
// each real client a device developer would use, asserting what that transport can show: the
// answer (a status, and over HTTPS and CoAP the identity or the refusal's code), the audit log
// (the code, and the transport it came by) and the store (a refusal creates nothing).
for (const dialect of DIALECTS) {
  for (const transport of TRANSPORTS) {
    for (const client of transport.clients) {
      describe(`device admission over ${transport.name} with ${client.name} [${dialect}]`, () => {
        let api: TestApi;
        let dir: string;
        let gateway: GatewayUnderTest;
        const acmeRoot = makeRoot('/CN=Acme Root', { from: new Date(Date.now() - 800 * DAY_MS), days: 3650 });
        const acmeIssuing = makeIntermediate(acmeRoot, '/CN=Acme Issuing', { from: new Date(Date.now() - 700 * DAY_MS), days: 2000 });
        const betaRoot = makeRoot('/CN=Beta Root');
        const strangerRoot = makeRoot('/CN=Stranger Root');
        let acmeRootId: string;

        const upload = async (slug: string, pem: string): Promise<string> => {
          const r = await api.call('POST', `/v1/projects/${slug}/certificates`, { json: { certFile: base64(pem) } });
          assert.equal(r.status, 201, r.text);
          return r.body['id'] as string;
        };
        const device = (name: string, cert: Issued, chain = ''): DeviceFiles => writeDeviceFiles(dir, name, cert.pem + chain, cert.keyPem);
        const auditOf = async (path: string): Promise<AuditEvent[]> => (await api.call('GET', `${path}?perPage=50`)).body['list'] as AuditEvent[];
        /** The newest audit event's id: what a test does next is audited after it. */
        const auditMark = async (): Promise<number> => Math.max(0, ...[...(await auditOf('/v1/audit')), ...(await auditOf('/v1/projects/acme/audit'))].map((e) => e.id));
        /** The refusal audited after `mark` with `code`, once the authentication journal has written it. */
        const auditedRefusal = async (path: string, mark: number, code: string): Promise<Record<string, unknown> | undefined> =>
          (
            await eventually(
              async () => (await auditOf(path)).find((e) => e.id > mark && e.action === 'device.authentication-failed' && e.details['code'] === code),
              (event) => event !== undefined,
            )
          )?.details;

        before(async () => {
          api = await startTestApi(dialect);
          dir = api.store.dataDir;
          for (const slug of ['acme', 'beta', 'chain']) assert.equal((await api.call('POST', '/v1/projects', { json: { name: slug, slug } })).status, 201);
          const serverCaFile = join(dir, 'server-ca.pem');
          writeFileSync(serverCaFile, (await api.call('GET', '/v1/server-ca', { key: null })).text);
          gateway = { urls: api.server, serverCaFile };
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
          const first = await client.attempt(gateway, files);
          assert.ok(first.admitted, first.output);
          const second = await client.attempt(gateway, files);
          assert.ok(second.admitted, second.output);
          const listed = await api.call('GET', '/v1/projects/acme/devices?certificateId=sensor-7');
          assert.equal(listed.body['total'], 1);
          const [row] = listed.body['list'];
          assert.equal(row.provisioning, 'created');
          assert.equal(typeof row.lastSeenAt, 'string');
          if (transport.answersWithBody) {
            assert.equal(first.body?.['projectId'], 'acme');
            assert.equal(first.body?.['certificateId'], 'sensor-7');
            assert.equal(first.body?.['deviceName'], 'sensor-7');
            assert.equal(first.body?.['provisioning'], 'created');
            assert.equal(first.body?.['deviceId'], row.id);
            assert.equal(second.body?.['provisioning'], 'existing');
            assert.equal(second.body?.['deviceId'], first.body?.['deviceId']);
          }
          const audit = await eventually(
            async () => (await api.call('GET', `/v1/projects/acme/audit?targetId=${row.id}`)).body['list'] as AuditEvent[],
            (list) => list.some((e) => e.action === 'device.authenticate'),
          );
          assert.ok(audit.some((e) => e.action === 'device.authenticate' && e.details['transport'] === transport.name));
        });

        it('a device pre-provisioned by name is associated on its first connection', async () => {
          const made = await api.call('POST', '/v1/projects/acme/devices', { json: { name: 'sensor-8' } });
          const r = await client.attempt(gateway, device('sensor-8', makeDevice(acmeRoot, '/O=acme/CN=sensor-8')));
          assert.ok(r.admitted, r.output);
          if (transport.answersWithBody) {
            assert.equal(r.body?.['provisioning'], 'associated');
            assert.equal(r.body?.['deviceId'], made.body['id']);
          }
          assert.equal((await api.call('GET', `/v1/projects/acme/devices/${made.body['id']}`)).body['certificateId'], 'sensor-8');
          assert.equal((await api.call('GET', '/v1/projects/acme/devices?certificateId=sensor-8')).body['total'], 1);
        });

        it('root → intermediate → device: the intermediate uploaded and only the leaf sent', async () => {
          await upload('chain', acmeIssuing.pem);
          const r = await client.attempt(gateway, device('leaf-only', makeDevice(acmeIssuing, '/O=chain/CN=leaf-only')));
          assert.ok(r.admitted, r.output);
          if (transport.answersWithBody) {
            assert.equal(r.body?.['projectId'], 'chain');
            assert.equal(r.body?.['provisioning'], 'created');
          }
          assert.equal((await api.call('GET', '/v1/projects/chain/devices?certificateId=leaf-only')).body['total'], 1);
        });

        // A client that sends the leaf alone cannot be admitted on the root alone: that is the
        // orphan refusal below, and the intermediate-uploaded case above is its way in.
        if (client.sendsIntermediates) {
          it('root → intermediate → device: the root alone uploaded and leaf + intermediate sent', async () => {
            const r = await client.attempt(gateway, device('with-intermediate', makeDevice(acmeIssuing, '/O=acme/CN=with-intermediate'), acmeIssuing.pem));
            assert.ok(r.admitted, r.output);
            if (transport.answersWithBody) {
              assert.equal(r.body?.['projectId'], 'acme');
              assert.equal(r.body?.['certificateId'], 'with-intermediate');
            }
            assert.equal((await api.call('GET', '/v1/projects/acme/devices?certificateId=with-intermediate')).body['total'], 1);
          });
        }

        /** A device certificate signed by the acme root with openssl itself, for a key (`genkey` writes it to `out`) and subject openssl makes. */
        const opensslDevice = (name: string, genkey: (out: string) => string[], subject: readonly string[]): DeviceFiles => {
          writeFileSync(join(dir, 'acme-root.crt.pem'), acmeRoot.pem);
          writeFileSync(join(dir, 'acme-root.key.pem'), acmeRoot.key.export({ type: 'pkcs8', format: 'pem' }));
          openssl(genkey(`${name}.key.pem`), dir);
          openssl(['req', '-new', '-key', `${name}.key.pem`, ...subject, '-out', `${name}.csr.pem`], dir);
          openssl(['x509', '-req', '-in', `${name}.csr.pem`, '-CA', 'acme-root.crt.pem', '-CAkey', 'acme-root.key.pem', '-CAcreateserial', '-days', '7', '-out', `${name}.crt.pem`], dir);
          return { cert: join(dir, `${name}.crt.pem`), key: join(dir, `${name}.key.pem`) };
        };
        const refusals: { name: string; files: () => DeviceFiles | undefined; code: string; platformAudit?: boolean; env?: () => NodeJS.ProcessEnv }[] = [
          { name: 'a certificate from project beta’s CA claiming O=acme', files: () => device('intruder', makeDevice(betaRoot, '/O=acme/CN=intruder')), code: 'UNKNOWN_ISSUER' },
          { name: 'a certificate from a CA no project uploaded', files: () => device('intruder-9', makeDevice(strangerRoot, '/O=acme/CN=intruder-9')), code: 'UNKNOWN_ISSUER' },
          { name: 'an O that names no project', files: () => device('lost-1', makeDevice(acmeRoot, '/O=nope/CN=lost-1')), code: 'UNKNOWN_PROJECT', platformAudit: true },
          { name: 'a CN that is no valid certificate ID', files: () => device('bad-cn', makeDevice(acmeRoot, '/O=acme/CN=bad id!')), code: 'INVALID_CERTIFICATE_ID' },
          { name: 'an expired certificate', files: () => device('expired-1', makeDevice(acmeRoot, '/O=acme/CN=expired-1', { from: new Date(Date.now() - 400 * DAY_MS), days: 30 })), code: 'CERT_EXPIRED' },
          { name: 'a certificate not yet valid', files: () => device('future-1', makeDevice(acmeRoot, '/O=acme/CN=future-1', { from: new Date(Date.now() + 5 * DAY_MS), days: 30 })), code: 'CERT_NOT_YET_VALID' },
          { name: 'a chain that needs an intermediate nobody supplied', files: () => device('orphan-1', makeDevice(acmeIssuing, '/O=acme/CN=orphan-1')), code: 'UNKNOWN_ISSUER' },
          { name: 'no client certificate at all', files: () => undefined, code: 'NO_CLIENT_CERTIFICATE', platformAudit: true },
          {
            name: 'an RSA-1024 device key',
            files: () => opensslDevice('rsa1024', (out) => ['genrsa', '-out', out, '1024'], ['-subj', '/O=acme/CN=weak-1']),
            code: 'WEAK_KEY',
            // The client's own OpenSSL would refuse to offer the key at Debian's default level: lowered, the server is the one to refuse.
            env: () => ({ OPENSSL_CONF: writeSecurityLevel0Config(dir) }),
          },
          {
            name: 'O and CN in one multi-valued RDN (openssl -multivalue-rdn)',
            files: () => opensslDevice('mv', (out) => ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', out], ['-multivalue-rdn', '-subj', '/O=acme+CN=mv-1']),
            code: 'SUBJECT_MULTIVALUED_RDN',
          },
        ];
        for (const r of refusals) {
          it(`refuses ${r.name} (${r.code}), audits it and creates nothing`, async () => {
            const files = r.files();
            const mark = await auditMark();
            const before = JSON.parse(await storeSnapshot(api.server)) as unknown[][];
            const answer = await client.attempt(gateway, files, r.env?.() ?? {});
            assert.equal(answer.status, transport.refusalStatus(r.code), answer.output);
            assert.equal(answer.body?.['code'], transport.answersWithBody ? r.code : undefined, answer.output);
            const after = JSON.parse(await storeSnapshot(api.server)) as unknown[][];
            assert.deepEqual(after.slice(0, 4), before.slice(0, 4), 'no project, CA, device or key changed');
            // Tied to no project (no certificate, or an O naming none): in the platform's audit log.
            const audited = await auditedRefusal(r.platformAudit ? '/v1/audit' : '/v1/projects/acme/audit', mark, r.code);
            assert.equal(audited?.['code'], r.code);
            assert.equal(audited?.['transport'], transport.name);
          });
        }

        it('refuses a disabled CA (CA_DISABLED) and a disabled device (DEVICE_DISABLED)', async () => {
          const files = device('toggled', makeDevice(acmeRoot, '/O=acme/CN=toggled'));
          const refusedWith = async (code: string): Promise<void> => {
            const mark = await auditMark();
            const answer = await client.attempt(gateway, files);
            assert.equal(answer.status, transport.refusalStatus(code), answer.output);
            assert.equal(answer.body?.['code'], transport.answersWithBody ? code : undefined, answer.output);
            const audited = await auditedRefusal('/v1/projects/acme/audit', mark, code);
            assert.equal(audited?.['code'], code);
            assert.equal(audited?.['transport'], transport.name);
          };
          const admitted = await client.attempt(gateway, files);
          assert.ok(admitted.admitted, admitted.output);
          await api.call('PATCH', `/v1/projects/acme/certificates/${acmeRootId}`, { json: { enabled: false } });
          await refusedWith('CA_DISABLED');
          await api.call('PATCH', `/v1/projects/acme/certificates/${acmeRootId}`, { json: { enabled: true } });
          const [toggled] = (await api.call('GET', '/v1/projects/acme/devices?certificateId=toggled')).body['list'];
          await api.call('PATCH', `/v1/projects/acme/devices/${toggled.id}`, { json: { enabled: false } });
          await refusedWith('DEVICE_DISABLED');
          await api.call('PATCH', `/v1/projects/acme/devices/${toggled.id}`, { json: { enabled: true } });
          const again = await client.attempt(gateway, files);
          assert.ok(again.admitted, again.output);
        });
      });
    }
  }
}
