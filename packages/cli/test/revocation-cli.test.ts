import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { silentLogger, startServer, type RunningServer } from '@fleetpki/server';
import { opensslCrl, tempDir } from '@fleetpki/test-support';
import { errorCode, fleetpkiAsync, fleetpkiOk } from './helpers/cli.js';

const run = promisify(execFile);

/**
 * Issue 16's bulk acceptance with the real CLI: a factory run of 10,001 devices (`devices
 * generate`), the first 10,000 serials of its manifest revoked in one request (`certificates
 * revoke --serials-from`); none of those connects (curl, sampled), the 10,001st does.
 */
describe('fleetpki certificates revoke and crl, against a running server', () => {
  const tmp = tempDir('revoke-cli');
  const dir = tmp.dir;
  let server: RunningServer;
  let admin: string;
  let caId: string;
  let rows: { certificate_id: string; serial: string; key_file: string; cert_file: string }[];
  const env = (): Record<string, string> => ({ FLEETPKI_SERVER: server.httpUrl, FLEETPKI_API_KEY: admin });
  const cli = (args: readonly string[]) => fleetpkiAsync(args, { cwd: dir, env: env() });

  /** The device's HTTPS identity answer through curl: status and JSON. */
  const connect = async (row: { key_file: string; cert_file: string }): Promise<{ status: number; body: Record<string, unknown> }> => {
    const { stdout } = await run('curl', ['-s', '-w', '\\n%{http_code}', '--cacert', join(dir, 'server-ca.pem'), '--cert', join(dir, 'batch', row.cert_file), '--key', join(dir, 'batch', row.key_file), `${server.gatewayUrl}/v1/device/identity`]);
    const [body, status] = [stdout.slice(0, stdout.lastIndexOf('\n')), stdout.slice(stdout.lastIndexOf('\n') + 1)];
    return { status: Number(status), body: JSON.parse(body) as Record<string, unknown> };
  };

  before(async () => {
    server = await startServer({ dataDir: join(dir, 'data'), httpPort: 0, gatewayPort: 0, mqttPort: 0, coapPort: 0, logger: silentLogger, announce: () => {} });
    admin = server.adminApiKey as string;
    fleetpkiOk(['key', 'create', '--out', 'ca.key.pem'], dir);
    fleetpkiOk(['ca', 'create', '--key', 'ca.key.pem', '--subject', '/CN=Factory CA', '--days', '400', '--out', 'ca.crt.pem'], dir);
    fleetpkiOk(['devices', 'generate', '--project', 'factory', '--count', '10001', '--workers', '2', '--ca-cert', 'ca.crt.pem', '--ca-key', 'ca.key.pem', '--out-dir', 'batch', '--days', '30'], dir);
    const [header, ...lines] = readFileSync(join(dir, 'batch', 'manifest.csv'), 'utf8').trim().split('\n');
    const names = (header as string).split(',');
    rows = lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [names[i], v])) as (typeof rows)[number]);
    writeFileSync(join(dir, 'first-10000.csv'), [header, ...lines.slice(0, 10_000)].join('\n') + '\n');
    assert.equal((await cli(['projects', 'create', '--name', 'Factory', '--slug', 'factory'])).status, 0);
    const uploaded = await cli(['certificates', 'upload', 'ca.crt.pem', '--project', 'factory', '--json']);
    caId = (JSON.parse(uploaded.stdout) as { id: string }).id;
    writeFileSync(join(dir, 'server-ca.pem'), (await cli(['server-ca'])).stdout);
  });
  after(async () => {
    await server.close();
    tmp.cleanup();
  });

  it('revokes the first 10,000 serials of a manifest in one request: none of them connects, the 10,001st does', async () => {
    const revoked = await cli(['certificates', 'revoke', '--project', 'factory', '--ca', caId, '--serials-from', 'first-10000.csv', '--reason', 'keyCompromise', '--json']);
    assert.equal(revoked.status, 0, revoked.stderr);
    const outcome = JSON.parse(revoked.stdout) as { revoked: number; alreadyRevoked: number; results: { status: string; serialNumber: string }[] };
    assert.equal(outcome.revoked, 10_000);
    assert.equal(outcome.results.length, 10_000);
    assert.equal(outcome.results[9_999]?.serialNumber, rows[9_999]?.serial.replace(/^0+/, ''));
    // One request: one transaction, whose audit events all carry its one instant.
    const events = await fetch(`${server.httpUrl}/v1/projects/factory/audit?action=certificate.revoke&perPage=500`, { headers: { 'x-api-key': admin } }).then((r) => r.json() as Promise<{ total: number; list: { createdAt: string }[] }>);
    assert.equal(events.total, 10_000);
    assert.equal(new Set(events.list.map((e) => e.createdAt)).size, 1);
    for (const index of [0, 4_999, 9_999]) {
      const refused = await connect(rows[index] as (typeof rows)[number]);
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.equal(refused.body['code'], 'CERT_REVOKED');
      assert.equal(refused.body['reason'], 'keyCompromise');
    }
    const last = await connect(rows[10_000] as (typeof rows)[number]);
    assert.equal(last.status, 200, JSON.stringify(last.body));
    assert.equal(last.body['certificateId'], rows[10_000]?.certificate_id);
    // Revoked again: already.
    const again = await cli(['certificates', 'revoke', '--project', 'factory', '--ca', caId, '--serial', rows[0]?.serial as string, '--reason', 'keyCompromise', '--json']);
    assert.equal((JSON.parse(again.stdout) as { alreadyRevoked: number }).alreadyRevoked, 1);
  });

  it('revokes by fingerprint a certificate the server has seen', async () => {
    const fingerprint = readFileSync(join(dir, 'batch', 'manifest.csv'), 'utf8').trim().split('\n')[10_001]?.split(',')[2] as string;
    const revoked = await cli(['certificates', 'revoke', '--project', 'factory', '--fingerprint', fingerprint, '--reason', 'cessationOfOperation']);
    assert.equal(revoked.status, 0, revoked.stderr);
    assert.match(revoked.stderr, /revoked 1 certificate/);
    const refused = await connect(rows[10_000] as (typeof rows)[number]);
    assert.equal(refused.body['code'], 'CERT_REVOKED');
    assert.equal(refused.body['reason'], 'cessationOfOperation');
  });

  it('uploads an openssl CRL and shows it', async () => {
    const crl = opensslCrl(tmp, { caCert: 'ca.crt.pem', caKey: 'ca.key.pem', revoke: [join('batch', rows[1]?.cert_file as string)], out: 'factory.crl.pem', lifetime: { days: 7 } });
    assert.ok(crl.length > 0);
    // --dry-run: every check, nothing stored, and whom it would cut (nobody: that serial never connected).
    const dry = await cli(['certificates', 'crl', 'upload', 'factory.crl.pem', '--project', 'factory', '--ca', caId, '--dry-run', '--json']);
    assert.equal(dry.status, 0, dry.stderr);
    const checked = JSON.parse(dry.stdout) as { dryRun: boolean; crlNumber: string; cuts: { deviceCount: number; certificateCount: number } };
    assert.equal(checked.dryRun, true);
    assert.deepEqual([checked.cuts.deviceCount, checked.cuts.certificateCount], [0, 0]);
    const dryText = await cli(['certificates', 'crl', 'upload', 'factory.crl.pem', '--project', 'factory', '--ca', caId, '--dry-run']);
    assert.match(dryText.stderr, /was not stored \(--dry-run\)/);
    const none = await cli(['certificates', 'crl', 'get', '--project', 'factory', '--ca', caId]);
    assert.equal(errorCode(none.stderr), 'CRL_NOT_FOUND');
    const uploaded = await cli(['certificates', 'crl', 'upload', 'factory.crl.pem', '--project', 'factory', '--ca', caId, '--json']);
    assert.equal(uploaded.status, 0, uploaded.stderr);
    assert.equal((JSON.parse(uploaded.stdout) as { entryCount: number }).entryCount, 1);
    const shown = await cli(['certificates', 'crl', 'get', '--project', 'factory', '--ca', caId]);
    assert.match(shown.stdout, /^entries:\s+1$/m);
    const older = await cli(['certificates', 'crl', 'upload', 'factory.crl.pem', '--project', 'factory', '--ca', caId]);
    assert.equal(older.status, 8);
    assert.equal(errorCode(older.stderr), 'CRL_NOT_NEWER');
  });

  it('fleetpki device-certificates list (table, --json, --csv) and get show the inventory', async () => {
    const fingerprint = readFileSync(join(dir, 'batch', 'manifest.csv'), 'utf8').trim().split('\n')[10_001]?.split(',')[2] as string;
    const json = await cli(['device-certificates', 'list', '--project', 'factory', '--json']);
    assert.equal(json.status, 0, json.stderr);
    const listed = JSON.parse(json.stdout) as { fingerprintSha256: string; status: string; source: string; serialNumber: string }[];
    const row = listed.find((c) => c.fingerprintSha256 === fingerprint);
    assert.equal(row?.status, 'revoked');
    assert.equal(row?.source, 'seen');
    const csv = await cli(['device-certificates', 'list', '--project', 'factory', '--csv']);
    assert.equal(csv.status, 0, csv.stderr);
    const [header, ...lines] = csv.stdout.trim().split('\r\n');
    assert.equal(header, 'fingerprintSha256,serialNumber,subject,issuer,notBefore,notAfter,caId,deviceId,source,status,revokedAt,revocationReason,supersededAt,firstSeenAt,lastSeenAt');
    assert.equal(lines.length, listed.length);
    const fields = (lines.find((line) => line.startsWith(fingerprint)) as string).split(',');
    assert.deepEqual([fields[0], fields[1], fields[8], fields[9], fields[11]], [fingerprint, row?.serialNumber, 'seen', 'revoked', 'cessationOfOperation']);
    const filtered = await cli(['device-certificates', 'list', '--project', 'factory', '--status', 'active', '--json']);
    assert.ok((JSON.parse(filtered.stdout) as { status: string }[]).every((c) => c.status === 'active'));
    const table = await cli(['device-certificates', 'list', '--project', 'factory']);
    assert.match(table.stdout, /^SUBJECT\s+SERIAL\s+NOT AFTER\s+STATUS/m);
    const got = await cli(['device-certificates', 'get', fingerprint, '--project', 'factory']);
    assert.equal(got.status, 0, got.stderr);
    assert.match(got.stdout, /^status:\s+revoked$/m);
    const missing = await cli(['device-certificates', 'get', '00'.repeat(32), '--project', 'factory']);
    assert.equal(missing.status, 8);
    assert.equal(errorCode(missing.stderr), 'DEVICE_CERTIFICATE_NOT_FOUND');
    const bad = await cli(['device-certificates', 'list', '--project', 'factory', '--status', 'expired']);
    assert.equal(errorCode(bad.stderr), 'VALIDATION_FAILED');
    const both = await cli(['device-certificates', 'list', '--project', 'factory', '--csv', '--json']);
    assert.equal(both.status, 2);
    assert.equal(errorCode(both.stderr), 'USAGE');
  });

  it('fleetpki projects settings shows and changes a project’s settings', async () => {
    const shown = await cli(['projects', 'settings', 'factory']);
    assert.equal(shown.status, 0, shown.stderr);
    assert.match(shown.stdout, /^staleCrl:\s+apply$/m);
    const changed = await cli(['projects', 'settings', 'factory', '--set', 'staleCrl=refuse', '--set', 'crlValiditySeconds=86400', '--set', 'expiryAlertDays=[60,14]', '--set', 'supersedeOnNewerCertificate=true', '--json']);
    assert.equal(changed.status, 0, changed.stderr);
    const settings = JSON.parse(changed.stdout) as Record<string, unknown>;
    assert.deepEqual(
      [settings['staleCrl'], settings['crlValiditySeconds'], settings['expiryAlertDays'], settings['supersedeOnNewerCertificate'], settings['rotationGracePeriodSeconds']],
      ['refuse', 86_400, [60, 14], true, 3600],
    );
    const badList = await cli(['projects', 'settings', 'factory', '--set', 'expiryAlertDays=[60,']);
    assert.equal(badList.status, 2);
    assert.equal(errorCode(badList.stderr), 'USAGE');
    const bad = await cli(['projects', 'settings', 'factory', '--set', 'crlValiditySeconds=5']);
    assert.equal(bad.status, 8);
    assert.equal(errorCode(bad.stderr), 'VALIDATION_FAILED');
    const malformed = await cli(['projects', 'settings', 'factory', '--set', 'staleCrl']);
    assert.equal(malformed.status, 2);
    assert.equal(errorCode(malformed.stderr), 'USAGE');
    assert.equal((await cli(['projects', 'settings', 'factory', '--set', 'staleCrl=apply'])).status, 0);
  });

  const usage: { name: string; args: string[] }[] = [
    { name: 'no certificate named', args: ['--reason', 'keyCompromise'] },
    { name: 'a serial without its CA', args: ['--serial', '0A', '--reason', 'keyCompromise'] },
    { name: 'two ways at once', args: ['--fingerprint', 'a'.repeat(64), '--serial', '0A', '--ca', 'x', '--reason', 'keyCompromise'] },
    { name: 'an unknown reason', args: ['--serial', '0A', '--ca', 'x', '--reason', 'lostIt'] },
  ];
  for (const u of usage) {
    it(`refuses ${u.name} before asking the server (USAGE)`, async () => {
      const r = await cli(['certificates', 'revoke', '--project', 'factory', ...u.args]);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(errorCode(r.stderr), 'USAGE');
    });
  }
});
