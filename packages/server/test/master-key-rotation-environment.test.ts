import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { addMasterKey, MasterKeyError, masterKeyStatus, resealMasterKey, rotateMasterKey, silentLogger, startServer, StartupError, type RunningServer } from '@fleetpki/server';
import { apiRequest } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { coapGet } from './helpers/coap-clients.js';
import { opensslAsync } from '@fleetpki/test-support';
import { createTestStore } from './helpers/stores.js';

const PSK = 'correct horse battery staple';

/**
 * The README's rotation in steps, for servers given FLEETPKI_MASTER_KEY on one PostgreSQL: `add`
 * answers the new ring, the server restarts with it, `reseal` re-seals and names the key to drop,
 * the server restarts with the new key alone; every restart issues and lets a PSK device in.
 */
describe('master-key rotation in steps, with the key from FLEETPKI_MASTER_KEY, on PostgreSQL', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('add, restart with the ring, reseal, restart with the new key alone; the old key alone is then refused', async () => {
    const store = await createTestStore('postgres');
    cleanups.push(() => store.cleanup());
    const oldKey = randomBytes(32).toString('hex');
    let server: RunningServer | undefined;
    const start = async (masterKey: string) => {
      await server?.close();
      server = await startServer({ dataDir: store.dataDir, database: store.database, masterKey, httpPort: 0, gatewayPort: 0, mqttPort: 0, coapPort: 0, logger: silentLogger, announce: () => {} });
      return server;
    };
    cleanups.push(async () => server?.close());
    const first = await start(oldKey);
    const key = first.adminApiKey as string;
    const call = (method: string, path: string, json?: unknown) => apiRequest(method, `${(server as RunningServer).httpUrl}${path}`, key, json === undefined ? {} : { json });
    assert.equal((await call('POST', '/v1/projects', { name: 'Steps', slug: 'steps' })).status, 201);
    assert.equal((await call('POST', '/v1/projects/steps/pki/cas', { mode: 'generate' })).status, 201);
    await opensslAsync(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'd.key.pem'], store.dataDir);
    await opensslAsync(['req', '-new', '-key', 'd.key.pem', '-subj', '/O=steps/CN=d1', '-out', 'd.csr.pem'], store.dataDir);
    const csr = base64(readFileSync(join(store.dataDir, 'd.csr.pem')));
    const pskDevice = async (name: string) => {
      const made = await call('POST', '/v1/projects/steps/devices', { name });
      assert.equal((await call('POST', `/v1/projects/steps/devices/${made.body['id'] as string}/credentials`, { type: 'PRE_SHARED_KEY', identity: `${name}@steps`, preSharedKey: PSK })).status, 201);
    };
    const works = async (name: string) => {
      assert.equal((await call('POST', '/v1/projects/steps/pki/issue', { csr })).status, 201);
      const answer = await coapGet('openssl', (server as RunningServer).coapUrl, '/v1/device/identity', { identity: `${name}@steps`, key: PSK }, '');
      assert.equal(answer.body['deviceName'], name, answer.text);
    };
    await pskDevice('before');
    await works('before');
    const target = { dataDir: store.dataDir, database: store.database };

    await assert.rejects(rotateMasterKey({ ...target, env: oldKey }), (error: unknown) => error instanceof MasterKeyError && error.code === 'MASTER_KEY_IN_ENVIRONMENT');
    const added = await addMasterKey({ ...target, env: oldKey });
    const ring = added.environmentValue as string;
    assert.equal(ring.split(',').length, 2);
    assert.equal(existsSync(join(store.dataDir, 'master.key')), false, 'the variable is the key: no file is written');

    await start(ring);
    await works('before');
    await pskDevice('between');
    await works('between');
    const between = await masterKeyStatus({ ...target, env: ring });
    assert.equal(between.ring[0], added.added);
    assert.equal(between.census.byKey[added.added], 1, 'the PSK made with the ring is under the new key');

    const resealed = await resealMasterKey({ ...target, env: ring });
    assert.equal(resealed.current, added.added);
    assert.deepEqual(resealed.retired, [between.ring[1]]);
    assert.equal(resealed.resealed + resealed.alreadyCurrent, between.census.total);
    const newKey = ring.split(',')[0] as string;
    const afterwards = await masterKeyStatus({ ...target, env: newKey });
    assert.deepEqual(afterwards.census.byKey, { [added.added]: between.census.total });
    assert.deepEqual(afterwards.census.unopenable, []);

    await start(newKey);
    await works('before');
    await works('between');
    await server?.close();
    server = undefined;
    await assert.rejects(start(oldKey), (error: unknown) => error instanceof StartupError && error.code === 'MASTER_KEY_MISMATCH');
  });
});
