import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger, startServer, type RunningServer } from '@fleetpki/server';
import { tempDir } from '@fleetpki/test-support';
import { CLI_BIN, errorCode, fleetpkiAsync } from './helpers/cli.js';

type Identity = { projectId: string; certificateId: string; deviceId: string; certificate: { fingerprintSha256: string; notAfter: string; renewAfter: string } };

/**
 * Issue 17, 5: `fleetpki device identity|renew` against a running server, over HTTPS and over
 * CoAP/DTLS (node-coap on OpenSSL's DTLS): the identity answer, a renewal that writes the new
 * pair over the old (kept as *.prev) only after it authenticates, the old certificate superseded
 * after the grace period, and --watch renewing when a renewal is forced, then stopping on SIGTERM.
 */
describe('fleetpki device: the device client', () => {
  const tmp = tempDir('device-client');
  const dir = tmp.dir;
  let server: RunningServer;
  let admin: string;
  // Long enough for a renewal over CoAP (three DTLS handshakes) on a loaded machine to finish inside it.
  const GRACE_SECONDS = 6;
  const cli = (args: readonly string[]) => fleetpkiAsync(args, { cwd: dir });
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.httpUrl}${path}`, { method, headers: { 'x-api-key': admin, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const https = () => `https://localhost:${new URL(server.gatewayUrl).port}`;
  const coaps = () => `coaps://localhost:${new URL(server.coapUrl).port}`;
  const as = (name: string, url: string) => ['--cert', `${name}.crt.pem`, '--key', `${name}.key.pem`, '--server-ca', 'server-ca.pem', '--url', url];
  const fingerprintOf = async (file: string) => {
    const r = await cli(['inspect', file, '--json']);
    return (JSON.parse(r.stdout) as { objects: { fingerprintSha256: string }[] }).objects[0]?.fingerprintSha256 ?? '';
  };
  /** A device certificate from the project's managed CA, made with the CLI's own key and CSR commands. */
  const issue = async (name: string) => {
    assert.equal((await cli(['key', 'create', '--out', `${name}.key.pem`])).status, 0);
    assert.equal((await cli(['csr', 'create', '--key', `${name}.key.pem`, '--project', 'dev', '--id', name, '--out', `${name}.csr.pem`])).status, 0);
    const issued = await api('POST', '/v1/projects/dev/pki/issue', { csr: readFileSync(join(dir, `${name}.csr.pem`)).toString('base64'), days: 30 });
    assert.equal(issued.status, 201, JSON.stringify(issued.body));
    writeFileSync(join(dir, `${name}.crt.pem`), issued.body['certificate'] as string);
  };

  before(async () => {
    server = await startServer({ dataDir: join(dir, 'data'), httpPort: 0, gatewayPort: 0, mqttPort: 0, coapPort: 0, logger: silentLogger, announce: () => {} });
    admin = server.adminApiKey as string;
    assert.equal((await api('POST', '/v1/projects', { name: 'Dev', slug: 'dev' })).status, 201);
    assert.equal((await api('PATCH', '/v1/projects/dev', { settings: { rotationGracePeriodSeconds: GRACE_SECONDS } })).status, 200);
    assert.equal((await api('POST', '/v1/projects/dev/pki/cas', { mode: 'generate', profile: { defaultDays: 30, maxDays: 90 } })).status, 201);
    writeFileSync(join(dir, 'server-ca.pem'), await (await fetch(`${server.httpUrl}/v1/server-ca`)).text());
    for (const name of ['unit-1', 'unit-2', 'unit-3']) await issue(name);
  });
  after(async () => {
    await server.close();
    tmp.cleanup();
  });

  it('device identity answers the same over HTTPS and CoAP, renewal window included', async () => {
    const overHttps = await cli(['device', 'identity', ...as('unit-1', https()), '--json']);
    assert.equal(overHttps.status, 0, overHttps.stderr);
    const identity = JSON.parse(overHttps.stdout) as Identity;
    assert.equal(identity.projectId, 'dev');
    assert.equal(identity.certificateId, 'unit-1');
    assert.equal(identity.certificate.fingerprintSha256, await fingerprintOf('unit-1.crt.pem'));
    const overCoap = await cli(['device', 'identity', ...as('unit-1', coaps()), '--json']);
    assert.equal(overCoap.status, 0, overCoap.stderr);
    // CoAP also says how the device proved itself (it may be a pre-shared key there).
    // (and the device exists by now: the HTTPS connection created it).
    assert.deepEqual(JSON.parse(overCoap.stdout), { ...identity, provisioning: 'existing', credential: 'certificate' });
    const text = await cli(['device', 'identity', ...as('unit-1', https())]);
    assert.match(text.stdout, new RegExp(`^renew after:\\s+${identity.certificate.renewAfter.replaceAll('.', '\\.')}$`, 'm'));
  });

  it('device renew does nothing before renewAfter unless --force', async () => {
    const before = readFileSync(join(dir, 'unit-1.crt.pem'));
    const r = await cli(['device', 'renew', ...as('unit-1', https())]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /not due: renew after/);
    assert.ok(readFileSync(join(dir, 'unit-1.crt.pem')).equals(before));
    assert.equal(existsSync(join(dir, 'unit-1.crt.pem.prev')), false);
  });

  for (const transport of ['https', 'coaps'] as const) {
    const name = transport === 'https' ? 'unit-1' : 'unit-2';
    it(`device renew --force over ${transport}: new pair written over the old (kept as *.prev) after it authenticates; the old one is superseded after the grace period`, async () => {
      const url = transport === 'https' ? https() : coaps();
      const oldFingerprint = await fingerprintOf(`${name}.crt.pem`);
      const oldKey = readFileSync(join(dir, `${name}.key.pem`));
      const r = await cli(['device', 'renew', ...as(name, url), '--force', '--json']);
      assert.equal(r.status, 0, r.stderr);
      const renewal = JSON.parse(r.stdout) as { previous: { fingerprintSha256: string }; renewed: Identity };
      assert.equal(renewal.previous.fingerprintSha256, oldFingerprint);
      const newFingerprint = await fingerprintOf(`${name}.crt.pem`);
      assert.notEqual(newFingerprint, oldFingerprint);
      assert.equal(renewal.renewed.certificate.fingerprintSha256, newFingerprint);
      assert.equal(renewal.renewed.certificateId, name);
      assert.ok(readFileSync(join(dir, `${name}.key.pem.prev`)).equals(oldKey));
      assert.equal(await fingerprintOf(`${name}.crt.pem.prev`), oldFingerprint);
      assert.equal(existsSync(join(dir, `${name}.crt.pem.next`)), false);
      // The old pair still authenticates through the grace period, then CERT_SUPERSEDED.
      const previous = ['--cert', `${name}.crt.pem.prev`, '--key', `${name}.key.pem.prev`, '--server-ca', 'server-ca.pem', '--url', url];
      assert.equal((await cli(['device', 'identity', ...previous])).status, 0);
      // Refused once the grace period after its supersession (at the new pair's first use) is over.
      let supersededAt = '';
      for (let i = 0; i < 50 && !supersededAt; i++) {
        supersededAt = ((await api('GET', `/v1/projects/dev/device-certificates/${oldFingerprint}`)).body['supersededAt'] as string | null) ?? '';
        if (!supersededAt) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(supersededAt, 'superseded');
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(supersededAt) + GRACE_SECONDS * 1000 - Date.now()) + 300));
      const refused = await cli(['device', 'identity', ...previous]);
      assert.equal(refused.status, 8, refused.stderr);
      assert.equal(errorCode(refused.stderr), 'CERT_SUPERSEDED');
      const inventory = await api('GET', `/v1/projects/dev/device-certificates/${oldFingerprint}`);
      assert.equal(inventory.body['status'], 'superseded');
    });
  }

  it('device renew --watch renews when a renewal is forced, and stops on SIGTERM', async () => {
    const oldFingerprint = await fingerprintOf('unit-3.crt.pem');
    const identity = JSON.parse((await cli(['device', 'identity', ...as('unit-3', https()), '--json'])).stdout) as Identity;
    const child = spawn(process.execPath, [CLI_BIN, 'device', 'renew', ...as('unit-3', https()), '--watch', '--poll-seconds', '1'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // watching, not due; past the second unit-3 was issued in
      assert.doesNotMatch(stderr, /renewed/);
      const forced = await api('POST', '/v1/projects/dev/renewals', { deviceIds: [identity.deviceId] });
      assert.equal(forced.status, 201);
      for (let i = 0; i < 100 && !/renewed/.test(stderr); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.match(stderr, new RegExp(`renewed ${oldFingerprint} → [0-9a-f]{64}`));
      assert.notEqual(await fingerprintOf('unit-3.crt.pem'), oldFingerprint);
      // The renewed certificate is not due: the watcher keeps watching, it does not renew again.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      assert.equal(stderr.match(/renewed/g)?.length, 1, stderr);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr);
  });

  it('refuses what it cannot do, with codes', async () => {
    const noUrl = await cli(['device', 'identity', '--cert', 'unit-1.crt.pem', '--key', 'unit-1.key.pem']);
    assert.equal(noUrl.status, 2);
    assert.equal(errorCode(noUrl.stderr), 'USAGE');
    const coapWithoutCa = await cli(['device', 'identity', '--cert', 'unit-1.crt.pem', '--key', 'unit-1.key.pem', '--url', coaps()]);
    assert.equal(errorCode(coapWithoutCa.stderr), 'USAGE');
    // A server CA that is not the gateway's: the gateway is not trusted, over either transport.
    assert.equal((await cli(['key', 'create', '--out', 'other.key.pem'])).status, 0);
    assert.equal((await cli(['ca', 'create', '--key', 'other.key.pem', '--subject', '/CN=Someone Else', '--out', 'other-ca.pem'])).status, 0);
    for (const url of [https(), coaps()]) {
      const untrusted = await cli(['device', 'identity', '--cert', 'unit-1.crt.pem', '--key', 'unit-1.key.pem', '--server-ca', 'other-ca.pem', '--url', url]);
      assert.equal(errorCode(untrusted.stderr), 'SERVER_UNREACHABLE', `${url}: ${untrusted.stderr}`);
    }
    const badScheme = await cli(['device', 'identity', '--cert', 'unit-1.crt.pem', '--key', 'unit-1.key.pem', '--url', 'mqtts://localhost:8883']);
    assert.equal(errorCode(badScheme.stderr), 'USAGE');
  });
});
