import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { opensslAsync } from '@fleetpki/test-support';
import { startTestApi, type RequestOptions, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { curl } from './helpers/curl.js';
import { curlIdentity } from './helpers/device-clients.js';
import { DIALECTS } from './helpers/stores.js';

/** Integrated PKI (issue 7) end to end with the real openssl and curl binaries. */
for (const dialect of DIALECTS) {
  describe(`integrated PKI: managed CAs, issuance, rotation, EST [${dialect}]`, () => {
    let api: TestApi;
    let dir: string;
    let serverCa: string;
    let port: string;

    const ssl = (args: readonly string[], input?: Buffer | string) => opensslAsync(args, dir, input);
    /** An openssl-made P-256 key and a CSR for `subject`, DER and PEM. */
    const keyAndCsr = async (name: string, subject: string, keyArgs: readonly string[] = ['ecparam', '-name', 'prime256v1', '-genkey', '-noout']) => {
      await ssl([keyArgs[0] as string, '-out', `${name}.key.pem`, ...keyArgs.slice(1)]);
      await ssl(['req', '-new', '-key', `${name}.key.pem`, '-subj', subject, '-outform', 'DER', '-out', `${name}.csr.der`]);
      await ssl(['req', '-in', `${name}.csr.der`, '-inform', 'DER', '-out', `${name}.csr.pem`]);
      return { key: join(dir, `${name}.key.pem`), der: readFileSync(join(dir, `${name}.csr.der`)), pem: readFileSync(join(dir, `${name}.csr.pem`), 'utf8') };
    };
    const subjectOf = async (certFile: string, inform = 'PEM') => (await ssl(['x509', '-in', certFile, '-inform', inform, '-noout', '-subject'])).toString('utf8').trim();
    const countIssued = async () => {
      const r = await api.server.store.db.selectFrom('issued_certificates').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return Number(r.n);
    };
    const gateway = (path: string) => `https://localhost:${port}${path}`;

    before(async () => {
      api = await startTestApi(dialect);
      dir = api.store.dataDir;
      port = new URL(api.server.gatewayUrl).port;
      serverCa = join(dir, 'server-ca.pem');
      writeFileSync(serverCa, (await api.call('GET', '/v1/server-ca', { key: null })).text);
      for (const slug of ['acme', 'beta', 'offline']) assert.equal((await api.call('POST', '/v1/projects', { json: { name: slug, slug } })).status, 201);
    });
    after(() => api.close());

    it('issuing before a CA exists is PKI_NOT_CONFIGURED', async () => {
      const csr = await keyAndCsr('early', '/O=acme/CN=early');
      const r = await api.call('POST', '/v1/projects/acme/pki/issue', { json: { csr: base64(csr.pem) } });
      assert.equal(r.status, 409);
      assert.equal(r.body['code'], 'PKI_NOT_CONFIGURED');
    });

    it('mode generate: a root and an active issuing CA, registered as a trust anchor, no key in any answer', async () => {
      const r = await api.call('POST', '/v1/projects/acme/pki/cas', { json: { mode: 'generate', profile: { defaultDays: 30, maxDays: 90 } } });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.body['status'], 'active');
      assert.equal(r.body['mode'], 'generate');
      assert.equal(r.body['keyStorage'], 'sealed');
      assert.deepEqual(Object.keys(r.body).sort(), ['activatedAt', 'caCertificateId', 'certificate', 'certificateContent', 'chain', 'createdAt', 'csr', 'id', 'keyStorage', 'mode', 'profile', 'status']);
      assert.doesNotMatch(r.text, /PRIVATE KEY/);
      assert.deepEqual(r.body['profile'], { defaultDays: 30, maxDays: 90, keyTypes: ['P-256', 'P-384', 'RSA-2048', 'RSA-3072', 'RSA-4096'] });
      writeFileSync(join(dir, 'acme-issuing.pem'), r.body['certificate']);
      writeFileSync(join(dir, 'acme-root.pem'), r.body['chain']);
      // The issuing certificate verifies under the generated root, as openssl sees it.
      assert.match((await ssl(['verify', '-CAfile', 'acme-root.pem', 'acme-issuing.pem'])).toString('utf8'), /acme-issuing.pem: OK/);
      const anchors = await api.call('GET', '/v1/projects/acme/certificates');
      const anchor = anchors.body['list'].find((c: { id: string }) => c.id === r.body['caCertificateId']);
      assert.equal(anchor?.enabled, true);
      assert.equal(anchor?.certificateContent.fingerprintSha256, r.body['certificateContent'].fingerprintSha256);
      const listed = await api.call('GET', '/v1/projects/acme/pki/cas');
      assert.equal(listed.body['total'], 1);
      assert.doesNotMatch(listed.text, /PRIVATE KEY|sealed_key|sealedKey/);
    });

    it('POST …/pki/issue: an openssl CSR becomes a device certificate that authenticates at the gateway', async () => {
      const csr = await keyAndCsr('sensor-1', '/O=acme/CN=sensor-1');
      const r = await api.call('POST', '/v1/projects/acme/pki/issue', { json: { csr: base64(csr.pem) } });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.body['certificateId'], 'sensor-1');
      writeFileSync(join(dir, 'sensor-1.crt.pem'), r.body['certificate']);
      assert.match((await ssl(['verify', '-CAfile', 'acme-root.pem', '-untrusted', 'acme-issuing.pem', '-purpose', 'sslclient', 'sensor-1.crt.pem'])).toString('utf8'), /OK/);
      assert.equal(await subjectOf('sensor-1.crt.pem'), 'subject=O = acme, CN = sensor-1');
      const days = (Date.parse(r.body['notAfter']) - Date.now()) / 86_400_000;
      assert.ok(days > 29.9 && days <= 30, `default validity is the profile's 30 days, got ${days}`);
      const identity = await curlIdentity(api.server.gatewayUrl, serverCa, { cert: join(dir, 'sensor-1.crt.pem'), key: csr.key });
      assert.equal(identity.status, 200);
      assert.equal(identity.body['certificateId'], 'sensor-1');
      assert.equal(identity.body['provisioning'], 'created');
      // DER in base64 is accepted too, and the record is kept.
      const der = await keyAndCsr('sensor-2', '/O=acme/CN=sensor-2');
      const r2 = await api.call('POST', '/v1/projects/acme/pki/issue', { json: { csr: der.der.toString('base64'), days: 90 } });
      assert.equal(r2.status, 201, r2.text);
      const audit = await api.call('GET', '/v1/projects/acme/audit?perPage=5');
      const event = audit.body['list'].find((e: { action: string }) => e.action === 'pki.certificate.issue');
      assert.equal(event?.details.certificateId, 'sensor-2');
      assert.equal(event?.details.channel, 'api');
    });

    it('the API refuses bad requests with codes and issues nothing', async () => {
      const before = await countIssued();
      const good = await keyAndCsr('refused', '/O=acme/CN=refused-1');
      const tampered = Buffer.from(good.der);
      tampered.writeUInt8((tampered.at(-5) as number) ^ 0x01, tampered.length - 5); // inside the signature
      const weak = await keyAndCsr('weak', '/O=acme/CN=weak-1', ['genrsa', '1024']);
      const wrongO = await keyAndCsr('wrong-o', '/O=beta/CN=refused-2');
      const badCn = await keyAndCsr('bad-cn', '/O=acme/CN=has space');
      const cases: [string, unknown, number, string][] = [
        ['over the profile maximum', { csr: base64(good.pem), days: 91 }, 422, 'VALIDITY_TOO_LONG'],
        ['not base64', { csr: 'not base64!' }, 400, 'CSR_INVALID_BASE64'],
        ['not a CSR', { csr: base64('hello world, no CSR here') }, 400, 'CSR_UNPARSABLE'],
        ['a tampered CSR', { csr: tampered.toString('base64') }, 400, 'CSR_SIGNATURE_INVALID'],
        ['an RSA-1024 key', { csr: base64(weak.pem) }, 422, 'WEAK_KEY'],
        ['another project’s O', { csr: base64(wrongO.pem) }, 422, 'CSR_SUBJECT_INVALID'],
        ['an invalid certificate ID', { csr: base64(badCn.pem) }, 422, 'CSR_SUBJECT_INVALID'],
        ['days 0', { csr: base64(good.pem), days: 0 }, 400, 'VALIDATION_FAILED'],
      ];
      for (const [name, json, status, code] of cases) {
        const r = await api.call('POST', '/v1/projects/acme/pki/issue', { json });
        assert.equal(r.status, status, `${name}: ${r.text}`);
        assert.equal(r.body['code'], code, name);
      }
      assert.equal(await countIssued(), before);
    });

    it('POST /v1/csr: a device rotates its key with curl and stays the same device, whatever its CSR says', async () => {
      const first = await curlIdentity(api.server.gatewayUrl, serverCa, { cert: join(dir, 'sensor-1.crt.pem'), key: join(dir, 'sensor-1.key.pem') });
      // A CSR for a new key that asks for another device in another project.
      const next = await keyAndCsr('sensor-1-next', '/O=beta/CN=somebody-else');
      const r = await curl([
        '--cacert', serverCa, '--cert', join(dir, 'sensor-1.crt.pem'), '--key', join(dir, 'sensor-1.key.pem'),
        '-H', 'content-type: application/pkcs10', '--data-binary', `@${join(dir, 'sensor-1-next.csr.der')}`, gateway('/v1/csr'),
      ]);
      assert.equal(r.status, 200, r.body.toString('utf8'));
      assert.equal(r.contentType, 'application/pkix-cert');
      writeFileSync(join(dir, 'sensor-1-next.crt.der'), r.body);
      assert.equal(await subjectOf('sensor-1-next.crt.der', 'DER'), 'subject=O = acme, CN = sensor-1');
      await ssl(['x509', '-in', 'sensor-1-next.crt.der', '-inform', 'DER', '-out', 'sensor-1-next.crt.pem']);
      const again = await curlIdentity(api.server.gatewayUrl, serverCa, { cert: join(dir, 'sensor-1-next.crt.pem'), key: next.key });
      assert.equal(again.status, 200);
      assert.equal(again.body['deviceId'], first.body['deviceId']);
      assert.equal(again.body['provisioning'], 'existing');
      const devices = await api.call('GET', '/v1/projects/acme/devices?certificateId=sensor-1');
      assert.equal(devices.body['total'], 1);
      assert.equal((await api.call('GET', '/v1/projects/beta/devices')).body['total'], 0);
    });

    it('a device without a certificate, or with a garbage CSR, gets a code and no certificate', async () => {
      const before = await countIssued();
      const anonymous = await curl(['--cacert', serverCa, '--data-binary', '@' + join(dir, 'sensor-2.csr.der'), gateway('/v1/csr')]);
      assert.equal(anonymous.status, 401);
      assert.equal(JSON.parse(anonymous.body.toString('utf8')).code, 'NO_CLIENT_CERTIFICATE');
      const garbage = await curl(['--cacert', serverCa, '--cert', join(dir, 'sensor-1-next.crt.pem'), '--key', join(dir, 'sensor-1-next.key.pem'), '--data-binary', 'garbage', gateway('/v1/csr')]);
      assert.equal(garbage.status, 400);
      assert.equal(JSON.parse(garbage.body.toString('utf8')).code, 'CSR_UNPARSABLE');
      assert.equal(await countIssued(), before);
    });

    it('a disabled device cannot rotate', async () => {
      const csr = await keyAndCsr('sensor-3', '/O=acme/CN=sensor-3');
      const issued = await api.call('POST', '/v1/projects/acme/pki/issue', { json: { csr: base64(csr.pem) } });
      writeFileSync(join(dir, 'sensor-3.crt.pem'), issued.body['certificate']);
      const files = { cert: join(dir, 'sensor-3.crt.pem'), key: csr.key };
      const first = await curlIdentity(api.server.gatewayUrl, serverCa, files);
      assert.equal(first.status, 200);
      const patched = await api.call('PATCH', `/v1/projects/acme/devices/${first.body['deviceId']}`, { json: { enabled: false } });
      assert.equal(patched.status, 200);
      const before = await countIssued();
      const next = await keyAndCsr('sensor-3-next', '/O=acme/CN=sensor-3');
      const r = await curl(['--cacert', serverCa, '--cert', files.cert, '--key', files.key, '--data-binary', `@${join(dir, 'sensor-3-next.csr.der')}`, gateway('/v1/csr')]);
      assert.equal(r.status, 403);
      assert.equal(JSON.parse(r.body.toString('utf8')).code, 'DEVICE_DISABLED');
      assert.equal(await countIssued(), before);
      void next;
    });

    it('EST: a one-time token enrolls once; the certificate authenticates; simplereenroll renews it', async () => {
      const made = await api.call('POST', '/v1/projects/acme/pki/enrollment-tokens', { json: { count: 3 } });
      assert.equal(made.status, 201, made.text);
      const [token, second, third] = made.body['tokens'].map((t: { token: string }) => t.token) as string[];
      const csr = await keyAndCsr('est-1', '/O=acme/CN=est-1');
      writeFileSync(join(dir, 'est-1.csr.b64'), csr.der.toString('base64'));
      const enroll = (tokenValue: string, file: string, label = '') =>
        curl(['--cacert', serverCa, '--user', `device:${tokenValue}`, '-H', 'content-type: application/pkcs10', '--data-binary', `@${join(dir, file)}`, gateway(`/.well-known/est${label}/simpleenroll`)]);
      const r = await enroll(token as string, 'est-1.csr.b64');
      assert.equal(r.status, 200, r.body.toString('utf8'));
      assert.match(r.contentType, /^application\/pkcs7-mime; smime-type=certs-only/);
      writeFileSync(join(dir, 'est-1.p7.der'), Buffer.from(r.body.toString('latin1'), 'base64'));
      writeFileSync(join(dir, 'est-1.crt.pem'), await ssl(['pkcs7', '-inform', 'DER', '-in', 'est-1.p7.der', '-print_certs']));
      assert.equal(await subjectOf('est-1.crt.pem'), 'subject=O = acme, CN = est-1');
      const identity = await curlIdentity(api.server.gatewayUrl, serverCa, { cert: join(dir, 'est-1.crt.pem'), key: csr.key });
      assert.equal(identity.status, 200);
      assert.equal(identity.body['certificateId'], 'est-1');

      const before = await countIssued();
      const reused = await enroll(token as string, 'est-1.csr.b64');
      assert.equal(reused.status, 403);
      assert.equal(JSON.parse(reused.body.toString('utf8')).code, 'ENROLLMENT_TOKEN_USED');
      const wrong = await enroll('fpe_not-a-token', 'est-1.csr.b64');
      assert.equal(wrong.status, 401);
      assert.equal(JSON.parse(wrong.body.toString('utf8')).code, 'ENROLLMENT_TOKEN_INVALID');
      const none = await curl(['--cacert', serverCa, '--data-binary', `@${join(dir, 'est-1.csr.b64')}`, gateway('/.well-known/est/simpleenroll')]);
      assert.equal(none.status, 401);
      assert.equal(JSON.parse(none.body.toString('utf8')).code, 'ENROLLMENT_TOKEN_MISSING');
      const tampered = Buffer.from(csr.der);
      tampered.writeUInt8((tampered.at(-5) as number) ^ 0x01, tampered.length - 5);
      writeFileSync(join(dir, 'est-tampered.b64'), tampered.toString('base64'));
      const bad = await enroll(second as string, 'est-tampered.b64');
      assert.equal(bad.status, 400);
      assert.equal(JSON.parse(bad.body.toString('utf8')).code, 'CSR_SIGNATURE_INVALID');
      const weak = await keyAndCsr('est-weak', '/O=acme/CN=est-weak', ['genrsa', '1024']);
      writeFileSync(join(dir, 'est-weak.b64'), weak.der.toString('base64'));
      const weakR = await enroll(second as string, 'est-weak.b64');
      assert.equal(weakR.status, 422);
      assert.equal(JSON.parse(weakR.body.toString('utf8')).code, 'WEAK_KEY');
      // A batch token never mints an identity the project already has.
      const taken = await keyAndCsr('est-taken', '/O=acme/CN=sensor-1');
      writeFileSync(join(dir, 'est-taken.b64'), taken.der.toString('base64'));
      const takenR = await enroll(second as string, 'est-taken.b64');
      assert.equal(takenR.status, 409);
      assert.equal(JSON.parse(takenR.body.toString('utf8')).code, 'CERTIFICATE_ID_TAKEN');
      // Another project's label makes a token unknown there.
      const otherLabel = await enroll(third as string, 'est-1.csr.b64', '/beta');
      assert.equal(otherLabel.status, 401);
      assert.equal(JSON.parse(otherLabel.body.toString('utf8')).code, 'ENROLLMENT_TOKEN_INVALID');
      assert.equal(await countIssued(), before, 'nothing was issued by the refusals');
      // The refusals did not use up the second token.
      const csr2 = await keyAndCsr('est-2', '/O=acme/CN=est-2');
      writeFileSync(join(dir, 'est-2.csr.b64'), csr2.der.toString('base64'));
      assert.equal((await enroll(second as string, 'est-2.csr.b64', '/acme')).status, 200);

      // simplereenroll over the current certificate, with a new key.
      const renew = await keyAndCsr('est-1-renew', '/O=acme/CN=est-1');
      writeFileSync(join(dir, 'est-1-renew.b64'), renew.der.toString('base64'));
      const re = await curl(['--cacert', serverCa, '--cert', join(dir, 'est-1.crt.pem'), '--key', csr.key, '-H', 'content-type: application/pkcs10', '--data-binary', `@${join(dir, 'est-1-renew.b64')}`, gateway('/.well-known/est/simplereenroll')]);
      assert.equal(re.status, 200, re.body.toString('utf8'));
      writeFileSync(join(dir, 'est-1-renew.p7.der'), Buffer.from(re.body.toString('latin1'), 'base64'));
      writeFileSync(join(dir, 'est-1-renew.crt.pem'), await ssl(['pkcs7', '-inform', 'DER', '-in', 'est-1-renew.p7.der', '-print_certs']));
      const renewed = await curlIdentity(api.server.gatewayUrl, serverCa, { cert: join(dir, 'est-1-renew.crt.pem'), key: renew.key });
      assert.equal(renewed.status, 200);
      assert.equal(renewed.body['deviceId'], identity.body['deviceId']);
      const reNoCert = await curl(['--cacert', serverCa, '--data-binary', `@${join(dir, 'est-1-renew.b64')}`, gateway('/.well-known/est/simplereenroll')]);
      assert.equal(reNoCert.status, 401);
      assert.equal(JSON.parse(reNoCert.body.toString('utf8')).code, 'NO_CLIENT_CERTIFICATE');
    });

    it('EST: batch tokens racing for one new certificate ID enroll it exactly once', async () => {
      const made = await api.call('POST', '/v1/projects/acme/pki/enrollment-tokens', { json: { count: 6 } });
      assert.equal(made.status, 201, made.text);
      const tokens = made.body['tokens'].map((t: { token: string }) => t.token) as string[];
      const files = await Promise.all(
        tokens.map(async (_, i) => {
          const csr = await keyAndCsr(`race-${i}`, '/O=acme/CN=race-1');
          writeFileSync(join(dir, `race-${i}.b64`), csr.der.toString('base64'));
          return `race-${i}.b64`;
        }),
      );
      const before = await countIssued();
      const answers = await Promise.all(
        tokens.map((token, i) =>
          curl(['--cacert', serverCa, '--user', `device:${token}`, '-H', 'content-type: application/pkcs10', '--data-binary', `@${join(dir, files[i] as string)}`, gateway('/.well-known/est/simpleenroll')]),
        ),
      );
      const statuses = answers.map((a) => a.status).sort();
      assert.deepEqual(statuses, [200, 409, 409, 409, 409, 409], answers.map((a) => a.body.toString('utf8').slice(0, 120)).join(' | '));
      for (const refused of answers.filter((a) => a.status === 409)) assert.equal(JSON.parse(refused.body.toString('utf8')).code, 'CERTIFICATE_ID_TAKEN');
      assert.equal(await countIssued(), before + 1);
    });

    it('EST: a token made for one device certifies that device whatever the CSR names', async () => {
      const device = await api.call('POST', '/v1/projects/acme/devices', { json: { name: 'meter-9' } });
      const made = await api.call('POST', '/v1/projects/acme/pki/enrollment-tokens', { json: { deviceId: device.body['id'] } });
      assert.equal(made.status, 201, made.text);
      assert.equal(made.body['tokens'][0].certificateId, 'meter-9');
      const csr = await keyAndCsr('meter-9', '/O=beta/CN=not-me');
      writeFileSync(join(dir, 'meter-9.b64'), csr.der.toString('base64'));
      const r = await curl(['--cacert', serverCa, '--user', `meter-9:${made.body['tokens'][0].token}`, '--data-binary', `@${join(dir, 'meter-9.b64')}`, gateway('/.well-known/est/acme/simpleenroll')]);
      assert.equal(r.status, 200, r.body.toString('utf8'));
      writeFileSync(join(dir, 'meter-9.p7.der'), Buffer.from(r.body.toString('latin1'), 'base64'));
      writeFileSync(join(dir, 'meter-9.crt.pem'), await ssl(['pkcs7', '-inform', 'DER', '-in', 'meter-9.p7.der', '-print_certs']));
      assert.equal(await subjectOf('meter-9.crt.pem'), 'subject=O = acme, CN = meter-9');
      const identity = await curlIdentity(api.server.gatewayUrl, serverCa, { cert: join(dir, 'meter-9.crt.pem'), key: csr.key });
      assert.equal(identity.body['deviceId'], device.body['id']);
      assert.equal(identity.body['provisioning'], 'associated');
    });

    it('EST: a device token does not follow a rename — a device renamed since its token was made gets DEVICE_IDENTITY_CHANGED, nothing issued', async () => {
      const device = await api.call('POST', '/v1/projects/acme/devices', { json: { name: 'meter-10' } });
      const made = await api.call('POST', '/v1/projects/acme/pki/enrollment-tokens', { json: { deviceId: device.body['id'] } });
      assert.equal(made.status, 201, made.text);
      const renamed = await api.call('PATCH', `/v1/projects/acme/devices/${device.body['id'] as string}`, { json: { name: 'meter-10-old' } });
      assert.equal(renamed.status, 200, renamed.text);
      const other = await api.call('POST', '/v1/projects/acme/devices', { json: { name: 'meter-10' } });
      assert.equal(other.status, 201, other.text);
      const issuedBefore = await countIssued();
      const csr = await keyAndCsr('meter-10', '/O=acme/CN=meter-10');
      writeFileSync(join(dir, 'meter-10.b64'), csr.der.toString('base64'));
      const r = await curl(['--cacert', serverCa, '--user', `meter-10:${made.body['tokens'][0].token}`, '--data-binary', `@${join(dir, 'meter-10.b64')}`, gateway('/.well-known/est/acme/simpleenroll')]);
      assert.equal(r.status, 409, r.body.toString('utf8'));
      assert.equal(JSON.parse(r.body.toString('utf8')).code, 'DEVICE_IDENTITY_CHANGED');
      assert.equal(await countIssued(), issuedBefore);
    });

    it('EST: a manufacturer certificate (IDevID) enrolls with its CN; it never connects by itself', async () => {
      // The factory's CA, uploaded for that purpose only, and a factory certificate with a device-like subject.
      await ssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'factory.key.pem']);
      await ssl(['req', '-x509', '-new', '-nodes', '-key', 'factory.key.pem', '-sha256', '-subj', '/CN=Acme Factory CA', '-days', '365', '-out', 'factory.crt.pem']);
      const uploaded = await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(readFileSync(join(dir, 'factory.crt.pem'))), purpose: 'manufacturer' } });
      assert.equal(uploaded.status, 201, uploaded.text);
      assert.equal(uploaded.body['purpose'], 'manufacturer');
      writeFileSync(join(dir, 'idevid.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
      const makeIdevid = async (name: string, caCert: string, caKey: string) => {
        await ssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key.pem`]);
        await ssl(['req', '-new', '-key', `${name}.key.pem`, '-subj', `/O=acme/CN=${name}`, '-out', `${name}.csr.pem`]);
        await ssl(['x509', '-req', '-in', `${name}.csr.pem`, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-days', '30', '-extfile', 'idevid.ext', '-out', `${name}.crt.pem`]);
        return { cert: join(dir, `${name}.crt.pem`), key: join(dir, `${name}.key.pem`) };
      };
      const idevid = await makeIdevid('mfg-0001', 'factory.crt.pem', 'factory.key.pem');
      const direct = await curlIdentity(api.server.gatewayUrl, serverCa, idevid);
      assert.equal(direct.status, 403);
      assert.equal(direct.body['code'], 'UNKNOWN_ISSUER');
      const operational = await keyAndCsr('mfg-0001-op', '/O=acme/CN=whatever');
      writeFileSync(join(dir, 'mfg-0001-op.b64'), operational.der.toString('base64'));
      const enroll = (files: { cert: string; key: string }, label: string) =>
        curl(['--cacert', serverCa, '--cert', files.cert, '--key', files.key, '--data-binary', `@${join(dir, 'mfg-0001-op.b64')}`, gateway(`/.well-known/est${label}/simpleenroll`)]);
      const unlabelled = await enroll(idevid, '');
      assert.equal(unlabelled.status, 401);
      assert.equal(JSON.parse(unlabelled.body.toString('utf8')).code, 'ENROLLMENT_TOKEN_MISSING');
      // A factory certificate from a CA the project did not upload for that purpose.
      await ssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'rogue.key.pem']);
      await ssl(['req', '-x509', '-new', '-nodes', '-key', 'rogue.key.pem', '-sha256', '-subj', '/CN=Rogue Factory', '-days', '365', '-out', 'rogue.crt.pem']);
      const rogue = await makeIdevid('mfg-rogue', 'rogue.crt.pem', 'rogue.key.pem');
      const before = await countIssued();
      const refused = await enroll(rogue, '/acme');
      assert.equal(refused.status, 403);
      assert.equal(JSON.parse(refused.body.toString('utf8')).code, 'MANUFACTURER_CERT_INVALID');
      assert.equal(await countIssued(), before);
      const r = await enroll(idevid, '/acme');
      assert.equal(r.status, 200, r.body.toString('utf8'));
      writeFileSync(join(dir, 'mfg-0001-op.p7.der'), Buffer.from(r.body.toString('latin1'), 'base64'));
      writeFileSync(join(dir, 'mfg-0001-op.crt.pem'), await ssl(['pkcs7', '-inform', 'DER', '-in', 'mfg-0001-op.p7.der', '-print_certs']));
      assert.equal(await subjectOf('mfg-0001-op.crt.pem'), 'subject=O = acme, CN = mfg-0001');
      const identity = await curlIdentity(api.server.gatewayUrl, serverCa, { cert: join(dir, 'mfg-0001-op.crt.pem'), key: operational.key });
      assert.equal(identity.status, 200);
      assert.equal(identity.body['certificateId'], 'mfg-0001');
    });

    it('EST cacerts returns the issuing CA, its root and the gateway’s root as certs-only PKCS#7', async () => {
      const r = await curl(['--cacert', serverCa, gateway('/.well-known/est/acme/cacerts')]);
      assert.equal(r.status, 200);
      writeFileSync(join(dir, 'cacerts.p7.der'), Buffer.from(r.body.toString('latin1'), 'base64'));
      const printed = (await ssl(['pkcs7', '-inform', 'DER', '-in', 'cacerts.p7.der', '-print_certs', '-noout'])).toString('utf8');
      assert.match(printed, /subject=O = acme, CN = fleetpki acme Issuing CA/);
      assert.match(printed, /subject=O = acme, CN = fleetpki acme Root CA/);
      // The root of the gateway's own certificate too: a client bootstrapped from this answer alone reaches the EST server.
      assert.match(printed, /subject=O = fleetpki, CN = fleetpki Root X1/);
      writeFileSync(join(dir, 'cacerts.pem'), await ssl(['pkcs7', '-inform', 'DER', '-in', 'cacerts.p7.der', '-print_certs']));
      assert.equal((await curl(['--cacert', join(dir, 'cacerts.pem'), gateway('/.well-known/est/acme/cacerts')])).status, 200);
      const unknown = await curl(['--cacert', serverCa, gateway('/.well-known/est/nope/cacerts')]);
      assert.equal(unknown.status, 404);
      assert.equal(JSON.parse(unknown.body.toString('utf8')).code, 'PROJECT_NOT_FOUND');
    });

    it('mode csr: the customer signs the CA offline with openssl; PUT completes it; it then issues', async () => {
      const r = await api.call('POST', '/v1/projects/offline/pki/cas', { json: { mode: 'csr' } });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.body['status'], 'pending');
      assert.equal(r.body['certificate'], null);
      writeFileSync(join(dir, 'offline-ca.csr.pem'), r.body['csr']);
      const early = await api.call('POST', '/v1/projects/offline/pki/issue', { json: { csr: base64((await keyAndCsr('off-0', '/O=offline/CN=d0')).pem) } });
      assert.equal(early.body['code'], 'PKI_NOT_CONFIGURED');
      await ssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'customer-root.key.pem']);
      await ssl(['req', '-x509', '-new', '-nodes', '-key', 'customer-root.key.pem', '-sha256', '-subj', '/CN=Customer Root', '-days', '3650', '-out', 'customer-root.crt.pem']);
      writeFileSync(join(dir, 'ca-ext.cnf'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
      await ssl(['x509', '-req', '-in', 'offline-ca.csr.pem', '-CA', 'customer-root.crt.pem', '-CAkey', 'customer-root.key.pem', '-CAcreateserial', '-days', '1000', '-sha256', '-extfile', 'ca-ext.cnf', '-out', 'offline-ca.crt.pem']);
      // A certificate for another key is refused.
      const stranger = await api.call('PUT', `/v1/projects/offline/pki/cas/${r.body['id']}/certificate`, { json: { certFile: base64(readFileSync(join(dir, 'customer-root.crt.pem'))) } });
      assert.equal(stranger.status, 422);
      assert.equal(stranger.body['code'], 'MANAGED_CA_KEY_MISMATCH');
      const bundle = readFileSync(join(dir, 'offline-ca.crt.pem'), 'utf8') + readFileSync(join(dir, 'customer-root.crt.pem'), 'utf8');
      const put = await api.call('PUT', `/v1/projects/offline/pki/cas/${r.body['id']}/certificate`, { json: { certFile: base64(bundle) } });
      assert.equal(put.status, 200, put.text);
      assert.equal(put.body['status'], 'active');
      assert.equal(put.body['csr'], null);
      const again = await api.call('PUT', `/v1/projects/offline/pki/cas/${r.body['id']}/certificate`, { json: { certFile: base64(bundle) } });
      assert.equal(again.status, 409);
      assert.equal(again.body['code'], 'MANAGED_CA_NOT_PENDING');
      const csr = await keyAndCsr('off-1', '/O=offline/CN=d1');
      const issued = await api.call('POST', '/v1/projects/offline/pki/issue', { json: { csr: base64(csr.pem) } });
      assert.equal(issued.status, 201, issued.text);
      writeFileSync(join(dir, 'off-1.crt.pem'), issued.body['certificate']);
      assert.match((await ssl(['verify', '-CAfile', 'customer-root.crt.pem', '-untrusted', 'offline-ca.crt.pem', 'off-1.crt.pem'])).toString('utf8'), /OK/);
      const identity = await curlIdentity(api.server.gatewayUrl, serverCa, { cert: join(dir, 'off-1.crt.pem'), key: csr.key });
      assert.equal(identity.status, 200);
      assert.equal(identity.body['projectId'], 'offline');
    });

    it('disabling the managed CA’s anchor stops issuance (MANAGED_CA_DISABLED); enabling resumes it', async () => {
      const cas = await api.call('GET', '/v1/projects/acme/pki/cas');
      const anchorId = cas.body['list'][0].caCertificateId as string;
      assert.equal((await api.call('PATCH', `/v1/projects/acme/certificates/${anchorId}`, { json: { enabled: false } })).status, 200);
      const csr = await keyAndCsr('paused', '/O=acme/CN=paused');
      const r = await api.call('POST', '/v1/projects/acme/pki/issue', { json: { csr: base64(csr.pem) } });
      assert.equal(r.status, 409);
      assert.equal(r.body['code'], 'MANAGED_CA_DISABLED');
      assert.equal((await api.call('PATCH', `/v1/projects/acme/certificates/${anchorId}`, { json: { enabled: true } })).status, 200);
      assert.equal((await api.call('POST', '/v1/projects/acme/pki/issue', { json: { csr: base64(csr.pem) } })).status, 201);
    });

    it('CA creation refusals: no PKCS#11 token configured, unknown mode, an inverted profile', async () => {
      const cases: [string, unknown, number, string][] = [
        ['pkcs11 without a token', { mode: 'generate', keyStorage: 'pkcs11' }, 409, 'PKCS11_NOT_CONFIGURED'],
        ['an unknown mode', { mode: 'magic' }, 400, 'VALIDATION_FAILED'],
        ['defaultDays over maxDays', { mode: 'generate', profile: { defaultDays: 100, maxDays: 10 } }, 400, 'VALIDATION_FAILED'],
        ['cfssl without its URL', { mode: 'cfssl' }, 400, 'VALIDATION_FAILED'],
        ['an unknown key type', { mode: 'generate', profile: { keyTypes: ['DSA-1024'] } }, 400, 'VALIDATION_FAILED'],
      ];
      const before = (await api.call('GET', '/v1/projects/beta/pki/cas')).body['total'];
      for (const [name, json, status, code] of cases) {
        const r = await api.call('POST', '/v1/projects/beta/pki/cas', { json });
        assert.equal(r.status, status, `${name}: ${r.text}`);
        assert.equal(r.body['code'], code, name);
      }
      assert.equal((await api.call('GET', '/v1/projects/beta/pki/cas')).body['total'], before);
    });

    it('a profile allowing only P-384 refuses P-256 keys with KEY_TYPE_NOT_ALLOWED', async () => {
      assert.equal((await api.call('POST', '/v1/projects/beta/pki/cas', { json: { mode: 'generate', profile: { keyTypes: ['P-384'] } } })).status, 201);
      const p256 = await keyAndCsr('beta-256', '/O=beta/CN=b1');
      const refused = await api.call('POST', '/v1/projects/beta/pki/issue', { json: { csr: base64(p256.pem) } });
      assert.equal(refused.status, 422);
      assert.equal(refused.body['code'], 'KEY_TYPE_NOT_ALLOWED');
      const p384 = await keyAndCsr('beta-384', '/O=beta/CN=b2', ['ecparam', '-name', 'secp384r1', '-genkey', '-noout']);
      assert.equal((await api.call('POST', '/v1/projects/beta/pki/issue', { json: { csr: base64(p384.pem) } })).status, 201);
    });

    it('concurrent issuances, some refused, are each answered and each recorded once (group commit)', async () => {
      const before = await countIssued();
      const good = await Promise.all(Array.from({ length: 24 }, (_, i) => keyAndCsr(`burst-${i}`, `/O=acme/CN=burst-${i}`)));
      const bad = await keyAndCsr('burst-bad', '/O=beta/CN=burst-bad');
      const results = await Promise.all([
        ...good.map((csr) => api.call('POST', '/v1/projects/acme/pki/issue', { json: { csr: base64(csr.pem) } })),
        ...Array.from({ length: 8 }, () => api.call('POST', '/v1/projects/acme/pki/issue', { json: { csr: base64(bad.pem) } })),
      ]);
      assert.deepEqual(results.map((r) => r.status), [...Array(24).fill(201), ...Array(8).fill(422)]);
      assert.equal(new Set(results.slice(0, 24).map((r) => r.body['fingerprintSha256'])).size, 24);
      assert.equal(await countIssued(), before + 24);
      const rows = await api.server.store.db.selectFrom('issued_certificates').select('certificate_id').where('certificate_id', 'like', 'burst-%').execute();
      assert.deepEqual(rows.map((r) => r.certificate_id).sort(), good.map((_, i) => `burst-${i}`).sort());
    });

    it('a project key of another project cannot issue here', async () => {
      const key = await api.call('POST', '/v1/projects/beta/api-keys', { json: { name: 'beta' } });
      const csr = await keyAndCsr('cross', '/O=acme/CN=cross');
      const r = await api.call('POST', '/v1/projects/acme/pki/issue', { json: { csr: base64(csr.pem) }, key: key.body['key'] });
      assert.equal(r.status, 403);
      assert.equal(r.body['code'], 'PROJECT_ACCESS_DENIED');
      // The body's own refusals come first, as on every other route: the project is checked after them.
      const headers = { 'content-type': 'application/json' };
      const order: [string, RequestOptions, number, string][] = [
        ['not JSON', { rawBody: 'not json', headers }, 400, 'MALFORMED_JSON'],
        ['no csr', { json: { days: 3 } }, 400, 'VALIDATION_FAILED'],
        ['not JSON as such', { rawBody: '{}', headers: { 'content-type': 'text/plain' } }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ];
      for (const [name, options, status, code] of order) {
        const refused = await api.call('POST', '/v1/projects/acme/pki/issue', { ...options, key: key.body['key'] });
        assert.deepEqual([refused.status, refused.body['code']], [status, code], name);
        const missing = await api.call('POST', '/v1/projects/nope/pki/issue', options);
        assert.deepEqual([missing.status, missing.body['code']], [status, code], `${name}, unknown project`);
      }
    });
  });
}
