import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { opensslAsync } from '@fleetpki/test-support';
import { parseCmpMessage, PkiFailureInfo, type CmpMessage } from '@fleetpki/pki';
import { startTestApi, type TestApi } from './helpers/api.js';
import { curlIdentity } from './helpers/device-clients.js';
import { DIALECTS } from './helpers/stores.js';
import { eventually } from './helpers/eventually.js';
import { CMP_CONFIRM_WINDOW_SECONDS } from '../src/domain/issuance/index.js';

const run = promisify(execFile);

/** `openssl cmp` (the machine's OpenSSL 3.0 client): its exit status and everything it printed. */
async function opensslCmp(dir: string, args: readonly string[]): Promise<{ exit: number; output: string }> {
  try {
    const { stdout, stderr } = await run('openssl', ['cmp', ...args], { cwd: dir, timeout: 30_000, encoding: 'utf8' });
    return { exit: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { exit: typeof e.code === 'number' ? e.code : -1, output: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

/**
 * Issue 21: the CMP server (RFC 9483) judged by `openssl cmp`, on the management port (HTTP) and
 * the device gateway (HTTPS), with enrollment tokens as the MAC's shared secret.
 */
for (const dialect of DIALECTS) {
  describe(`CMP with openssl cmp [${dialect}]`, () => {
    let api: TestApi;
    let dir: string;
    let serverCa: string;
    let management: string;
    let gatewayPort: string;
    /** The server's clock runs this far ahead of the machine's (the confirmation window test moves it). */
    let skewMs = 0;

    const ssl = (args: readonly string[]) => opensslAsync(args, dir);
    const newKey = async (name: string, args: readonly string[] = ['ecparam', '-name', 'prime256v1', '-genkey', '-noout']) => {
      await ssl([args[0] as string, '-out', `${name}.key.pem`, ...args.slice(1)]);
      return `${name}.key.pem`;
    };
    const tokens = async (count = 1, slug = 'acme'): Promise<{ id: string; token: string }[]> => {
      const made = await api.call('POST', `/v1/projects/${slug}/pki/enrollment-tokens`, { json: { count } });
      assert.equal(made.status, 201, made.text);
      return made.body['tokens'] as { id: string; token: string }[];
    };
    const issuedCount = async (): Promise<number> => Number((await api.server.store.db.selectFrom('issued_certificates').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    /** The common arguments of a MAC-protected exchange with the management port. */
    const viaManagement = (token: { id: string; token: string }, path = '.well-known/cmp/p/acme') => ['-server', management, '-path', path, '-ref', token.id, '-secret', `pass:${token.token}`];
    const subjectOf = async (file: string) => (await ssl(['x509', '-in', file, '-noout', '-subject'])).toString('utf8').trim();

    before(async () => {
      api = await startTestApi(dialect, { now: () => new Date(Date.now() + skewMs), serve: { cmpUnconfirmedIntervalMs: 200 } });
      dir = api.store.dataDir;
      management = new URL(api.server.httpUrl).host;
      gatewayPort = new URL(api.server.gatewayUrl).port;
      serverCa = join(dir, 'server-ca.pem');
      writeFileSync(serverCa, (await api.call('GET', '/v1/server-ca', { key: null })).text);
      for (const slug of ['acme', 'beta']) {
        assert.equal((await api.call('POST', '/v1/projects', { json: { name: slug, slug } })).status, 201);
        const ca = await api.call('POST', `/v1/projects/${slug}/pki/cas`, { json: { mode: 'generate' } });
        assert.equal(ca.status, 201, ca.text);
      }
    });
    after(() => api.close());

    it('-cmd ir with -ref/-secret and a fresh key: a certificate under the issuing CA that authenticates at the gateway as the device; certConf is answered', async () => {
      const [token] = await tokens();
      const key = await newKey('cmp-1');
      const r = await opensslCmp(dir, ['-cmd', 'ir', ...viaManagement(token!), '-newkey', key, '-subject', '/O=acme/CN=cmp-1', '-certout', 'cmp-1.crt.pem', '-extracertsout', 'cmp-1.chain.pem', '-cacertsout', 'cmp-1.root.pem']);
      assert.equal(r.exit, 0, r.output);
      assert.equal(await subjectOf('cmp-1.crt.pem'), 'subject=O = acme, CN = cmp-1');
      const verified = await ssl(['verify', '-CAfile', 'cmp-1.root.pem', '-untrusted', 'cmp-1.chain.pem', 'cmp-1.crt.pem']);
      assert.match(verified.toString('utf8'), /OK/);
      const identity = await curlIdentity(api.server.gatewayUrl, serverCa, { cert: join(dir, 'cmp-1.crt.pem'), key: join(dir, key) });
      assert.equal(identity.status, 200, JSON.stringify(identity.body));
      assert.equal(identity.body['certificateId'], 'cmp-1');
      const transaction = await api.server.store.db.selectFrom('cmp_transactions').select(['state', 'request_type']).where('requester', '=', `token:${token!.id}`).executeTakeFirstOrThrow();
      assert.deepEqual(transaction, { state: 'confirmed', request_type: 'ir' });

      // The same token again: ENROLLMENT_TOKEN_USED as a CMP error the client reports, nothing issued.
      const before = await issuedCount();
      const again = await opensslCmp(dir, ['-cmd', 'ir', ...viaManagement(token!), '-newkey', key, '-subject', '/O=acme/CN=cmp-1b', '-certout', 'cmp-1b.crt.pem']);
      assert.notEqual(again.exit, 0);
      assert.match(again.output, /notAuthorized/, again.output);
      assert.match(again.output, /ENROLLMENT_TOKEN_USED/);
      assert.equal(await issuedCount(), before);
    });

    it('a replayed message is refused (transactionIdInUse) and a tampered one (badMessageCheck); nothing is issued', async () => {
      const [token] = await tokens(1);
      const key = await newKey('cmp-replay');
      const r = await opensslCmp(dir, ['-cmd', 'ir', ...viaManagement(token!), '-newkey', key, '-subject', '/O=acme/CN=cmp-replay', '-certout', 'cmp-replay.crt.pem', '-reqout', 'replay-ir.der,replay-certconf.der']);
      assert.equal(r.exit, 0, r.output);
      const post = async (der: Buffer): Promise<CmpMessage> => {
        const answer = await fetch(`${api.server.httpUrl}/.well-known/cmp/p/acme`, { method: 'POST', headers: { 'content-type': 'application/pkixcmp' }, body: new Uint8Array(der) });
        assert.equal(answer.status, 200);
        assert.equal(answer.headers.get('content-type'), 'application/pkixcmp');
        return parseCmpMessage(Buffer.from(await answer.arrayBuffer()));
      };
      const before = await issuedCount();
      const replayed = await post(readFileSync(join(dir, 'replay-ir.der')));
      assert.equal(replayed.body.type, 'error');
      assert.deepEqual(replayed.body.type === 'error' && replayed.body.failInfo, [PkiFailureInfo.transactionIdInUse]);

      // The same request with one bit flipped in its protected part (the subject's CN): the MAC
      // is checked first, so the answer is badMessageCheck, not the replay.
      const ir = readFileSync(join(dir, 'replay-ir.der'));
      const at = ir.indexOf(Buffer.from('cmp-replay'));
      assert.ok(at > 0);
      ir[at] = (ir[at] as number) ^ 0x01;
      const tampered = await post(ir);
      assert.deepEqual(tampered.body.type === 'error' && tampered.body.failInfo, [PkiFailureInfo.badMessageCheck]);
      assert.equal(await issuedCount(), before);
    });

    it('-implicit_confirm is granted (no certConf); a certificate never confirmed (-disable_confirm) is revoked once its window passes', async () => {
      const [implicit, unconfirmed] = await tokens(2);
      const key = await newKey('cmp-confirm');
      const granted = await opensslCmp(dir, ['-cmd', 'ir', ...viaManagement(implicit!), '-newkey', key, '-subject', '/O=acme/CN=cmp-implicit', '-certout', 'cmp-implicit.crt.pem', '-implicit_confirm']);
      assert.equal(granted.exit, 0, granted.output);
      const implicitRow = await api.server.store.db.selectFrom('cmp_transactions').select('state').where('requester', '=', `token:${implicit!.id}`).executeTakeFirstOrThrow();
      assert.equal(implicitRow.state, 'confirmed');

      const left = await opensslCmp(dir, ['-cmd', 'ir', ...viaManagement(unconfirmed!), '-newkey', key, '-subject', '/O=acme/CN=cmp-unconfirmed', '-certout', 'cmp-unconfirmed.crt.pem', '-disable_confirm']);
      assert.equal(left.exit, 0, left.output);
      const files = { cert: join(dir, 'cmp-unconfirmed.crt.pem'), key: join(dir, key) };
      assert.equal((await curlIdentity(api.server.gatewayUrl, serverCa, files)).status, 200, 'usable inside the window');
      skewMs = (CMP_CONFIRM_WINDOW_SECONDS + 1) * 1000;
      try {
        await eventually(
          () => api.server.store.db.selectFrom('cmp_transactions').select('state').where('requester', '=', `token:${unconfirmed!.id}`).executeTakeFirstOrThrow(),
          (row) => row.state === 'revoked',
          5000,
        );
        const refused = await curlIdentity(api.server.gatewayUrl, serverCa, files);
        assert.equal(refused.status, 403);
        assert.equal(refused.body['code'], 'CERT_REVOKED');
        assert.equal((await curlIdentity(api.server.gatewayUrl, serverCa, { cert: join(dir, 'cmp-implicit.crt.pem'), key: join(dir, key) })).status, 200, 'an implicitly confirmed certificate stays');
      } finally {
        skewMs = 0;
      }
    });

    it('-cmd kur signed with the current certificate gets a new one for a new key, the old one superseded once the new is used; -cmd rr revokes; both answers signed by the server', async () => {
      assert.equal((await api.call('PATCH', '/v1/projects/acme', { json: { settings: { rotationGracePeriodSeconds: 0 } } })).status, 200);
      const [token] = await tokens();
      const first = await newKey('cmp-kur-1');
      const enrolled = await opensslCmp(dir, ['-cmd', 'ir', ...viaManagement(token!), '-newkey', first, '-subject', '/O=acme/CN=cmp-kur', '-certout', 'cmp-kur-1.crt.pem', '-extracertsout', 'cmp-kur.chain.pem']);
      assert.equal(enrolled.exit, 0, enrolled.output);
      const second = await newKey('cmp-kur-2');
      // Signed with the current key and certificate; the server's answer is checked against the platform root.
      // As the README shows it: the certificate alone, no -extracerts (the issuing CA is the project's anchor).
      const updated = await opensslCmp(dir, ['-cmd', 'kur', '-server', management, '-path', '.well-known/cmp/p/acme', '-cert', 'cmp-kur-1.crt.pem', '-key', first, '-trusted', serverCa, '-newkey', second, '-certout', 'cmp-kur-2.crt.pem']);
      assert.equal(updated.exit, 0, updated.output);
      assert.equal(await subjectOf('cmp-kur-2.crt.pem'), 'subject=O = acme, CN = cmp-kur');
      const oldFiles = { cert: join(dir, 'cmp-kur-1.crt.pem'), key: join(dir, first) };
      const newFiles = { cert: join(dir, 'cmp-kur-2.crt.pem'), key: join(dir, second) };
      assert.equal((await curlIdentity(api.server.gatewayUrl, serverCa, oldFiles)).status, 200, 'the old certificate works until the new one is used');
      const fresh = await curlIdentity(api.server.gatewayUrl, serverCa, newFiles);
      assert.equal(fresh.status, 200);
      assert.equal(fresh.body['certificateId'], 'cmp-kur');
      const superseded = await eventually(() => curlIdentity(api.server.gatewayUrl, serverCa, oldFiles), (r) => r.status === 403, 5000);
      assert.equal(superseded.body['code'], 'CERT_SUPERSEDED');

      // A key update with the superseded certificate is refused by the identity service.
      const third = await newKey('cmp-kur-3');
      const stale = await opensslCmp(dir, ['-cmd', 'kur', '-server', management, '-path', '.well-known/cmp/p/acme', '-cert', 'cmp-kur-1.crt.pem', '-key', first, '-extracerts', 'cmp-kur.chain.pem', '-trusted', serverCa, '-newkey', third, '-certout', 'cmp-kur-3.crt.pem', '-unprotected_errors']);
      assert.notEqual(stale.exit, 0);
      assert.match(stale.output, /CERT_SUPERSEDED/, stale.output);

      const revoked = await opensslCmp(dir, ['-cmd', 'rr', '-server', management, '-path', '.well-known/cmp/p/acme', '-cert', 'cmp-kur-2.crt.pem', '-key', second, '-trusted', serverCa, '-oldcert', 'cmp-kur-2.crt.pem']);
      assert.equal(revoked.exit, 0, revoked.output);
      const refused = await curlIdentity(api.server.gatewayUrl, serverCa, newFiles);
      assert.equal(refused.status, 403);
      assert.equal(refused.body['code'], 'CERT_REVOKED');
      const listed = await api.call('GET', '/v1/projects/acme/revocations');
      assert.ok((listed.body['list'] as { actor: string }[]).some((r) => r.actor.startsWith('device:')), JSON.stringify(listed.body['list']));
    });

    it('-cmd ir signed with a manufacturer certificate (IDevID) enrolls under its CN; a rogue factory’s is refused (signerNotTrusted)', async () => {
      await ssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'factory.key.pem']);
      await ssl(['req', '-x509', '-new', '-nodes', '-key', 'factory.key.pem', '-sha256', '-subj', '/CN=Acme Factory CA', '-days', '365', '-out', 'factory.crt.pem']);
      const uploaded = await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: readFileSync(join(dir, 'factory.crt.pem')).toString('base64'), purpose: 'manufacturer' } });
      assert.equal(uploaded.status, 201, uploaded.text);
      writeFileSync(join(dir, 'idevid.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
      const makeIdevid = async (name: string, caCert: string, caKey: string): Promise<void> => {
        await newKey(name);
        await ssl(['req', '-new', '-key', `${name}.key.pem`, '-subj', `/O=acme/CN=${name}`, '-out', `${name}.csr.pem`]);
        await ssl(['x509', '-req', '-in', `${name}.csr.pem`, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-days', '30', '-extfile', 'idevid.ext', '-out', `${name}.crt.pem`]);
      };
      await makeIdevid('mfg-0042', 'factory.crt.pem', 'factory.key.pem');
      const operational = await newKey('mfg-0042-op');
      const signed = (name: string) => ['-cmd', 'ir', '-server', management, '-path', '.well-known/cmp/p/acme', '-cert', `${name}.crt.pem`, '-key', `${name}.key.pem`, '-trusted', serverCa, '-newkey', operational, '-subject', '/O=acme/CN=whatever', '-certout', `${name}-op.crt.pem`];
      const enrolled = await opensslCmp(dir, signed('mfg-0042'));
      assert.equal(enrolled.exit, 0, enrolled.output);
      assert.equal(await subjectOf('mfg-0042-op.crt.pem'), 'subject=O = acme, CN = mfg-0042');
      const identity = await curlIdentity(api.server.gatewayUrl, serverCa, { cert: join(dir, 'mfg-0042-op.crt.pem'), key: join(dir, operational) });
      assert.equal(identity.status, 200);
      assert.equal(identity.body['certificateId'], 'mfg-0042');

      await ssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'rogue.key.pem']);
      await ssl(['req', '-x509', '-new', '-nodes', '-key', 'rogue.key.pem', '-sha256', '-subj', '/CN=Rogue Factory', '-days', '365', '-out', 'rogue.crt.pem']);
      await makeIdevid('mfg-rogue', 'rogue.crt.pem', 'rogue.key.pem');
      const before = await issuedCount();
      const refused = await opensslCmp(dir, [...signed('mfg-rogue'), '-unprotected_errors']);
      assert.notEqual(refused.exit, 0);
      assert.match(refused.output, /signerNotTrusted/, refused.output);
      assert.match(refused.output, /MANUFACTURER_CERT_INVALID/);
      assert.equal(await issuedCount(), before);
    });

    it('-cmd p10cr with a CSR, over the device gateway (HTTPS)', async () => {
      const [token] = await tokens();
      const key = await newKey('cmp-p10');
      await ssl(['req', '-new', '-key', key, '-subj', '/O=acme/CN=cmp-p10', '-out', 'cmp-p10.csr.pem']);
      const r = await opensslCmp(dir, ['-cmd', 'p10cr', '-server', `localhost:${gatewayPort}`, '-path', '.well-known/cmp/p/acme', '-tls_used', '-tls_trusted', serverCa, '-ref', token!.id, '-secret', `pass:${token!.token}`, '-csr', 'cmp-p10.csr.pem', '-certout', 'cmp-p10.crt.pem']);
      assert.equal(r.exit, 0, r.output);
      assert.equal(await subjectOf('cmp-p10.crt.pem'), 'subject=O = acme, CN = cmp-p10');
    });

    it('-cmd genm -infotype caCerts returns the issuing CA', async () => {
      const [token] = await tokens();
      const r = await opensslCmp(dir, ['-cmd', 'genm', ...viaManagement(token!), '-infotype', 'caCerts']);
      assert.equal(r.exit, 0, r.output);
      assert.match(r.output, /genp contains ITAV of type: id-it-caCerts/, r.output);
    });

    it('refusals are CMP errors the client reports, with their failure bits, and nothing is issued', async () => {
      const before = await issuedCount();
      const key = await newKey('cmp-bad');
      const rsa1024 = await newKey('cmp-rsa1024', ['genrsa', '1024']);
      const [wrongSecret, otherProject, weak, foreign] = await tokens(4);
      const [betaToken] = await tokens(1, 'beta');
      const cases: { name: string; args: string[]; expect: RegExp }[] = [
        { name: 'a wrong secret', args: ['-cmd', 'ir', '-server', management, '-path', '.well-known/cmp/p/acme', '-ref', wrongSecret!.id, '-secret', 'pass:not-the-token', '-newkey', key, '-subject', '/O=acme/CN=cmp-bad', '-unprotected_errors'], expect: /badMessageCheck/ },
        { name: 'another project’s O', args: ['-cmd', 'ir', ...viaManagement(otherProject!), '-newkey', key, '-subject', '/O=beta/CN=cmp-bad'], expect: /badCertTemplate/ },
        { name: 'an RSA-1024 key', args: ['-cmd', 'ir', ...viaManagement(weak!), '-newkey', rsa1024, '-subject', '/O=acme/CN=cmp-weak'], expect: /badCertTemplate/ },
        { name: 'a token of another project on this project’s path', args: ['-cmd', 'ir', ...viaManagement(betaToken!), '-newkey', key, '-subject', '/O=acme/CN=cmp-bad'], expect: /notAuthorized/ },
        { name: 'an unknown reference', args: ['-cmd', 'ir', '-server', management, '-path', '.well-known/cmp', '-ref', '00000000-0000-4000-8000-000000000000', '-secret', `pass:${foreign!.token}`, '-newkey', key, '-subject', '/O=acme/CN=cmp-bad', '-unprotected_errors'], expect: /notAuthorized/ },
      ];
      for (const c of cases) {
        const r = await opensslCmp(dir, [...c.args, '-certout', 'cmp-bad.crt.pem']);
        assert.notEqual(r.exit, 0, c.name);
        assert.match(r.output, c.expect, `${c.name}: ${r.output}`);
      }
      assert.equal(await issuedCount(), before);
      const refusals = await api.call('GET', '/v1/audit?perPage=50');
      const codes = (refusals.body['list'] as { action: string; details: { code?: string } }[]).filter((e) => e.action === 'pki.cmp.refuse' || e.action === 'pki.certificate.refuse').map((e) => e.details.code);
      for (const code of ['CMP_PROTECTION_INVALID', 'CSR_SUBJECT_INVALID', 'WEAK_KEY', 'ENROLLMENT_TOKEN_INVALID']) assert.ok(codes.includes(code), `${code} audited: ${codes.join(', ')}`);
      // Each token refused before its MAC or by policy stays usable.
      const [, , , unused] = [wrongSecret, otherProject, weak, foreign];
      const ok = await opensslCmp(dir, ['-cmd', 'ir', ...viaManagement(unused!), '-newkey', key, '-subject', '/O=acme/CN=cmp-after', '-certout', 'cmp-after.crt.pem']);
      assert.equal(ok.exit, 0, ok.output);
    });
  });
}
