import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCsr, encodeName, encodePem, loadPrivateKey, Oid, Tag } from '@fleetpki/pki';
import { after, before, describe, it } from 'node:test';
import { openssl, tempDir } from '@fleetpki/test-support';
import { errorCode, fleetpki, fleetpkiOk } from './helpers/cli.js';

interface BadInputCase {
  readonly name: string;
  readonly args: readonly string[];
  readonly code: string;
  readonly status: number;
  /** A file the command must not have created. */
  readonly out?: string;
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

function derToPem(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${(der.toString('base64').match(/.{1,64}/g) ?? []).join('\n')}\n-----END ${label}-----\n`;
}

describe('bad input: one-line error, stable code, documented exit status, no file written', () => {
  const tmp = tempDir('bad-input');
  const dir = tmp.dir;
  const write = (name: string, data: string | Buffer): void => writeFileSync(join(dir, name), data);

  before(() => {
    fleetpkiOk(['key', 'create', '--out', 'ca.key.pem'], dir);
    fleetpkiOk(['ca', 'create', '--key', 'ca.key.pem', '--subject', '/CN=Root CA', '--days', '30', '--out', 'ca.crt.pem'], dir);
    fleetpkiOk(['key', 'create', '--out', 'other.key.pem'], dir);
    fleetpkiOk(['key', 'create', '--out', 'device.key.pem'], dir);
    fleetpkiOk(['csr', 'create', '--key', 'device.key.pem', '--project', 'acme', '--id', 'dev-1', '--out', 'device.csr.pem'], dir);
    fleetpkiOk(['cert', 'sign', '--csr', 'device.csr.pem', '--ca-cert', 'ca.crt.pem', '--ca-key', 'ca.key.pem', '--days', '7', '--out', 'device.crt.pem'], dir);

    const certPem = readFileSync(join(dir, 'ca.crt.pem'), 'latin1');
    write('truncated.pem', certPem.slice(0, Math.floor(certPem.length / 2)));
    write('garbage.pem', '-----BEGIN CERTIFICATE-----\nthis is not base64 at all!\n-----END CERTIFICATE-----\n');
    const certDer = pemToDer(certPem);
    write('truncated.der', certDer.subarray(0, certDer.length - 10));
    write('trailing.der', Buffer.concat([certDer, Buffer.from([0, 0])]));
    write('random.bin', Buffer.from('4f1a9c22e07b5d3388aa01ff7e6d5c4b3a291807', 'hex'));
    write('empty.pem', '');

    // A CSR whose subject was edited after signing: dev-1 → dev-2.
    const csrDer = pemToDer(readFileSync(join(dir, 'device.csr.pem'), 'latin1'));
    const at = csrDer.indexOf(Buffer.from('dev-1'));
    const tampered = Buffer.from(csrDer);
    tampered[at + 4] = 0x32;
    write('tampered.csr.pem', derToPem('CERTIFICATE REQUEST', tampered));

    openssl(['req', '-new', '-key', 'device.key.pem', '-subj', '/O=acme/CN=one/CN=two', '-out', 'two-cn.csr.pem'], dir);
    // openssl refuses a CN over 64 characters, so this CSR is built with the core directly.
    const deviceKey = loadPrivateKey(readFileSync(join(dir, 'device.key.pem'))).key;
    const longId = encodeName([
      [{ type: Oid.organizationName, valueTag: Tag.UTF8_STRING, value: 'acme' }],
      [{ type: Oid.commonName, valueTag: Tag.UTF8_STRING, value: 'x'.repeat(65) }],
    ]);
    write('long-id.csr.pem', encodePem('CERTIFICATE REQUEST', createCsr(longId, deviceKey)));
    openssl(['req', '-new', '-key', 'device.key.pem', '-subj', '/O=other/CN=dev-1', '-out', 'other-project.csr.pem'], dir);
    openssl(['pkey', '-in', 'device.key.pem', '-aes256', '-passout', 'pass:secret', '-out', 'encrypted.key.pem'], dir);
    write('huge.pem', Buffer.alloc(17 * 1024 * 1024, 0x41));
    fleetpkiOk(['ca', 'create', '--key', 'ca.key.pem', '--subject', '/CN=Leaf-only CA', '--days', '20', '--path-len', '0', '--out', 'leafonly.crt.pem'], dir);
  });
  after(() => tmp.cleanup());

  const sign = (extra: Record<string, string>, out: string): string[] => {
    const options = { '--csr': 'device.csr.pem', '--ca-cert': 'ca.crt.pem', '--ca-key': 'ca.key.pem', '--days': '7', ...extra };
    return ['cert', 'sign', ...Object.entries(options).flat(), '--out', out];
  };

  const cases: readonly BadInputCase[] = [
    { name: 'truncated PEM CSR', args: sign({ '--csr': 'truncated.pem' }, 'a.pem'), code: 'PEM_MALFORMED', status: 3, out: 'a.pem' },
    { name: 'garbage PEM body', args: ['inspect', 'garbage.pem'], code: 'PEM_MALFORMED', status: 3 },
    { name: 'truncated DER', args: ['convert', 'truncated.der', '--to', 'pem', '--out', 'b.pem'], code: 'DER_MALFORMED', status: 3, out: 'b.pem' },
    { name: 'DER with trailing bytes', args: ['inspect', 'trailing.der'], code: 'DER_TRAILING_DATA', status: 3 },
    { name: 'random bytes', args: ['inspect', 'random.bin'], code: 'DER_MALFORMED', status: 3 },
    { name: 'empty file', args: ['inspect', 'empty.pem'], code: 'DER_MALFORMED', status: 3 },
    { name: 'missing file', args: ['inspect', 'no-such-file.pem'], code: 'FILE_NOT_FOUND', status: 3 },
    { name: 'certificate where a key is expected', args: sign({ '--ca-key': 'ca.crt.pem' }, 'c.pem'), code: 'WRONG_OBJECT_TYPE', status: 3, out: 'c.pem' },
    { name: 'key where a CSR is expected', args: sign({ '--csr': 'device.key.pem' }, 'c2.pem'), code: 'WRONG_OBJECT_TYPE', status: 3, out: 'c2.pem' },
    { name: 'certificate as key for csr create', args: ['csr', 'create', '--key', 'ca.crt.pem', '--project', 'acme', '--id', 'x', '--out', 'c3.pem'], code: 'WRONG_OBJECT_TYPE', status: 3, out: 'c3.pem' },
    { name: 'encrypted private key', args: sign({ '--ca-key': 'encrypted.key.pem' }, 'd.pem'), code: 'KEY_ENCRYPTED', status: 3, out: 'd.pem' },
    { name: 'CSR with a tampered signature', args: sign({ '--csr': 'tampered.csr.pem' }, 'e.pem'), code: 'CSR_SIGNATURE_INVALID', status: 5, out: 'e.pem' },
    { name: 'mismatched CA key', args: sign({ '--ca-key': 'other.key.pem' }, 'f.pem'), code: 'CA_KEY_MISMATCH', status: 5, out: 'f.pem' },
    { name: 'non-CA certificate as --ca-cert', args: sign({ '--ca-cert': 'device.crt.pem', '--ca-key': 'device.key.pem' }, 'g.pem'), code: 'ISSUER_NOT_CA', status: 4, out: 'g.pem' },
    { name: '--days 0', args: sign({ '--days': '0' }, 'h.pem'), code: 'INVALID_VALIDITY', status: 2, out: 'h.pem' },
    { name: '--days not a number', args: sign({ '--days': 'week' }, 'h2.pem'), code: 'INVALID_VALIDITY', status: 2, out: 'h2.pem' },
    { name: 'validity beyond the CA', args: sign({ '--days': '31' }, 'h3.pem'), code: 'INVALID_VALIDITY', status: 2, out: 'h3.pem' },
    { name: 'subject with two CNs (csr create)', args: ['csr', 'create', '--key', 'device.key.pem', '--subject', '/O=acme/CN=a/CN=b', '--out', 'i.pem'], code: 'SUBJECT_CN_MULTIPLE', status: 4, out: 'i.pem' },
    { name: 'subject with two CNs (cert sign)', args: sign({ '--csr': 'two-cn.csr.pem' }, 'j.pem'), code: 'SUBJECT_CN_MULTIPLE', status: 4, out: 'j.pem' },
    { name: 'certificate ID of 65 characters (csr create)', args: ['csr', 'create', '--key', 'device.key.pem', '--project', 'acme', '--id', 'x'.repeat(65), '--out', 'k.pem'], code: 'INVALID_CERTIFICATE_ID', status: 4, out: 'k.pem' },
    { name: 'certificate ID of 65 characters (cert sign)', args: sign({ '--csr': 'long-id.csr.pem' }, 'l.pem'), code: 'INVALID_CERTIFICATE_ID', status: 4, out: 'l.pem' },
    { name: 'O is not the project', args: sign({ '--csr': 'other-project.csr.pem', '--project': 'acme' }, 'm.pem'), code: 'SUBJECT_O_MISMATCH', status: 4, out: 'm.pem' },
    { name: 'invalid project slug', args: ['csr', 'create', '--key', 'device.key.pem', '--project', 'Bad_Slug', '--id', 'x', '--out', 'n.pem'], code: 'INVALID_PROJECT_SLUG', status: 4, out: 'n.pem' },
    { name: 'subject without leading slash', args: ['ca', 'create', '--key', 'ca.key.pem', '--subject', 'CN=Root', '--out', 'o.pem'], code: 'SUBJECT_SYNTAX', status: 2, out: 'o.pem' },
    { name: 'unknown subject attribute', args: ['ca', 'create', '--key', 'ca.key.pem', '--subject', '/XX=1', '--out', 'p.pem'], code: 'SUBJECT_UNKNOWN_ATTRIBUTE', status: 2, out: 'p.pem' },
    { name: 'unsupported curve', args: ['key', 'create', '--curve', 'P-192', '--out', 'q.pem'], code: 'USAGE', status: 2, out: 'q.pem' },
    { name: 'bundle to DER', args: ['convert', 'bundle.pem', '--to', 'der', '--out', 'r.der'], code: 'INVALID_ARGUMENT', status: 2, out: 'r.der' },
    { name: 'CSR given to verify', args: ['verify', '--ca', 'ca.crt.pem', 'device.csr.pem'], code: 'WRONG_OBJECT_TYPE', status: 3 },
    { name: 'input over the size bound', args: ['inspect', 'huge.pem'], code: 'INPUT_TOO_LARGE', status: 3 },
    { name: 'a CA with an empty subject', args: ['ca', 'create', '--key', 'ca.key.pem', '--subject', '/', '--out', 's.pem'], code: 'SUBJECT_SYNTAX', status: 2, out: 's.pem' },
    {
      name: 'an intermediate under a pathLen 0 CA',
      args: ['ca', 'create', '--key', 'other.key.pem', '--subject', '/CN=Sub', '--days', '5', '--issuer-cert', 'leafonly.crt.pem', '--issuer-key', 'ca.key.pem', '--out', 't.pem'],
      code: 'ISSUER_PATH_LEN',
      status: 4,
      out: 't.pem',
    },
    { name: '--project with --no-device-policy', args: sign({ '--project': 'acme' }, 'u.pem').concat('--no-device-policy'), code: 'USAGE', status: 2, out: 'u.pem' },
    { name: '--at that is not ISO 8601', args: ['verify', '--ca', 'ca.crt.pem', '--at', 'March 7', 'device.crt.pem'], code: 'USAGE', status: 2 },
    { name: '--start beyond safe integers', args: ['devices', 'generate', '--project', 'acme', '--count', '2', '--start', '9007199254740993', '--ca-cert', 'ca.crt.pem', '--ca-key', 'ca.key.pem', '--out-dir', 'v'], code: 'USAGE', status: 2, out: 'v' },
  ];

  for (const c of cases) {
    it(c.name, () => {
      if (c.args.includes('bundle.pem') && !existsSync(join(dir, 'bundle.pem'))) {
        write('bundle.pem', readFileSync(join(dir, 'device.crt.pem'), 'latin1') + readFileSync(join(dir, 'ca.crt.pem'), 'latin1'));
      }
      const before = new Set(readdirSync(dir));
      const result = fleetpki(c.args, { cwd: dir });
      assert.equal(errorCode(result.stderr), c.code, result.stderr);
      assert.equal(result.status, c.status);
      assert.equal(result.stderr.trim().split('\n').length, 1, 'the error is one line');
      if (c.out) assert.equal(existsSync(join(dir, c.out)), false, `${c.out} must not exist`);
      const leftovers = readdirSync(dir).filter((f) => !before.has(f));
      assert.deepEqual(leftovers, [], 'no new files, temporary or final');
    });
  }

  it('an existing key file is never overwritten without --force', () => {
    const original = readFileSync(join(dir, 'device.key.pem'));
    const result = fleetpki(['key', 'create', '--out', 'device.key.pem'], { cwd: dir });
    assert.equal(errorCode(result.stderr), 'FILE_EXISTS');
    assert.equal(result.status, 7);
    assert.deepEqual(readFileSync(join(dir, 'device.key.pem')), original);
    fleetpkiOk(['key', 'create', '--out', 'device.key.pem', '--force'], dir);
    assert.notDeepEqual(readFileSync(join(dir, 'device.key.pem')), original);
  });

  it('an unknown flag is a usage error (exit 2)', () => {
    const result = fleetpki(['key', 'create', '--colour', 'red'], { cwd: dir });
    assert.equal(result.status, 2);
  });

  it('verify failure prints the code and exits 6', () => {
    fleetpkiOk(['key', 'create', '--out', 'stranger.key.pem'], dir);
    fleetpkiOk(['ca', 'create', '--key', 'stranger.key.pem', '--subject', '/CN=Root CA', '--days', '30', '--out', 'stranger.crt.pem'], dir);
    const result = fleetpki(['verify', '--ca', 'stranger.crt.pem', '--json', 'device.crt.pem'], { cwd: dir });
    assert.equal(result.status, 6);
    const json = JSON.parse(result.stdout) as { valid: boolean; code: string; certificate: { subject: string } };
    assert.equal(json.valid, false);
    assert.equal(json.code, 'CERT_SIGNATURE_INVALID');
    assert.equal(json.certificate.subject, 'O=acme, CN=dev-1');
    const expired = fleetpki(['verify', '--ca', 'ca.crt.pem', '--at', '2100-01-01T00:00:00Z', '--json', 'device.crt.pem'], { cwd: dir });
    assert.equal(expired.status, 6);
    assert.equal((JSON.parse(expired.stdout) as { code: string }).code, 'CERT_EXPIRED');
    const unknown = fleetpki(['verify', '--ca', 'device.crt.pem', '--json', 'ca.crt.pem'], { cwd: dir });
    assert.equal((JSON.parse(unknown.stdout) as { code: string }).code, 'UNKNOWN_ISSUER');
  });
});
