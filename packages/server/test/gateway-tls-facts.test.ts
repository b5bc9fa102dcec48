import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeDevice, makeRoot, openssl } from '@fleetpki/test-support';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { writeDeviceFiles, type DeviceFiles } from './helpers/device-clients.js';
import { eventually } from './helpers/eventually.js';
import { buildKeyMatchShim } from './helpers/key-match-shim.js';

/** `openssl s_client` against the gateway, asynchronously: the server runs in this very process. */
function sClient(gatewayUrl: string, serverCa: string, files: DeviceFiles, extra: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const port = new URL(gatewayUrl).port;
  const child = spawn('openssl', ['s_client', '-connect', `localhost:${port}`, '-servername', 'localhost', '-CAfile', serverCa, '-cert', files.cert, '-key', files.key, ...extra], {
    env: { ...process.env, ...env },
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stdin.end('GET /v1/device/identity HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) => child.once('close', () => (clearTimeout(timer), resolve(out))));
}

describe('device TLS: the facts the gateway is built on, with openssl s_client', () => {
  let api: TestApi;
  let dir: string;
  let serverCa: string;
  let device: DeviceFiles;
  const root = makeRoot('/CN=Facts Root');

  const authentications = async (): Promise<{ ok: number; failures: { code: string }[] }> => {
    const audit = await api.call('GET', '/v1/projects/acme/audit?perPage=500');
    const list = audit.body['list'] as { action: string; details: { code: string } }[];
    return { ok: list.filter((e) => e.action === 'device.authenticate').length, failures: list.filter((e) => e.action === 'device.authentication-failed').map((e) => e.details) };
  };

  before(async () => {
    api = await startTestApi('sqlite');
    dir = api.store.dataDir;
    assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Acme', slug: 'acme' } })).status, 201);
    assert.equal((await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(root.pem) } })).status, 201);
    serverCa = join(dir, 'server-ca.pem');
    writeFileSync(serverCa, (await api.call('GET', '/v1/server-ca', { key: null })).text);
    const cert = makeDevice(root, '/O=acme/CN=facts-1');
    device = writeDeviceFiles(dir, 'facts-1', cert.pem, cert.keyPem);
  });
  after(() => api.close());

  for (const version of ['-tls1_2', '-tls1_3']) {
    it(`no session is resumed (${version}): every reconnect is a full handshake, authenticated afresh`, async () => {
      const before = (await authentications()).ok;
      const out = await sClient(api.server.gatewayUrl, serverCa, device, [version, '-reconnect']);
      const handshakes = out.split('\n').filter((l) => /^(New|Reused),/.test(l));
      assert.equal(handshakes.length, 6, out);
      assert.ok(handshakes.every((l) => l.startsWith('New,')), handshakes.join('\n'));
      const after = await eventually(authentications, (a) => a.ok - before >= 6);
      assert.equal(after.ok - before, 6);
    });
  }

  it('a stolen certificate presented without its key is refused in the handshake (KEY_POSSESSION_NOT_PROVEN) and creates nothing', async () => {
    const shim = buildKeyMatchShim(dir);
    const stolen = makeDevice(root, '/O=acme/CN=victim-1');
    const thief = writeDeviceFiles(dir, 'victim-1', stolen.pem, openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout'], dir).toString('utf8'));
    // Without the shim, OpenSSL itself refuses to pair the certificate with another key.
    assert.match(await sClient(api.server.gatewayUrl, serverCa, thief, []), /key values mismatch/);
    for (const version of ['-tls1_2', '-tls1_3']) {
      const out = await sClient(api.server.gatewayUrl, serverCa, thief, [version], { LD_PRELOAD: shim });
      assert.doesNotMatch(out, /"certificateId"/, 'no identity is ever answered');
    }
    // The refusal is audited once the server has seen the failed handshake.
    const deadline = Date.now() + 3000;
    let failures: { code: string }[] = [];
    while (Date.now() < deadline) {
      failures = (await authentications()).failures.filter((f) => f.code === 'KEY_POSSESSION_NOT_PROVEN');
      if (failures.length >= 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(failures.length, 2);
    assert.equal((await api.call('GET', '/v1/projects/acme/devices?certificateId=victim-1')).body['total'], 0);
  });
});
