import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SECRET_FILE_NAMES, SERVER_CERT_FILE, SQLITE_FILE_NAME } from '@fleetpki/server';
import { makeRoot, openssl } from '@fleetpki/test-support';
import { serveRefusal, spawnServe } from './helpers/serve-process.js';

describe('fleetpki serve refuses bad options with a code and an exit status', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'fleetpki-refusals-'));
    const a = makeRoot('/CN=Cert A');
    const b = makeRoot('/CN=Cert B');
    writeFileSync(join(dir, 'a.crt.pem'), a.pem);
    writeFileSync(join(dir, 'b.key.pem'), b.key.export({ type: 'pkcs8', format: 'pem' }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cases: { name: string; args: () => string[]; status: number; code: string }[] = [
    { name: 'a --database that is not a postgres URL', args: () => ['--data-dir', join(dir, 'd1'), '--database', 'mysql://root@localhost/x'], status: 2, code: 'INVALID_OPTION' },
    { name: 'a --hostname that is no name', args: () => ['--data-dir', join(dir, 'd2'), '--hostname', 'not a host!'], status: 2, code: 'INVALID_OPTION' },
    { name: 'a PostgreSQL that does not answer', args: () => ['--data-dir', join(dir, 'd3'), '--database', 'postgres://postgres@127.0.0.1:1/none'], status: 7, code: 'DATABASE_UNAVAILABLE' },
    { name: '--tls-key that is not the key of --tls-cert', args: () => ['--data-dir', join(dir, 'd4'), '--tls-cert', join(dir, 'a.crt.pem'), '--tls-key', join(dir, 'b.key.pem')], status: 3, code: 'TLS_CREDENTIALS_INVALID' },
    { name: 'a data directory that cannot be created', args: () => ['--data-dir', join(dir, 'a.crt.pem', 'inside-a-file')], status: 7, code: 'DATA_DIR_UNUSABLE' },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const refusal = await serveRefusal(c.args());
      assert.equal(refusal.exitCode, c.status, refusal.stderr);
      assert.match(refusal.stderr, new RegExp(`^fleetpki: ${c.code}:`, 'm'));
    });
  }

  it('puts every --hostname in the server certificate, and renews it when the names change', async () => {
    const dataDir = join(dir, 'names');
    let server = await spawnServe(['--data-dir', dataDir, '--hostname', 'gw.example.com', '--hostname', '::1']);
    await server.stop('SIGTERM');
    let san = openssl(['x509', '-in', SERVER_CERT_FILE, '-noout', '-ext', 'subjectAltName'], dataDir).toString('utf8');
    assert.match(san, /DNS:gw\.example\.com/);
    assert.match(san, /IP Address:0:0:0:0:0:0:0:1/);
    assert.doesNotMatch(san, /localhost/);
    server = await spawnServe(['--data-dir', dataDir]);
    await server.stop('SIGTERM');
    san = openssl(['x509', '-in', SERVER_CERT_FILE, '-noout', '-ext', 'subjectAltName'], dataDir).toString('utf8');
    assert.match(san, /DNS:localhost/);
    assert.ok(server.logs.some((l) => l.msg.startsWith('renewed the server certificate')));
  });
});

describe('the data directory and its secrets are the server user’s alone (issue 14, finding 4)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'fleetpki-modes-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const modeOf = (path: string) => statSync(path).mode & 0o777;

  it('a fresh data directory: 0700, and every file of the store (fleetpki.sqlite, -wal, -shm) and every secret 0600', async () => {
    const dataDir = join(dir, 'fresh');
    const server = await spawnServe(['--data-dir', dataDir]);
    try {
      assert.equal(modeOf(dataDir), 0o700);
      for (const name of [SQLITE_FILE_NAME, `${SQLITE_FILE_NAME}-wal`, `${SQLITE_FILE_NAME}-shm`, ...SECRET_FILE_NAMES]) {
        if (name === 'master.key' && !existsSync(join(dataDir, name))) continue; // made on first use of a sealed key
        assert.equal(modeOf(join(dataDir, name)), 0o600, name);
      }
    } finally {
      await server.stop('SIGTERM');
    }
  });

  it('a pre-created private (0700) data directory: the store files are created 0600 whatever the umask', async () => {
    const dataDir = join(dir, 'pre-created');
    mkdirSync(dataDir, { mode: 0o700 });
    chmodSync(dataDir, 0o700);
    const server = await spawnServe(['--data-dir', dataDir]);
    await server.stop('SIGTERM');
    for (const name of [SQLITE_FILE_NAME, `${SQLITE_FILE_NAME}-wal`, `${SQLITE_FILE_NAME}-shm`]) {
      if (existsSync(join(dataDir, name))) assert.equal(modeOf(join(dataDir, name)), 0o600, name);
    }
  });

  const refusals: { name: string; prepare: (dataDir: string) => void; code: string; chmod: (dataDir: string) => string }[] = [
    { name: 'a data directory open to others (0755)', prepare: (d) => chmodSync(d, 0o755), code: 'DATA_DIR_PERMISSIONS', chmod: (d) => `chmod 700 ${d}` },
    { name: 'a data directory open to the group (0750)', prepare: (d) => chmodSync(d, 0o750), code: 'DATA_DIR_PERMISSIONS', chmod: (d) => `chmod 700 ${d}` },
    { name: 'an admin-api-key readable by others (0644)', prepare: (d) => chmodSync(join(d, 'admin-api-key'), 0o644), code: 'SECRET_FILE_PERMISSIONS', chmod: (d) => `chmod 600 ${join(d, 'admin-api-key')}` },
    { name: 'a platform root key readable by the group (0640)', prepare: (d) => chmodSync(join(d, 'platform-root-ca.key.pem'), 0o640), code: 'SECRET_FILE_PERMISSIONS', chmod: (d) => `chmod 600 ${join(d, 'platform-root-ca.key.pem')}` },
    { name: 'a server key readable by others (0604)', prepare: (d) => chmodSync(join(d, 'server.key.pem'), 0o604), code: 'SECRET_FILE_PERMISSIONS', chmod: (d) => `chmod 600 ${join(d, 'server.key.pem')}` },
  ];
  for (const [i, c] of refusals.entries()) {
    it(`refuses to start on ${c.name}: ${c.code} with the chmod to run, exit status 4`, async () => {
      const dataDir = join(dir, `refused-${i}`);
      // A first start makes the directory and its secrets; then the mode is loosened.
      await (await spawnServe(['--data-dir', dataDir])).stop('SIGTERM');
      c.prepare(dataDir);
      const refusal = await serveRefusal(['--data-dir', dataDir]);
      assert.equal(refusal.exitCode, 4, refusal.stderr);
      assert.match(refusal.stderr, new RegExp(`^fleetpki: ${c.code}:`, 'm'));
      assert.ok(refusal.stderr.includes(c.chmod(dataDir)), refusal.stderr);
    });
  }
});
