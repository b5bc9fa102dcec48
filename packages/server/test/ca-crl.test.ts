import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openssl, tempDir, type TempDir } from '@fleetpki/test-support';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import type { DeviceFiles } from './helpers/device-clients.js';
import { DIALECTS } from './helpers/stores.js';
import type { GatewayUnderTest } from './helpers/transport.js';
import { TRANSPORTS } from './helpers/transports.js';

/**
 * DESIGN §8 with the seed's offline PKI, made by the real `openssl ca`: root → intermediate →
 * devices, one device revoked (`openssl ca -revoke`), the intermediate's CRL (`-gencrl`)
 * uploaded; the revoked device is refused at every gateway, the others still connect.
 */

/** An `openssl ca` for an intermediate: index.txt, serials, crlnumber, device extensions. */
function caConfig(dir: string, name: string, extra = ''): string {
  const file = join(dir, `${name}.cnf`);
  writeFileSync(
    file,
    [
      '[ca]',
      `default_ca = ${name}`,
      `[${name}]`,
      `database = ${name}-index.txt`,
      `new_certs_dir = ${name}-certs`,
      `serial = ${name}-serial.txt`,
      `crlnumber = ${name}-crlnumber.txt`,
      'default_md = sha256',
      'default_days = 30',
      'policy = any',
      'unique_subject = no',
      'x509_extensions = device_ext',
      extra,
      '[any]',
      'organizationName = supplied',
      'commonName = supplied',
      '[device_ext]',
      'basicConstraints = critical,CA:false',
      'keyUsage = critical,digitalSignature',
      'extendedKeyUsage = clientAuth',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, `${name}-index.txt`), '');
  writeFileSync(join(dir, `${name}-serial.txt`), '1000\n');
  writeFileSync(join(dir, `${name}-crlnumber.txt`), '01\n');
  mkdirSync(join(dir, `${name}-certs`), { recursive: true });
  return file;
}

/** A CA key and certificate, self-signed or signed by `issuer`, with the CA extensions openssl's own v3_ca would give. */
function makeCa(tmp: TempDir, name: string, subject: string, issuer?: string): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], tmp.dir);
  tmp.write(`${name}.ext`, 'basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  if (!issuer) {
    openssl(['req', '-x509', '-new', '-key', `${name}.key`, '-subj', subject, '-days', '60', '-sha256', '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', `${name}.crt`], tmp.dir);
    return;
  }
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], tmp.dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.crt`, '-CAkey', `${issuer}.key`, '-CAcreateserial', '-days', '50', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`], tmp.dir);
}

for (const dialect of DIALECTS) {
  describe(`CRLs of uploaded CA certificates, from openssl ca [${dialect}]`, () => {
    let api: TestApi;
    let tmp: TempDir;
    let gateway: GatewayUnderTest;
    let intermediateId: string;
    let rootId: string;
    const devices: Record<string, DeviceFiles> = {};
    const ca = ['ca', '-batch', '-config', 'plant.cnf', '-cert', 'int.crt', '-keyfile', 'int.key'];
    const crlFile = (name: string): string => base64(tmp.read(name));
    const putCrl = (caId: string, file: string) => api.call('PUT', `/v1/projects/plant/certificates/${caId}/crl`, { json: { crlFile: file } });

    before(async () => {
      tmp = tempDir('crl');
      makeCa(tmp, 'root', '/CN=Plant Root');
      makeCa(tmp, 'int', '/CN=Plant Issuing CA', 'root');
      caConfig(tmp.dir, 'plant');
      for (const id of ['line-1', 'line-2', 'line-3']) {
        openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${id}.key`], tmp.dir);
        openssl(['req', '-new', '-key', `${id}.key`, '-subj', `/O=plant/CN=${id}`, '-out', `${id}.csr`], tmp.dir);
        openssl([...ca, '-preserveDN', '-notext', '-in', `${id}.csr`, '-out', `${id}.crt`], tmp.dir);
        // The leaf and the intermediate, as a device sends them.
        writeFileSync(join(tmp.dir, `${id}.chain.pem`), Buffer.concat([tmp.read(`${id}.crt`), tmp.read('int.crt')]));
        devices[id] = { cert: join(tmp.dir, `${id}.chain.pem`), key: join(tmp.dir, `${id}.key`) };
      }
      openssl([...ca, '-revoke', 'line-2.crt', '-crl_reason', 'keyCompromise'], tmp.dir);
      openssl([...ca, '-gencrl', '-crldays', '7', '-out', 'int-1.crl.pem'], tmp.dir);
      openssl([...ca, '-gencrl', '-crldays', '7', '-out', 'int-2.crl.pem'], tmp.dir);

      api = await startTestApi(dialect);
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Plant', slug: 'plant' } })).status, 201);
      rootId = (await api.call('POST', '/v1/projects/plant/certificates', { json: { certFile: base64(tmp.read('root.crt')) } })).body['id'] as string;
      intermediateId = (await api.call('POST', '/v1/projects/plant/certificates', { json: { certFile: base64(tmp.read('int.crt')) } })).body['id'] as string;
      const serverCaFile = join(tmp.dir, 'server-ca.pem');
      writeFileSync(serverCaFile, (await api.call('GET', '/v1/server-ca', { key: null })).text);
      gateway = { urls: api.server, serverCaFile };
    });
    after(async () => {
      await api.close();
      tmp.cleanup();
    });

    it('before a CRL, every device connects', async () => {
      for (const transport of TRANSPORTS) {
        const attempt = await transport.clients[0].attempt(gateway, devices['line-2'] as DeviceFiles);
        assert.equal(attempt.admitted, true, `${transport.name}: ${attempt.output}`);
      }
    });

    it('the intermediate’s CRL is put in force and shown', async () => {
      const r = await putCrl(intermediateId, crlFile('int-1.crl.pem'));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body['crlNumber'], '1');
      assert.equal(r.body['entryCount'], 1);
      assert.equal(r.body['stale'], false);
      assert.equal(r.body['dryRun'], false);
      const shown = await api.call('GET', `/v1/projects/plant/certificates/${intermediateId}/crl`);
      const inForce = Object.fromEntries(Object.entries(r.body).filter(([name]) => name !== 'dryRun' && name !== 'cuts'));
      assert.deepEqual(shown.body, inForce);
      const der = await api.call('GET', `/v1/projects/plant/certificates/${intermediateId}/crl?format=der`);
      assert.equal(der.status, 200);
      const audit = await api.call('GET', '/v1/projects/plant/audit?action=certificate.crl-upload');
      assert.equal(audit.body['total'], 1);
    });

    for (const transport of TRANSPORTS) {
      it(`over ${transport.name}: the revoked device is refused with CERT_REVOKED, the others connect`, async () => {
        const refused = await transport.clients[0].attempt(gateway, devices['line-2'] as DeviceFiles);
        assert.equal(refused.admitted, false, refused.output);
        assert.equal(refused.status, transport.refusalStatus('CERT_REVOKED'), refused.output);
        if (transport.answersWithBody) {
          assert.equal(refused.body?.['code'], 'CERT_REVOKED', refused.output);
          assert.equal(refused.body?.['reason'], 'keyCompromise', refused.output);
        }
        for (const id of ['line-1', 'line-3']) {
          const admitted = await transport.clients[0].attempt(gateway, devices[id] as DeviceFiles);
          assert.equal(admitted.admitted, true, `${id}: ${admitted.output}`);
        }
      });
    }

    it('a newer CRL replaces it and un-lists nothing it should not; the older one is refused (CRL_NOT_NEWER)', async () => {
      const newer = await putCrl(intermediateId, crlFile('int-2.crl.pem'));
      assert.equal(newer.status, 200, newer.text);
      assert.equal(newer.body['crlNumber'], '2');
      assert.equal((await TRANSPORTS[0]!.clients[0].attempt(gateway, devices['line-2'] as DeviceFiles)).admitted, false);
      assert.equal((await TRANSPORTS[0]!.clients[0].attempt(gateway, devices['line-1'] as DeviceFiles)).admitted, true);
      const older = await putCrl(intermediateId, crlFile('int-1.crl.pem'));
      assert.equal(older.status, 409);
      assert.equal(older.body['code'], 'CRL_NOT_NEWER');
      assert.equal(older.body['inForce'], '2');
      assert.equal((await api.call('GET', `/v1/projects/plant/certificates/${intermediateId}/crl`)).body['crlNumber'], '2');
    });

    it('a dry run checks a CRL and names the devices it would newly cut, storing nothing; the upload then cuts them', async () => {
      openssl([...ca, '-revoke', 'line-1.crt', '-crl_reason', 'superseded'], tmp.dir);
      openssl([...ca, '-revoke', 'line-3.crt', '-crl_reason', 'cessationOfOperation'], tmp.dir);
      openssl([...ca, '-gencrl', '-crldays', '7', '-out', 'int-3.crl.pem'], tmp.dir);
      const stored = async () => JSON.stringify(await api.server.store.db.selectFrom('ca_crls').select(['ca_id', 'crl_number', 'uploaded_at']).orderBy('ca_id').execute());
      const before = await stored();
      const dry = await api.call('PUT', `/v1/projects/plant/certificates/${intermediateId}/crl?dryRun=true`, { json: { crlFile: crlFile('int-3.crl.pem') } });
      assert.equal(dry.status, 200, dry.text);
      assert.equal(dry.body['dryRun'], true);
      assert.equal(dry.body['crlNumber'], '3');
      assert.equal(dry.body['entryCount'], 3);
      // line-2 is listed by the CRL in force already: only line-1 and line-3 are new cuts.
      const cuts = dry.body['cuts'] as { deviceCount: number; certificateCount: number; devices: { name: string; certificateId: string }[] };
      assert.equal(cuts.deviceCount, 2);
      assert.equal(cuts.certificateCount, 2);
      assert.deepEqual(cuts.devices.map((d) => d.certificateId), ['line-1', 'line-3']);
      assert.equal(await stored(), before, 'a dry run stores nothing');
      assert.equal((await api.call('GET', '/v1/projects/plant/audit?action=certificate.crl-upload')).body['total'], 2, 'and audits nothing');
      assert.equal((await TRANSPORTS[0]!.clients[0].attempt(gateway, devices['line-1'] as DeviceFiles)).admitted, true);
      // A dry run of an older CRL is refused as the upload would be.
      const older = await api.call('PUT', `/v1/projects/plant/certificates/${intermediateId}/crl?dryRun=true`, { json: { crlFile: crlFile('int-1.crl.pem') } });
      assert.equal(older.status, 409);
      assert.equal(older.body['code'], 'CRL_NOT_NEWER');

      const put = await putCrl(intermediateId, crlFile('int-3.crl.pem'));
      assert.equal(put.status, 200, put.text);
      assert.equal(put.body['dryRun'], false);
      const putCuts = put.body['cuts'] as typeof cuts;
      assert.equal(putCuts.deviceCount, 2);
      assert.deepEqual(putCuts.devices.map((d) => d.certificateId), ['line-1', 'line-3']);
      const refused = await TRANSPORTS[0]!.clients[0].attempt(gateway, devices['line-1'] as DeviceFiles);
      assert.equal(refused.admitted, false, refused.output);
    });

    it('the project’s CA list carries each CA certificate’s CRL in force, stale once past its nextUpdate', async () => {
      const listed = async () => {
        const list = (await api.call('GET', '/v1/projects/plant/certificates')).body['list'] as { id: string; crl: Record<string, unknown> | null }[];
        return new Map(list.map((ca) => [ca.id, ca.crl]));
      };
      const first = await listed();
      assert.equal(first.get(rootId), null);
      assert.equal(first.get(intermediateId)?.['crlNumber'], '3');
      assert.equal(first.get(intermediateId)?.['stale'], false);
      // A CRL valid for one second (openssl ca -crlsec), shown stale once that second has passed.
      openssl([...ca, '-gencrl', '-crlsec', '1', '-out', 'int-4.crl.pem'], tmp.dir);
      assert.equal((await putCrl(intermediateId, crlFile('int-4.crl.pem'))).status, 200);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const later = await listed();
      assert.equal(later.get(intermediateId)?.['crlNumber'], '4');
      assert.equal(later.get(intermediateId)?.['stale'], true);
    });

    it('refuses, with a code and nothing stored: bad base64, garbage, another CA’s CRL, another key’s, a delta CRL, an unknown CA', async () => {
      // Another key under the same name, and the root's own CRL.
      makeCa(tmp, 'impostor', '/CN=Plant Issuing CA', 'root');
      caConfig(tmp.dir, 'imp');
      writeFileSync(join(tmp.dir, 'imp-crlnumber.txt'), '09\n');
      openssl(['ca', '-batch', '-config', 'imp.cnf', '-cert', 'impostor.crt', '-keyfile', 'impostor.key', '-gencrl', '-crldays', '7', '-out', 'impostor.crl.pem'], tmp.dir);
      caConfig(tmp.dir, 'rootca');
      writeFileSync(join(tmp.dir, 'rootca-crlnumber.txt'), '09\n');
      openssl(['ca', '-batch', '-config', 'rootca.cnf', '-cert', 'root.crt', '-keyfile', 'root.key', '-gencrl', '-crldays', '7', '-out', 'root.crl.pem'], tmp.dir);
      caConfig(tmp.dir, 'delta', 'crl_extensions = delta_ext\n[delta_ext]\n2.5.29.27 = critical,DER:02:01:02');
      writeFileSync(join(tmp.dir, 'delta-crlnumber.txt'), '09\n');
      openssl(['ca', '-batch', '-config', 'delta.cnf', '-cert', 'int.crt', '-keyfile', 'int.key', '-gencrl', '-crldays', '7', '-out', 'delta.crl.pem'], tmp.dir);
      const cases: { name: string; caId: string; file: string; status: number; code: string }[] = [
        { name: 'not base64', caId: intermediateId, file: '!!!', status: 400, code: 'CRL_FILE_INVALID_BASE64' },
        { name: 'garbage', caId: intermediateId, file: base64('not a CRL at all'), status: 400, code: 'CRL_UNPARSABLE' },
        { name: 'a certificate instead', caId: intermediateId, file: crlFile('int.crt'), status: 400, code: 'CRL_UNPARSABLE' },
        { name: 'the root’s CRL for the intermediate', caId: intermediateId, file: crlFile('root.crl.pem'), status: 422, code: 'CRL_ISSUER_MISMATCH' },
        { name: 'a CRL of the same name signed by another key', caId: intermediateId, file: crlFile('impostor.crl.pem'), status: 422, code: 'CRL_SIGNATURE_INVALID' },
        { name: 'a delta CRL', caId: intermediateId, file: crlFile('delta.crl.pem'), status: 422, code: 'CRL_DELTA_UNSUPPORTED' },
        { name: 'a CA the project does not hold', caId: 'no-such-ca', file: crlFile('int-2.crl.pem'), status: 404, code: 'CA_NOT_FOUND' },
      ];
      const stored = async () => JSON.stringify(await api.server.store.db.selectFrom('ca_crls').select(['ca_id', 'crl_number', 'uploaded_at']).orderBy('ca_id').execute());
      const before = await stored();
      for (const c of cases) {
        const r = await putCrl(c.caId, c.file);
        assert.equal(r.status, c.status, `${c.name}: ${r.text}`);
        assert.equal(r.body['code'], c.code, `${c.name}: ${r.text}`);
      }
      assert.equal(await stored(), before);
      // The root's CRL is fine for the root, and lists nothing.
      const own = await putCrl(rootId, crlFile('root.crl.pem'));
      assert.equal(own.status, 200, own.text);
      assert.equal(own.body['entryCount'], 0);
      assert.equal((await api.call('GET', `/v1/projects/plant/certificates/no-such/crl`)).body['code'], 'CA_NOT_FOUND');
    });
  });
}
