import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { MASTER_KEY_FILE, ROOT_CERT_FILE, ROOT_KEY_FILE, silentLogger, startServer } from '@fleetpki/server';
import { makeDevice, makeRoot } from '@fleetpki/test-support';
import { apiRequest } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { curlIdentity, writeDeviceFiles } from './helpers/device-clients.js';
import { createTestStore, type TestStore } from './helpers/stores.js';

const run = promisify(execFile);

/**
 * docs/operating.md's PostgreSQL backup procedure, once, with the real tools: `pg_dump -Fc` of a
 * running server's database, `pg_restore` into a new database, and a server started on it with
 * copies of the data directory's platform root and master key serves the same projects, CA
 * certificates and devices, and lets the same device in.
 */
describe('PostgreSQL: pg_dump and pg_restore, as docs/operating.md says', () => {
  const stores: TestStore[] = [];
  const dirs: string[] = [];
  after(async () => {
    for (const store of stores) await store.cleanup();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('a dump of a running server restores into a database another server serves the same fleet from', async () => {
    const source = await createTestStore('postgres');
    const target = await createTestStore('postgres');
    stores.push(source, target);
    const options = { httpPort: 0, gatewayPort: 0, mqttPort: 0, coapPort: 0, logger: silentLogger, announce: () => {} };
    const first = await startServer({ ...options, dataDir: source.dataDir, database: source.database });
    const key = first.adminApiKey as string;
    const root = makeRoot('/CN=Dumped Root');
    const device = makeDevice(root, '/O=dumped/CN=dumped-1');
    try {
      assert.equal((await apiRequest('POST', `${first.httpUrl}/v1/projects`, key, { json: { name: 'Dumped', slug: 'dumped' } })).status, 201);
      assert.equal((await apiRequest('POST', `${first.httpUrl}/v1/projects/dumped/certificates`, key, { json: { certFile: base64(root.pem) } })).status, 201);
      for (let i = 0; i < 5; i++) assert.equal((await apiRequest('POST', `${first.httpUrl}/v1/projects/dumped/devices`, key, { json: { name: `unit-${i}` } })).status, 201);
      // While it runs: pg_dump takes a consistent snapshot of its own.
      await run('pg_dump', ['-Fc', '-f', join(source.dataDir, 'fleet.dump'), source.database as string]);
    } finally {
      await first.close();
    }
    await run('pg_restore', ['--no-owner', '-d', target.database as string, join(source.dataDir, 'fleet.dump')]);
    // The files beside the database: the platform root and the master key.
    const dataDir = mkdtempSync(join(tmpdir(), 'fleetpki-restored-pg-'));
    dirs.push(dataDir);
    for (const file of [ROOT_CERT_FILE, ROOT_KEY_FILE, MASTER_KEY_FILE]) cpSync(join(source.dataDir, file), join(dataDir, file));
    const second = await startServer({ ...options, dataDir, database: target.database });
    try {
      const devices = await apiRequest('GET', `${second.httpUrl}/v1/projects/dumped/devices?perPage=100`, key);
      assert.equal(devices.status, 200, 'the admin key still opens it: its hash came with the dump');
      assert.deepEqual((devices.body['list'] as { name: string }[]).map((d) => d.name).sort(), ['unit-0', 'unit-1', 'unit-2', 'unit-3', 'unit-4']);
      assert.equal((await apiRequest('GET', `${second.httpUrl}/v1/projects/dumped/certificates`, key)).body['total'], 1);
      assert.equal((await fetch(`${second.httpUrl}/readyz`)).status, 200);
      const serverCa = join(dataDir, 'server-ca.pem');
      writeFileSync(serverCa, await (await fetch(`${second.httpUrl}/v1/server-ca`)).text());
      const admitted = await curlIdentity(second.gatewayUrl, serverCa, writeDeviceFiles(dataDir, 'dumped-1', device.pem, device.keyPem));
      assert.equal(admitted.status, 200, JSON.stringify(admitted.body));
      assert.equal(admitted.body['projectId'], 'dumped');
    } finally {
      await second.close();
    }
  });
});
