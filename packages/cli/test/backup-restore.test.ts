import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import { tempDir } from '@fleetpki/test-support';
import { errorCode, fleetpkiAsync } from './helpers/cli.js';
import { serveChild } from './helpers/serve-child.js';

const run = promisify(execFile);

const serve = (dataDir: string) => serveChild(['--data-dir', dataDir, '--drain-seconds', '0']);

/**
 * Issue 18, 4 with the real CLI: a backup taken while 400 writes run restores into a fresh
 * directory whose store passes PRAGMA integrity_check and holds every write acknowledged before
 * the backup began; `fleetpki serve` starts on it with the same platform root, devices and CA
 * certificates, and lets the same device in. Refusals leave nothing behind.
 */
describe('fleetpki backup and restore', () => {
  const tmp = tempDir('backup');
  const dir = tmp.dir;
  const cli = (args: readonly string[]) => fleetpkiAsync(args, { cwd: dir });
  after(() => tmp.cleanup());

  it('a backup under 400 concurrent writes restores whole, and a server on it accepts the same device', async () => {
    const original = await serve(join(dir, 'original'));
    const key = readFileSync(join(dir, 'original', 'admin-api-key'), 'utf8').trim();
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${original.url}${path}`, { method, headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    try {
      assert.equal((await api('POST', '/v1/projects', { name: 'Vault', slug: 'vault' })).status, 201);
      assert.equal((await cli(['key', 'create', '--out', 'ca.key.pem'])).status, 0);
      assert.equal((await cli(['ca', 'create', '--key', 'ca.key.pem', '--subject', '/CN=Vault CA', '--out', 'ca.crt.pem'])).status, 0);
      assert.equal((await api('POST', '/v1/projects/vault/certificates', { certFile: readFileSync(join(dir, 'ca.crt.pem')).toString('base64') })).status, 201);
      assert.equal((await cli(['key', 'create', '--out', 'd.key.pem'])).status, 0);
      assert.equal((await cli(['csr', 'create', '--key', 'd.key.pem', '--project', 'vault', '--id', 'keeper', '--out', 'd.csr.pem'])).status, 0);
      assert.equal((await cli(['cert', 'sign', '--csr', 'd.csr.pem', '--ca-cert', 'ca.crt.pem', '--ca-key', 'ca.key.pem', '--out', 'd.crt.pem'])).status, 0);
      writeFileSync(join(dir, 'server-ca.pem'), await (await fetch(`${original.url}/v1/server-ca`)).text());
      const curl = (gateway: string) => run('curl', ['-s', '--cacert', join(dir, 'server-ca.pem'), '--cert', join(dir, 'd.crt.pem'), '--key', join(dir, 'd.key.pem'), `${gateway}/v1/device/identity`], { encoding: 'utf8' });
      const first = JSON.parse((await curl(original.gatewayUrl)).stdout) as { deviceId: string; provisioning: string };
      assert.equal(first.provisioning, 'created');

      // 400 writes, 16 at a time, with the backup started in the middle of them.
      const acknowledged: string[] = [];
      let next = 0;
      const writer = async () => {
        while (next < 400) {
          const name = `unit-${next++}`;
          const r = await api('POST', '/v1/projects/vault/devices', { name });
          if (r.status === 201) acknowledged.push(name);
          await r.arrayBuffer();
        }
      };
      const writes = Promise.all(Array.from({ length: 16 }, writer));
      while (acknowledged.length < 150) await new Promise((resolve) => setTimeout(resolve, 5));
      // Taken synchronously as the backup starts: every name here was acknowledged before it
      // began. (A Date.now() comparison lost writes acknowledged within the same millisecond.)
      const acknowledgedBeforeBackup = acknowledged.slice();
      const backup = await cli(['backup', '--data-dir', join(dir, 'original'), '--out', 'fleet.backup', '--include-master-key', '--json']);
      await writes;
      assert.equal(backup.status, 0, backup.stderr);
      assert.equal(acknowledged.length, 400);
      assert.deepEqual((JSON.parse(backup.stdout) as { entries: string[] }).entries.sort(), ['fleetpki.sqlite', 'master.key', 'platform-root-ca.crt.pem', 'platform-root-ca.key.pem', 'server.crt.pem', 'server.key.pem'].sort());
      assert.equal(statSync(join(dir, 'fleet.backup')).mode & 0o777, 0o600);

      const restored = await cli(['restore', 'fleet.backup', '--data-dir', join(dir, 'restored'), '--json']);
      assert.equal(restored.status, 0, restored.stderr);
      assert.equal((JSON.parse(restored.stdout) as { integrity: string }).integrity, 'ok');
      const store = new BetterSqlite3(join(dir, 'restored', 'fleetpki.sqlite'), { readonly: true });
      try {
        assert.equal(store.pragma('integrity_check', { simple: true }), 'ok');
        const names = new Set((store.prepare('SELECT name FROM devices').all() as { name: string }[]).map((row) => row.name));
        assert.ok(acknowledgedBeforeBackup.length >= 150);
        for (const name of acknowledgedBeforeBackup) assert.ok(names.has(name), `${name}, acknowledged before the backup began, is in it`);
      } finally {
        store.close();
      }
      const serverCaBefore = await (await fetch(`${original.url}/v1/server-ca`)).text();
      assert.equal(await original.stop(), 0);

      const again = await serve(join(dir, 'restored'));
      try {
        assert.equal(await (await fetch(`${again.url}/v1/server-ca`)).text(), serverCaBefore, 'the same platform root');
        const cas = (await (await fetch(`${again.url}/v1/projects/vault/certificates`, { headers: { 'x-api-key': key } })).json()) as { total: number };
        assert.equal(cas.total, 1);
        const device = JSON.parse((await curl(again.gatewayUrl)).stdout) as { deviceId: string; provisioning: string };
        assert.deepEqual([device.deviceId, device.provisioning], [first.deviceId, 'existing']);
      } finally {
        assert.equal(await again.stop(), 0);
      }
    } finally {
      await original.stop();
    }
  });

  it('refuses, with codes, leaving nothing behind: a non-empty target, a damaged file, a directory with no SQLite store', async () => {
    writeFileSync(join(dir, 'occupied.txt'), 'x');
    const occupied = await cli(['restore', 'fleet.backup', '--data-dir', dir]);
    assert.equal(occupied.status, 7);
    assert.equal(errorCode(occupied.stderr), 'TARGET_NOT_EMPTY');
    const damaged = readFileSync(join(dir, 'fleet.backup'));
    damaged[damaged.length - 100] = (damaged[damaged.length - 100] as number) ^ 0xff;
    writeFileSync(join(dir, 'damaged.backup'), damaged);
    const refused = await cli(['restore', 'damaged.backup', '--data-dir', join(dir, 'from-damaged')]);
    assert.equal(refused.status, 3);
    assert.equal(errorCode(refused.stderr), 'BACKUP_INVALID');
    assert.equal(existsSync(join(dir, 'from-damaged')), false);
    const empty = await cli(['backup', '--data-dir', join(dir, 'nothing-here'), '--out', 'none.backup']);
    assert.equal(empty.status, 2);
    assert.equal(errorCode(empty.stderr), 'BACKUP_UNSUPPORTED');
    assert.equal(existsSync(join(dir, 'none.backup')), false);
    const postgres = await cli(['backup', '--database', 'postgres://fleetpki@db/fleetpki', '--out', 'pg.backup']);
    assert.equal(errorCode(postgres.stderr), 'BACKUP_UNSUPPORTED');
    assert.match(postgres.stderr, /pg_dump -Fc/);
  });
});
