import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { opensslAsync } from '@fleetpki/test-support';
import { startTestApi, type TestApi } from './helpers/api.js';
import { curl } from './helpers/curl.js';
import { curlIdentity } from './helpers/device-clients.js';
import { DIALECTS } from './helpers/stores.js';

const run = promisify(execFile);

/** strongSwan's `pki` (Debian's strongswan-pki): its exit status and what it printed. */
async function strongswan(dir: string, args: readonly string[]): Promise<{ exit: number; output: string }> {
  try {
    const { stdout, stderr } = await run('pki', args, { cwd: dir, timeout: 30_000, encoding: 'buffer' });
    return { exit: 0, output: stdout.toString('latin1') + stderr.toString('utf8') };
  } catch (error) {
    const e = error as { code?: number; stdout?: Buffer; stderr?: Buffer };
    return { exit: typeof e.code === 'number' ? e.code : -1, output: (e.stdout?.toString('latin1') ?? '') + (e.stderr?.toString('utf8') ?? '') };
  }
}

/** Issue 21: EST complete (RFC 7030, RFC 8951) — judged by strongSwan's client and curl. */
for (const dialect of DIALECTS) {
  describe(`EST with strongSwan pki and curl: cacerts, enroll, re-enroll, csrattrs, serverkeygen [${dialect}]`, () => {
    let api: TestApi;
    let dir: string;
    let serverCa: string;
    let base: string;

    const ssl = (args: readonly string[]) => opensslAsync(args, dir);
    const issuedCount = async (): Promise<number> => Number((await api.server.store.db.selectFrom('issued_certificates').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const keyAndCsr = async (name: string, subject: string): Promise<void> => {
      await ssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key.pem`]);
      await ssl(['req', '-new', '-key', `${name}.key.pem`, '-subj', subject, '-outform', 'DER', '-out', `${name}.csr.der`]);
    };

    before(async () => {
      api = await startTestApi(dialect);
      dir = api.store.dataDir;
      serverCa = join(dir, 'server-ca.pem');
      writeFileSync(serverCa, (await api.call('GET', '/v1/server-ca', { key: null })).text);
      base = `https://localhost:${new URL(api.server.gatewayUrl).port}`;
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'acme', slug: 'acme' } })).status, 201);
      assert.equal((await api.call('POST', '/v1/projects/acme/pki/cas', { json: { mode: 'generate', keyTypes: undefined } })).status, 201);
    });
    after(() => api.close());

    it('pki --estca fetches the CA certificates; pki --est enrolls with a token; pki --est --cert re-enrolls; each certificate authenticates', async () => {
      // strongSwan adds /.well-known/est/… to the URL: the project goes before it (/p/{projectId}).
      const url = `${base}/p/acme`;
      const cacerts = await strongswan(dir, ['--estca', '--url', url, '--cacert', serverCa, '--caout', 'est-ca.pem', '--outform', 'pem', '--force']);
      assert.equal(cacerts.exit, 0, cacerts.output);
      const issuing = (await api.call('GET', '/v1/projects/acme/pki/cas')).body['list'][0] as { certificate: string };
      // strongSwan writes each CA certificate to a file of its own: est-ca.pem, est-ca-1.pem, est-ca-root-2.pem …
      const caFiles = readdirSync(dir)
        .filter((name) => name.startsWith('est-ca'))
        .map((name) => readFileSync(join(dir, name), 'utf8'))
        .join('');
      assert.ok(caFiles.includes(issuing.certificate.trim().split('\n')[1] as string), 'the issuing CA is among the certificates strongSwan stored');

      const made = await api.call('POST', '/v1/projects/acme/pki/enrollment-tokens', { json: { count: 1 } });
      const token = (made.body['tokens'] as { token: string }[])[0]!.token;
      await keyAndCsr('ss-1', '/O=acme/CN=ss-1');
      const enrolled = await strongswan(dir, ['--est', '--url', url, '--cacert', serverCa, '--in', 'ss-1.csr.der', '--userpass', `device:${token}`, '--outform', 'pem']);
      assert.equal(enrolled.exit, 0, enrolled.output);
      writeFileSync(join(dir, 'ss-1.crt.pem'), enrolled.output.slice(enrolled.output.indexOf('-----BEGIN CERTIFICATE-----'), enrolled.output.indexOf('-----END CERTIFICATE-----') + 25));
      const first = await curlIdentity(api.server.gatewayUrl, serverCa, { cert: join(dir, 'ss-1.crt.pem'), key: join(dir, 'ss-1.key.pem') });
      assert.equal(first.status, 200);
      assert.equal(first.body['certificateId'], 'ss-1');

      await keyAndCsr('ss-1b', '/O=acme/CN=ss-1');
      const renewed = await strongswan(dir, ['--est', '--url', url, '--cacert', serverCa, '--in', 'ss-1b.csr.der', '--cert', 'ss-1.crt.pem', '--key', 'ss-1.key.pem', '--outform', 'pem']);
      assert.equal(renewed.exit, 0, renewed.output);
      writeFileSync(join(dir, 'ss-1b.crt.pem'), renewed.output.slice(renewed.output.indexOf('-----BEGIN CERTIFICATE-----'), renewed.output.indexOf('-----END CERTIFICATE-----') + 25));
      const second = await curlIdentity(api.server.gatewayUrl, serverCa, { cert: join(dir, 'ss-1b.crt.pem'), key: join(dir, 'ss-1b.key.pem') });
      assert.equal(second.status, 200);
      assert.equal(second.body['certificateId'], 'ss-1');
      assert.equal(second.body['deviceId'], first.body['deviceId'], 'the same device, with its new certificate');
    });

    it('csrattrs names the subject O (the slug), CN, and the key types and signature algorithms the profile allows', async () => {
      const r = await curl(['--cacert', serverCa, `${base}/.well-known/est/acme/csrattrs`]);
      assert.equal(r.status, 200);
      assert.equal(r.contentType, 'application/csrattrs');
      writeFileSync(join(dir, 'csrattrs.der'), Buffer.from(r.body.toString('latin1'), 'base64'));
      const parsed = (await ssl(['asn1parse', '-inform', 'DER', '-in', 'csrattrs.der'])).toString('utf8');
      for (const expected of [/organizationName/, /UTF8STRING\s+:acme/, /commonName/, /id-ecPublicKey/, /prime256v1/, /ecdsa-with-SHA256/]) assert.match(parsed, expected, parsed);
      const unlabelled = await curl(['--cacert', serverCa, `${base}/.well-known/est/csrattrs`]);
      assert.equal(unlabelled.status, 404, 'without a label or a device certificate, no project is named');
    });

    it('serverkeygen: refused with SERVER_KEYGEN_NOT_ALLOWED until the project allows it; then the key and the certificate come back in multipart/mixed and work together', async () => {
      const made = await api.call('POST', '/v1/projects/acme/pki/enrollment-tokens', { json: { count: 1 } });
      const token = (made.body['tokens'] as { token: string }[])[0]!.token;
      await keyAndCsr('kg-1', '/O=acme/CN=kg-1');
      writeFileSync(join(dir, 'kg-1.csr.b64'), readFileSync(join(dir, 'kg-1.csr.der')).toString('base64'));
      const ask = () => curl(['--cacert', serverCa, '--user', `device:${token}`, '-H', 'content-type: application/pkcs10', '--data-binary', `@${join(dir, 'kg-1.csr.b64')}`, `${base}/.well-known/est/acme/serverkeygen`]);
      const before = await issuedCount();
      const refused = await ask();
      assert.equal(refused.status, 403);
      assert.equal(JSON.parse(refused.body.toString('utf8')).code, 'SERVER_KEYGEN_NOT_ALLOWED');
      assert.equal(await issuedCount(), before);

      assert.equal((await api.call('PATCH', '/v1/projects/acme', { json: { settings: { allowServerKeygen: true } } })).status, 200);
      const answered = await ask();
      assert.equal(answered.status, 200, answered.body.toString('utf8'));
      const boundary = /^multipart\/mixed; boundary=(.+)$/.exec(answered.contentType)?.[1];
      assert.ok(boundary, answered.contentType);
      const parts = answered.body
        .toString('latin1')
        .split(`--${boundary}`)
        .slice(1, -1)
        .map((part) => {
          const [head, body] = part.split('\r\n\r\n') as [string, string];
          return { type: /Content-Type: ([^\r\n]+)/.exec(head)?.[1], der: Buffer.from(body.replace(/\s+/g, ''), 'base64') };
        });
      assert.deepEqual(parts.map((p) => p.type), ['application/pkcs8', 'application/pkcs7-mime; smime-type=certs-only']);
      writeFileSync(join(dir, 'kg-1.key.der'), parts[0]!.der);
      writeFileSync(join(dir, 'kg-1.p7.der'), parts[1]!.der);
      await ssl(['pkey', '-inform', 'DER', '-in', 'kg-1.key.der', '-out', 'kg-1.server.key.pem']);
      writeFileSync(join(dir, 'kg-1.crt.pem'), await ssl(['pkcs7', '-inform', 'DER', '-in', 'kg-1.p7.der', '-print_certs']));
      const certKey = (await ssl(['x509', '-in', 'kg-1.crt.pem', '-noout', '-pubkey'])).toString('utf8');
      const madeKey = (await ssl(['pkey', '-in', 'kg-1.server.key.pem', '-pubout'])).toString('utf8');
      assert.equal(certKey, madeKey, 'the certificate certifies the key the server made');
      const csrKey = (await ssl(['pkey', '-in', 'kg-1.key.pem', '-pubout'])).toString('utf8');
      assert.notEqual(certKey, csrKey, 'not the key that signed the CSR');
      const identity = await curlIdentity(api.server.gatewayUrl, serverCa, { cert: join(dir, 'kg-1.crt.pem'), key: join(dir, 'kg-1.server.key.pem') });
      assert.equal(identity.status, 200);
      assert.equal(identity.body['certificateId'], 'kg-1');
      const audit = await api.call('GET', '/v1/projects/acme/audit?perPage=20');
      assert.ok((audit.body['list'] as { action: string; details: { channel?: string } }[]).some((e) => e.action === 'pki.certificate.issue' && e.details.channel === 'est-serverkeygen'));
      const again = await ask();
      assert.equal(again.status, 403);
      assert.equal(JSON.parse(again.body.toString('utf8')).code, 'ENROLLMENT_TOKEN_USED');
    });
  });
}
