import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_KEY_FILE, MASTER_KEY_FILE, ROOT_CERT_FILE, ROOT_KEY_FILE } from '@fleetpki/server';
import { makeDevice, makeRoot } from '@fleetpki/test-support';
import { apiRequest } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { holdConnection, writeDeviceFiles } from './helpers/device-clients.js';
import { eventually } from './helpers/eventually.js';
import { serveRefusal, spawnServe, type ServeProcess } from './helpers/serve-process.js';
import { createTestStore, type TestStore } from './helpers/stores.js';
import { COAP } from './helpers/transport-coap.js';

const call = (url: string, key: string, method = 'GET', body?: unknown) => apiRequest(method, url, key, { json: body });

describe('two fleetpki serve processes on one PostgreSQL database', () => {
  let store: TestStore;
  let first: ServeProcess;
  let second: ServeProcess;
  let secondDataDir: string;
  let key: string;

  before(async () => {
    store = await createTestStore('postgres');
    first = await spawnServe(['--data-dir', store.dataDir, '--database', store.database!]);
    key = readFileSync(join(store.dataDir, ADMIN_KEY_FILE), 'utf8').trim();
    // The second server has its own data directory holding a copy of the platform root and of
    // the master key (README: servers sharing a database share both).
    secondDataDir = mkdtempSync(join(tmpdir(), 'fleetpki-second-'));
    for (const file of [ROOT_CERT_FILE, ROOT_KEY_FILE, MASTER_KEY_FILE]) cpSync(join(store.dataDir, file), join(secondDataDir, file));
    second = await spawnServe(['--data-dir', secondDataDir, '--database', store.database!]);
  });
  after(async () => {
    await first.stop('SIGKILL');
    await second.stop('SIGKILL');
    rmSync(secondDataDir, { recursive: true, force: true });
    await store.cleanup();
  });

  it('the second start finds the admin key in the database and makes no other', () => {
    assert.ok(!second.stderr().includes('created the admin API key'));
    assert.ok(!second.logs.some((l) => l.msg === 'created the admin API key'));
  });

  it('serves through one what was written through the other, both ways', async () => {
    assert.equal((await call(`${first.url}/v1/projects`, key, 'POST', { name: 'Shared', slug: 'shared' })).status, 201);
    const ca = await call(`${first.url}/v1/projects/shared/certificates`, key, 'POST', { certFile: base64(makeRoot('/CN=Shared Root').pem) });
    assert.equal(ca.status, 201);
    const device = await call(`${second.url}/v1/projects/shared/devices`, key, 'POST', { name: 'sensor-1' });
    assert.equal(device.status, 201);

    const seenBySecond = await call(`${second.url}/v1/projects/shared/certificates`, key);
    assert.deepEqual(seenBySecond.body.list.map((c: { id: string }) => c.id), [ca.body.id]);
    const seenByFirst = await call(`${first.url}/v1/projects/shared/devices/${device.body.id}`, key);
    assert.equal(seenByFirst.status, 200);
    assert.equal(seenByFirst.body.name, 'sensor-1');
    // A project key made through one works on the other; revoked through the other, it stops on both.
    const projectKey = await call(`${first.url}/v1/projects/shared/api-keys`, key, 'POST', {});
    assert.equal((await call(`${second.url}/v1/projects/shared`, projectKey.body.key)).status, 200);
    await call(`${second.url}/v1/projects/shared/api-keys/${projectKey.body.id}`, key, 'DELETE');
    assert.equal((await call(`${first.url}/v1/projects/shared`, projectKey.body.key)).body.code, 'API_KEY_INVALID');
  });

  it('both servers agree on uniqueness: the same slug created through each gives one 201 and one 409', async () => {
    const results = await Promise.all([first, second].map((s) => call(`${s.url}/v1/projects`, key, 'POST', { name: 'Race', slug: 'race' })));
    assert.deepEqual(results.map((r) => r.status).sort(), [201, 409]);
  });

  it('a CA disabled through one server ends the device connection held by the other within one second, and refuses it there', async () => {
    assert.equal((await call(`${first.url}/v1/projects`, key, 'POST', { name: 'Fleet', slug: 'fleet' })).status, 201);
    const root = makeRoot('/CN=Fleet Root');
    const ca = await call(`${first.url}/v1/projects/fleet/certificates`, key, 'POST', { certFile: base64(root.pem) });
    const device = makeDevice(root, '/O=fleet/CN=roamer-1');
    const serverCaPem = readFileSync(join(store.dataDir, ROOT_CERT_FILE), 'utf8');
    // Authenticated by the second server: its anchor cache now holds the project's CA.
    const held = await holdConnection(second.gatewayUrl, serverCaPem, device.pem, device.keyPem);
    assert.equal(held.identity['provisioning'], 'created');
    const since = Date.now();
    assert.equal((await call(`${first.url}/v1/projects/fleet/certificates/${ca.body.id}`, key, 'PATCH', { enabled: false })).status, 200);
    assert.ok((await held.closedAfter(since, 3000)) <= 1000);
    const again = await holdConnection(second.gatewayUrl, serverCaPem, device.pem, device.keyPem);
    assert.equal(again.identity['code'], 'CA_DISABLED');
    again.end();
  });

  it('a certificate revoked through one server ends its mosquitto_sub subscription and its CoAP session held by the other within one second', async () => {
    assert.equal((await call(`${first.url}/v1/projects`, key, 'POST', { name: 'Revoked', slug: 'revoked' })).status, 201);
    const root = makeRoot('/CN=Revoking Fleet Root');
    const ca = await call(`${first.url}/v1/projects/revoked/certificates`, key, 'POST', { certFile: base64(root.pem) });
    assert.equal(ca.status, 201);
    const dir = mkdtempSync(join(tmpdir(), 'fleetpki-revoked-'));
    try {
      const serverCaFile = join(dir, 'server-ca.pem');
      writeFileSync(serverCaFile, readFileSync(join(store.dataDir, ROOT_CERT_FILE)));
      const subscriber = makeDevice(root, '/O=revoked/CN=sub-1');
      const subFiles = writeDeviceFiles(dir, 'sub-1', subscriber.pem, subscriber.keyPem);
      const port = new URL(second.mqttUrl.replace('mqtts:', 'https:')).port;
      // A real subscription on the second server, waiting for messages that never come (its
      // debug lines unbuffered, so SUBACK is seen when it arrives).
      const sub = spawn('stdbuf', ['-oL', 'mosquitto_sub', '-h', 'localhost', '-p', port, '--cafile', serverCaFile, '--cert', subFiles.cert, '--key', subFiles.key, '-i', 'sub-1', '-t', 'revoked/sub-1/#', '-d'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = new Promise<number>((resolve) => sub.once('exit', () => resolve(Date.now())));
      let output = '';
      const subscribed = new Promise<void>((resolve) => {
        const read = (chunk: Buffer) => ((output += chunk.toString('utf8')), /SUBACK/.test(output) && resolve());
        sub.stdout.on('data', read);
        sub.stderr.on('data', read);
      });
      await Promise.race([subscribed, new Promise((_, reject) => setTimeout(() => reject(new Error(`mosquitto_sub did not subscribe: ${output}`)), 10_000).unref())]);
      const coapDevice = makeDevice(root, '/O=revoked/CN=coap-1');
      const coapFiles = writeDeviceFiles(dir, 'coap-1', coapDevice.pem, coapDevice.keyPem);
      const coapSession = await COAP.hold({ urls: { gatewayUrl: second.gatewayUrl, mqttUrl: second.mqttUrl, coapUrl: second.coapUrl }, serverCaFile }, coapFiles);
      // Both are admitted (and their certificates in the inventory) before the revocation.
      const listed = await eventually(
        async () => (await call(`${first.url}/v1/projects/revoked/device-certificates`, key)).body.list as { fingerprintSha256: string; subject: string }[],
        (list) => list.length === 2,
      );
      assert.equal(sub.exitCode, null, `mosquitto_sub is still subscribed before the revocation: ${output}`);
      const since = Date.now();
      const revoked = await call(`${first.url}/v1/projects/revoked/revocations`, key, 'POST', { certificates: listed.map((c) => ({ fingerprintSha256: c.fingerprintSha256 })), reason: 'keyCompromise' });
      assert.equal(revoked.status, 200);
      assert.equal(revoked.body.revoked, 2);
      const subEndedAfter = await Promise.race([exited.then((at) => at - since), new Promise<number>((resolve) => setTimeout(() => resolve(Number.POSITIVE_INFINITY), 3000).unref())]);
      assert.ok(subEndedAfter >= 0 && subEndedAfter <= 1000, `mosquitto_sub exited ${subEndedAfter} ms after the revocation: ${output}`);
      assert.ok((await coapSession.closedAfter(since, 3000)) <= 1000);
      sub.kill('SIGKILL');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start a server whose data directory holds a different platform root', async () => {
    const stranger = mkdtempSync(join(tmpdir(), 'fleetpki-stranger-'));
    try {
      const refusal = await serveRefusal(['--data-dir', stranger, '--database', store.database!]);
      assert.equal(refusal.exitCode, 4);
      assert.match(refusal.stderr, /^fleetpki: PLATFORM_ROOT_MISMATCH:/m);
    } finally {
      rmSync(stranger, { recursive: true, force: true });
    }
  });

  it('refuses to start a server with the platform root but another master key (MASTER_KEY_MISMATCH), and starts once given the shared one', async () => {
    const stranger = mkdtempSync(join(tmpdir(), 'fleetpki-stranger-key-'));
    try {
      for (const file of [ROOT_CERT_FILE, ROOT_KEY_FILE]) cpSync(join(store.dataDir, file), join(stranger, file));
      const refusal = await serveRefusal(['--data-dir', stranger, '--database', store.database!]);
      assert.equal(refusal.exitCode, 4);
      assert.match(refusal.stderr, /^fleetpki: MASTER_KEY_MISMATCH:/m);
      const shared = readFileSync(join(store.dataDir, MASTER_KEY_FILE), 'utf8').trim();
      const third = await spawnServe(['--data-dir', stranger, '--database', store.database!], { env: { FLEETPKI_MASTER_KEY: shared } });
      await third.stop('SIGTERM');
    } finally {
      rmSync(stranger, { recursive: true, force: true });
    }
  });
});
