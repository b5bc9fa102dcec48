import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openssl, tempDir } from '@fleetpki/test-support';
import { fleetpki, fleetpkiOk } from './helpers/cli.js';

const COMMANDS = [
  [],
  ['key', 'create'],
  ['ca', 'create'],
  ['csr', 'create'],
  ['cert', 'sign'],
  ['convert'],
  ['inspect'],
  ['verify'],
  ['devices', 'generate'],
];

describe('--help for every command', () => {
  for (const command of COMMANDS) {
    it(`fleetpki ${command.join(' ')} --help`, () => {
      const result = fleetpki([...command, '--help']);
      assert.equal(result.status, 0);
      assert.match(result.stdout, new RegExp(`^Usage: fleetpki ${command.join(' ')}`.replace(/ $/, ''), 'm'));
    });
  }
});

describe('- for standard input and output', () => {
  const tmp = tempDir('streams');
  const dir = tmp.dir;
  before(() => {
    fleetpkiOk(['key', 'create', '--out', 'ca.key.pem'], dir);
    fleetpkiOk(['ca', 'create', '--key', 'ca.key.pem', '--subject', '/CN=Pipe CA', '--days', '5', '--out', 'ca.crt.pem'], dir);
  });
  after(() => tmp.cleanup());

  it('key create to stdout, csr create reading the key from stdin, cert sign from stdin to stdout', () => {
    const key = fleetpkiOk(['key', 'create'], dir).stdout;
    assert.match(key, /^-----BEGIN EC PRIVATE KEY-----/);
    const csr = fleetpki(['csr', 'create', '--key', '-', '--project', 'acme', '--id', 'piped-1'], { cwd: dir, input: key });
    assert.equal(csr.status, 0, csr.stderr);
    assert.match(csr.stdout, /^-----BEGIN CERTIFICATE REQUEST-----/);
    const cert = fleetpki(['cert', 'sign', '--csr', '-', '--ca-cert', 'ca.crt.pem', '--ca-key', 'ca.key.pem', '--days', '2', '--out', '-'], { cwd: dir, input: csr.stdout });
    assert.equal(cert.status, 0, cert.stderr);
    assert.match(openssl(['verify', '-CAfile', 'ca.crt.pem'], dir, Buffer.from(cert.stdout)).toString(), /OK/);
  });

  it('convert from stdin to DER on stdout equals openssl', () => {
    const pem = readFileSync(join(dir, 'ca.crt.pem'));
    const result = fleetpki(['convert', '-', '--to', 'der'], { cwd: dir, input: pem });
    assert.equal(result.status, 0);
    assert.deepEqual(Buffer.from(result.stdout, 'latin1'), openssl(['x509', '-outform', 'DER'], dir, pem));
  });

  it('inspect reads a bundle from stdin', () => {
    const bundle = Buffer.concat([readFileSync(join(dir, 'ca.crt.pem')), readFileSync(join(dir, 'ca.crt.pem'))]);
    const result = fleetpki(['inspect', '--json', '-'], { cwd: dir, input: bundle });
    const json = JSON.parse(result.stdout) as { encoding: string; objects: { type: string }[] };
    assert.equal(json.encoding, 'pem');
    assert.deepEqual(json.objects.map((o) => o.type), ['certificate', 'certificate']);
  });
});
