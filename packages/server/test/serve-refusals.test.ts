import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SERVER_CERT_FILE } from '@fleetpki/server';
import { makeRoot } from './helpers/ca-fixtures.js';
import { openssl } from './helpers/openssl.js';
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
