import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger, startServer, type RunningServer } from '@fleetpki/server';
import { tempDir } from '@fleetpki/test-support';
import { errorCode, fleetpkiAsync } from './helpers/cli.js';

/** Issue 20, 2 with the real CLI: device-token settings through `projects settings`, the signing keys through `token-keys`. */
describe('fleetpki token-keys and the token settings', () => {
  const tmp = tempDir('token-keys');
  let server: RunningServer;
  const cli = (args: readonly string[], key = server.adminApiKey as string) => fleetpkiAsync(args, { cwd: tmp.dir, env: { FLEETPKI_SERVER: server.httpUrl, FLEETPKI_API_KEY: key } });

  before(async () => {
    server = await startServer({ dataDir: join(tmp.dir, 'data'), httpPort: 0, gatewayPort: 0, mqttPort: 0, coapPort: 0, logger: silentLogger, announce: () => {}, tokenKeys: { publishLeadSeconds: 120 } });
    assert.equal((await cli(['projects', 'create', '--name', 'Acme', '--slug', 'acme'])).status, 0);
  });
  after(async () => {
    await server.close();
    tmp.cleanup();
  });

  it('projects settings sets tokenAudiences and tokenLifetimeSeconds, and refuses a lifetime out of bounds', async () => {
    const set = await cli(['projects', 'settings', 'acme', '--set', 'tokenAudiences=["https://api.acme.example"]', '--set', 'tokenLifetimeSeconds=300', '--json']);
    assert.equal(set.status, 0, set.stderr);
    const settings = JSON.parse(set.stdout) as Record<string, unknown>;
    assert.deepEqual([settings['tokenAudiences'], settings['tokenLifetimeSeconds']], [['https://api.acme.example'], 300]);
    const refused = await cli(['projects', 'settings', 'acme', '--set', 'tokenLifetimeSeconds=30']);
    assert.notEqual(refused.status, 0);
    assert.equal(errorCode(refused.stderr), 'VALIDATION_FAILED');
  });

  it('token-keys rotate makes a pending key; list shows it first, the key before it active until then', async () => {
    const rotated = await cli(['token-keys', 'rotate', '--json']);
    assert.equal(rotated.status, 0, rotated.stderr);
    const first = JSON.parse(rotated.stdout) as { kid: string; state: string };
    // No key signed yet: the first one signs at once.
    assert.equal(first.state, 'active');
    const second = JSON.parse((await cli(['token-keys', 'rotate', '--json'])).stdout) as { kid: string; state: string; activatesAt: string; createdAt: string };
    assert.equal(second.state, 'pending');
    assert.equal(Date.parse(second.activatesAt) - Date.parse(second.createdAt), 120_000);
    const listed = await cli(['token-keys', 'list', '--json']);
    assert.equal(listed.status, 0, listed.stderr);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as { kid: string; state: string }[]).map((k) => [k.kid, k.state]),
      [
        [second.kid, 'pending'],
        [first.kid, 'active'],
      ],
    );
    const table = await cli(['token-keys', 'list']);
    assert.match(table.stdout, /^KID\s+STATE/m);
  });
});
