import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger, startServer, type RunningServer } from '@fleetpki/server';
import { tempDir } from '@fleetpki/test-support';
import { errorCode, fleetpkiAsync } from './helpers/cli.js';

/** `fleetpki pki …` against a live server: the customer's offline root signs the managed CA with `fleetpki cert sign --ca`. */
describe('fleetpki pki against a live server', () => {
  const tmp = tempDir('pki-cli');
  const dir = tmp.dir;
  let server: RunningServer;
  const run = (args: readonly string[]) => fleetpkiAsync(args, { cwd: dir, env: { FLEETPKI_SERVER: server.httpUrl, FLEETPKI_API_KEY: server.adminApiKey as string } });
  const ok = async (args: readonly string[]) => {
    const result = await run(args);
    assert.equal(result.status, 0, `fleetpki ${args.join(' ')}: ${result.stderr}`);
    return result;
  };
  /** openssl as an async child: the server under test runs in this process. */
  const opensslText = (args: readonly string[]) =>
    new Promise<string>((resolve, reject) => execFile('openssl', args, { cwd: dir, encoding: 'utf8' }, (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout))));

  before(async () => {
    server = await startServer({ dataDir: join(dir, 'data'), httpPort: 0, gatewayPort: 0, mqttPort: 0, coapPort: 0, logger: silentLogger, announce: () => {} });
    await ok(['projects', 'create', '--name', 'Factory', '--slug', 'factory']);
  });
  after(async () => {
    await server?.close();
    tmp.cleanup();
  });

  it('csr mode with an offline root, then pki issue and tokens', async () => {
    const created = await ok(['pki', 'ca', 'create', '--project', 'factory', '--mode', 'csr', '--max-days', '400', '--csr-out', 'managed-ca.csr.pem', '--json']);
    const ca = JSON.parse(created.stdout) as { id: string; status: string };
    assert.equal(ca.status, 'pending');
    await ok(['key', 'create', '--out', 'root.key.pem']);
    await ok(['ca', 'create', '--key', 'root.key.pem', '--subject', '/CN=Factory Offline Root', '--days', '3650', '--out', 'root.crt.pem']);
    await ok(['cert', 'sign', '--ca', '--path-len', '0', '--csr', 'managed-ca.csr.pem', '--ca-cert', 'root.crt.pem', '--ca-key', 'root.key.pem', '--days', '1000', '--out', 'managed-ca.crt.pem']);
    const completed = JSON.parse((await ok(['pki', 'ca', 'complete', ca.id, '--project', 'factory', '--cert', 'managed-ca.crt.pem', '--json'])).stdout) as { status: string };
    assert.equal(completed.status, 'active');
    const listed = JSON.parse((await ok(['pki', 'ca', 'list', '--project', 'factory', '--json'])).stdout) as { id: string; status: string };
    assert.equal(listed.id, ca.id);

    await ok(['key', 'create', '--out', 'd1.key.pem']);
    await ok(['csr', 'create', '--key', 'd1.key.pem', '--project', 'factory', '--id', 'line-0001', '--out', 'd1.csr.pem']);
    const issued = await ok(['pki', 'issue', '--project', 'factory', '--csr', 'd1.csr.pem', '--days', '30', '--out', 'd1.crt.pem']);
    assert.match(issued.stderr, /issued line-0001/);
    assert.match(await opensslText(['verify', '-CAfile', 'root.crt.pem', '-untrusted', 'managed-ca.crt.pem', 'd1.crt.pem']), /d1.crt.pem: OK/);
    assert.match(await opensslText(['x509', '-in', 'd1.crt.pem', '-noout', '-subject']), /subject=O = factory, CN = line-0001/);
    await ok(['verify', '--ca', 'root.crt.pem', '--untrusted', 'managed-ca.crt.pem', '--project', 'factory', 'd1.crt.pem']);

    const tooLong = await run(['pki', 'issue', '--project', 'factory', '--csr', 'd1.csr.pem', '--days', '401']);
    assert.equal(tooLong.status, 8);
    assert.equal(errorCode(tooLong.stderr), 'VALIDITY_TOO_LONG');

    const tokens = await ok(['pki', 'tokens', '--project', 'factory', '--count', '3']);
    const lines = tokens.stdout.trim().split('\n');
    assert.equal(lines.length, 3);
    for (const line of lines) assert.match(line, /^fpe_[A-Za-z0-9_-]{32}$/);
    assert.ok(!readFileSync(join(dir, 'managed-ca.crt.pem'), 'utf8').includes('PRIVATE KEY'));
  });

  it('pki tokens --for cmp prints what openssl cmp takes, and openssl cmp enrolls with it', async () => {
    const tokens = await ok(['pki', 'tokens', '--project', 'factory', '--count', '2', '--for', 'cmp']);
    const lines = tokens.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    for (const line of lines) assert.match(line, /^-ref [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12} -secret pass:fpe_[A-Za-z0-9_-]{32}$/);
    await ok(['key', 'create', '--out', 'cmp.key.pem']);
    await ok(['csr', 'create', '--key', 'cmp.key.pem', '--project', 'factory', '--id', 'line-cmp', '--out', 'cmp.csr.pem']);
    // The printed line, word for word, as openssl cmp's arguments.
    const args = ['cmp', '-cmd', 'p10cr', '-server', new URL(server.httpUrl).host, '-path', '.well-known/cmp/p/factory', ...(lines[0] as string).split(' '), '-csr', 'cmp.csr.pem', '-certout', 'cmp.crt.pem'];
    await opensslText(args);
    assert.match(await opensslText(['x509', '-in', 'cmp.crt.pem', '-noout', '-subject']), /subject=O = factory, CN = line-cmp/);
    const wrong = await run(['pki', 'tokens', '--project', 'factory', '--for', 'scep']);
    assert.equal(wrong.status, 2);
    assert.equal(errorCode(wrong.stderr), 'USAGE');
  });
});
