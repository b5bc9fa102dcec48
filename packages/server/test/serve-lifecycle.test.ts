import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_KEY_FILE, ROOT_CERT_FILE, ROOT_KEY_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE } from '@fleetpki/server';
import { openssl, opensslFingerprint } from '@fleetpki/test-support';
import { spawnServe, type ServeProcess } from './helpers/serve-process.js';
import { createTestStore, DIALECTS, type TestStore } from './helpers/stores.js';

/** curl, as the README's newcomer uses it; returns status and parsed JSON body. */
function curl(method: string, url: string, key: string | undefined, body?: unknown): { status: number; body: Record<string, any> } { // eslint-disable-line @typescript-eslint/no-explicit-any
  const args = ['-s', '-X', method, '-w', '\n%{http_code}', url];
  if (key) args.push('-H', `x-api-key: ${key}`);
  if (body !== undefined) args.push('-H', 'content-type: application/json', '--data-binary', JSON.stringify(body));
  const out = execFileSync('curl', args, { encoding: 'utf8' });
  const newline = out.lastIndexOf('\n');
  const text = out.slice(0, newline);
  return { status: Number(out.slice(newline + 1)), body: text ? JSON.parse(text) : {} };
}

for (const dialect of DIALECTS) {
  describe(`fleetpki serve: first start, the newcomer's path, restart [${dialect}]`, () => {
    let store: TestStore;
    let server: ServeProcess;
    let adminKey: string;
    const storeArgs = (): string[] => ['--data-dir', store.dataDir, ...(store.database ? ['--database', store.database] : [])];

    before(async () => {
      store = await createTestStore(dialect);
      server = await spawnServe(storeArgs());
    });
    after(async () => {
      await server.stop('SIGKILL');
      await store.cleanup();
    });

    it('creates the platform root, the server certificate and the admin key on first start, secrets 0600', () => {
      for (const secret of [ROOT_KEY_FILE, SERVER_KEY_FILE, ADMIN_KEY_FILE]) {
        assert.equal(statSync(join(store.dataDir, secret)).mode & 0o777, 0o600, secret);
      }
      adminKey = readFileSync(join(store.dataDir, ADMIN_KEY_FILE), 'utf8').trim();
      assert.equal(server.stderr().split(adminKey).length - 1, 1, 'the admin key is shown once, on standard error');
      assert.ok(!JSON.stringify(server.logs).includes(adminKey), 'never in the JSON log');
      assert.ok(server.logs.some((l) => l.msg === 'created the admin API key' && l['prefix'] === adminKey.slice(0, 12)));
      const root = openssl(['x509', '-in', ROOT_CERT_FILE, '-noout', '-subject', '-ext', 'basicConstraints'], store.dataDir).toString('utf8');
      assert.match(root, /CN\s*=\s*fleetpki Root X1/);
      assert.match(root, /CA:TRUE/);
      assert.match(openssl(['x509', '-in', ROOT_CERT_FILE, '-noout', '-text'], store.dataDir).toString('utf8'), /NIST CURVE: P-384|secp384r1/);
      // The server certificate chains to the root and carries the default names.
      assert.match(openssl(['verify', '-CAfile', ROOT_CERT_FILE, '-purpose', 'sslserver', SERVER_CERT_FILE], store.dataDir).toString('utf8'), /OK/);
      const san = openssl(['x509', '-in', SERVER_CERT_FILE, '-noout', '-ext', 'subjectAltName'], store.dataDir).toString('utf8');
      assert.match(san, /DNS:localhost/);
      assert.match(san, /IP Address:127\.0\.0\.1/);
      assert.match(openssl(['x509', '-in', SERVER_CERT_FILE, '-noout', '-text'], store.dataDir).toString('utf8'), /prime256v1|P-256/);
    });

    it('serves the root at /v1/server-ca as PEM and DER, without a key', () => {
      const pem = execFileSync('curl', ['-s', `${server.url}/v1/server-ca`], { encoding: 'utf8' });
      assert.equal(pem, readFileSync(join(store.dataDir, ROOT_CERT_FILE), 'utf8'));
      const der = execFileSync('curl', ['-s', `${server.url}/v1/server-ca?format=der`]);
      assert.equal(openssl(['x509', '-inform', 'DER', '-outform', 'PEM'], store.dataDir, der).toString('utf8'), pem);
    });

    it('walks the newcomer path with curl: project, openssl root, list, device; all still there after a restart', async () => {
      assert.equal(curl('POST', `${server.url}/v1/projects`, adminKey, { name: 'Acme', slug: 'acme' }).status, 201);
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key.pem'], store.dataDir);
      openssl(['req', '-x509', '-new', '-nodes', '-key', 'ca.key.pem', '-sha256', '-subj', '/CN=Root CA', '-days', '10', '-out', 'ca.crt.pem'], store.dataDir);
      const certFile = readFileSync(join(store.dataDir, 'ca.crt.pem')).toString('base64');
      const uploaded = curl('POST', `${server.url}/v1/projects/acme/certificates`, adminKey, { certFile, certType: 'root' });
      assert.equal(uploaded.status, 201);
      const device = curl('POST', `${server.url}/v1/projects/acme/devices`, adminKey, { name: 'sensor-1' });
      assert.equal(device.status, 201);

      // Graceful stop: SIGTERM ends with status 0.
      assert.deepEqual(await server.stop('SIGTERM'), { code: 0, signal: null });
      const rootBefore = readFileSync(join(store.dataDir, ROOT_CERT_FILE), 'utf8');
      server = await spawnServe(storeArgs());
      assert.ok(!server.stderr().includes('created the admin API key'), 'no second admin key');
      assert.ok(!server.logs.some((l) => l.msg === 'created the admin API key'));
      assert.equal(readFileSync(join(store.dataDir, ROOT_CERT_FILE), 'utf8'), rootBefore, 'the root survives restarts');

      const certificates = curl('GET', `${server.url}/v1/projects/acme/certificates`, adminKey);
      assert.equal(certificates.status, 200);
      const [ca] = certificates.body['list'];
      assert.equal(ca.id, uploaded.body['id']);
      assert.equal(ca.certificateContent.subject, '/CN=Root CA');
      assert.equal(ca.certificateContent.fingerprintSha256, opensslFingerprint('ca.crt.pem', store.dataDir));
      const devices = curl('GET', `${server.url}/v1/projects/acme/devices?name=sensor-1`, adminKey);
      assert.deepEqual(devices.body['list'].map((d: { id: string }) => d.id), [device.body['id']]);
    });

    it('logs one JSON object per request', async () => {
      // curl ran synchronously: give the log reader a moment to catch up with the child's stdout.
      const deadline = Date.now() + 5000;
      while (server.logs.filter((l) => l.msg === 'request').length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const requests = server.logs.filter((l) => l.msg === 'request');
      assert.ok(requests.length >= 2);
      for (const r of requests) {
        assert.equal(typeof r['status'], 'number');
        assert.equal(typeof r['durationMs'], 'number');
        assert.equal(typeof r['requestId'], 'string');
      }
    });
  });
}
