import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openssl, tempDir } from '@fleetpki/test-support';
import { errorCode, fleetpki, fleetpkiOk } from './helpers/cli.js';

interface ManifestRow {
  certificate_id: string;
  serial: string;
  sha256_fingerprint: string;
  not_after: string;
  key_file: string;
  cert_file: string;
}

function readManifest(path: string): ManifestRow[] {
  const [header, ...lines] = readFileSync(path, 'utf8').trimEnd().split('\n');
  const columns = (header ?? '').split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [columns[i], v])) as unknown as ManifestRow);
}

describe('devices generate', () => {
  const tmp = tempDir('devices');
  const dir = tmp.dir;
  before(() => {
    fleetpkiOk(['key', 'create', '--out', 'ca.key.pem'], dir);
    fleetpkiOk(['ca', 'create', '--key', 'ca.key.pem', '--subject', '/CN=Factory CA', '--days', '400', '--out', 'ca.crt.pem'], dir);
  });
  after(() => tmp.cleanup());

  it('writes a key and certificate per device and a manifest that matches them', () => {
    fleetpkiOk(['devices', 'generate', '--project', 'acme', '--count', '12', '--ca-cert', 'ca.crt.pem', '--ca-key', 'ca.key.pem', '--out-dir', 'batch', '--days', '30'], dir);
    const rows = readManifest(join(dir, 'batch', 'manifest.csv'));
    assert.equal(rows.length, 12);
    assert.deepEqual(rows.map((r) => r.certificate_id), Array.from({ length: 12 }, (_, i) => `device-${String(i + 1).padStart(4, '0')}`));
    assert.equal(new Set(rows.map((r) => r.serial)).size, 12, 'serials are unique');
    for (const row of rows.slice(0, 3)) {
      const cert = join('batch', row.cert_file);
      assert.match(openssl(['verify', '-CAfile', 'ca.crt.pem', cert], dir).toString(), /OK/);
      const text = openssl(['x509', '-in', cert, '-noout', '-subject', '-serial', '-enddate', '-fingerprint', '-sha256'], dir).toString();
      assert.match(text, new RegExp(`subject=O = acme, CN = ${row.certificate_id}$`, 'm'));
      assert.match(text, new RegExp(`serial=${row.serial}$`, 'm'));
      const fingerprint = /Fingerprint=(.*)/.exec(text)?.[1]?.replace(/:/g, '').toLowerCase();
      assert.equal(fingerprint, row.sha256_fingerprint);
      assert.equal(Date.parse(/notAfter=(.*)/.exec(text)?.[1] ?? ''), Date.parse(row.not_after));
      // The key belongs to the certificate.
      const keyPub = openssl(['pkey', '-in', join('batch', row.key_file), '-pubout'], dir).toString();
      const certPub = openssl(['x509', '-in', cert, '-noout', '-pubkey'], dir).toString();
      assert.equal(keyPub, certPub);
      assert.equal(statSync(join(dir, 'batch', row.key_file)).mode & 0o777, 0o600);
    }
  });

  // 3,000 devices on two worker threads: also the regression guard for a hang seen after 4,410
  // keys per thread when keys were exported as JWK (a Node 20 mutex held across a GC).
  it('a batch on worker threads keeps IDs in order, serials unique and every file in place', () => {
    fleetpkiOk(['devices', 'generate', '--project', 'acme', '--count', '3000', '--workers', '2', '--ca-cert', 'ca.crt.pem', '--ca-key', 'ca.key.pem', '--out-dir', 'big', '--days', '30'], dir);
    const rows = readManifest(join(dir, 'big', 'manifest.csv'));
    assert.deepEqual(rows.map((r) => r.certificate_id), Array.from({ length: 3000 }, (_, i) => `device-${String(i + 1).padStart(4, '0')}`));
    assert.equal(new Set(rows.map((r) => r.serial)).size, 3000);
    assert.equal(new Set(rows.map((r) => r.sha256_fingerprint)).size, 3000);
    const files = new Set(readdirSync(join(dir, 'big')));
    assert.equal(files.size, 6001);
    for (const row of rows) assert.ok(files.has(row.key_file) && files.has(row.cert_file), row.certificate_id);
    const last = rows[2999] as ManifestRow;
    assert.match(openssl(['verify', '-CAfile', 'ca.crt.pem', join('big', last.cert_file)], dir).toString(), /OK/);
  });

  it('--der writes DER files openssl reads', () => {
    fleetpkiOk(['devices', 'generate', '--project', 'acme', '--count', '3', '--ca-cert', 'ca.crt.pem', '--ca-key', 'ca.key.pem', '--out-dir', 'der-batch', '--der', '--id-prefix', 'line2-', '--start', '100'], dir);
    const rows = readManifest(join(dir, 'der-batch', 'manifest.csv'));
    assert.deepEqual(rows.map((r) => r.key_file), ['line2-0100.key.der', 'line2-0101.key.der', 'line2-0102.key.der']);
    openssl(['ec', '-inform', 'DER', '-in', join('der-batch', 'line2-0100.key.der'), '-noout'], dir);
    const subject = openssl(['x509', '-inform', 'DER', '-in', join('der-batch', 'line2-0100.crt.der'), '-noout', '-subject'], dir).toString();
    assert.match(subject, /CN = line2-0100/);
  });

  it('refuses a non-empty directory without --force and leaves it untouched', () => {
    mkdirSync(join(dir, 'busy'));
    writeFileSync(join(dir, 'busy', 'keep.txt'), 'mine');
    const result = fleetpki(['devices', 'generate', '--project', 'acme', '--count', '2', '--ca-cert', 'ca.crt.pem', '--ca-key', 'ca.key.pem', '--out-dir', 'busy'], { cwd: dir });
    assert.equal(errorCode(result.stderr), 'FILE_EXISTS');
    assert.equal(result.status, 7);
    assert.deepEqual(readdirSync(join(dir, 'busy')), ['keep.txt']);
    fleetpkiOk(['devices', 'generate', '--project', 'acme', '--count', '2', '--ca-cert', 'ca.crt.pem', '--ca-key', 'ca.key.pem', '--out-dir', 'busy', '--force'], dir);
    assert.equal(readdirSync(join(dir, 'busy')).length, 6);
  });

  it('an --out-dir that is a symbolic link to an empty directory receives the batch', () => {
    mkdirSync(join(dir, 'real-target'));
    symlinkSync(join(dir, 'real-target'), join(dir, 'link-target'));
    fleetpkiOk(['devices', 'generate', '--project', 'acme', '--count', '2', '--ca-cert', 'ca.crt.pem', '--ca-key', 'ca.key.pem', '--out-dir', 'link-target'], dir);
    assert.deepEqual(readdirSync(join(dir, 'real-target')).sort(), ['device-0001.crt.pem', 'device-0001.key.pem', 'device-0002.crt.pem', 'device-0002.key.pem', 'manifest.csv']);
  });

  const refusals = [
    { name: 'invalid project slug', args: ['--project', 'Not_A_Slug'], code: 'INVALID_PROJECT_SLUG', status: 4 },
    { name: 'count zero', args: ['--count', '0'], code: 'USAGE', status: 2 },
    { name: 'IDs longer than 64', args: ['--id-prefix', 'p'.repeat(64)], code: 'INVALID_CERTIFICATE_ID', status: 4 },
    { name: 'validity beyond the CA', args: ['--days', '401'], code: 'INVALID_VALIDITY', status: 2 },
    { name: 'non-CA issuer', args: ['--ca-cert', 'dev.crt.pem', '--ca-key', 'dev.key.pem'], code: 'ISSUER_NOT_CA', status: 4 },
  ];
  for (const refusal of refusals) {
    it(`refuses: ${refusal.name}, writing nothing`, () => {
      if (!existsSync(join(dir, 'dev.crt.pem'))) {
        fleetpkiOk(['key', 'create', '--out', 'dev.key.pem'], dir);
        fleetpkiOk(['csr', 'create', '--key', 'dev.key.pem', '--project', 'acme', '--id', 'd1', '--out', 'dev.csr.pem'], dir);
        fleetpkiOk(['cert', 'sign', '--csr', 'dev.csr.pem', '--ca-cert', 'ca.crt.pem', '--ca-key', 'ca.key.pem', '--days', '30', '--out', 'dev.crt.pem'], dir);
      }
      const base: Record<string, string> = { '--project': 'acme', '--count': '2', '--ca-cert': 'ca.crt.pem', '--ca-key': 'ca.key.pem', '--out-dir': 'refused', '--days': '30' };
      for (let i = 0; i < refusal.args.length; i += 2) base[refusal.args[i] as string] = refusal.args[i + 1] as string;
      const before = readdirSync(dir).sort();
      const result = fleetpki(['devices', 'generate', ...Object.entries(base).flat()], { cwd: dir });
      assert.equal(errorCode(result.stderr), refusal.code, result.stderr);
      assert.equal(result.status, refusal.status);
      assert.deepEqual(readdirSync(dir).sort(), before, 'no output directory and no staging directory left');
    });
  }
});
