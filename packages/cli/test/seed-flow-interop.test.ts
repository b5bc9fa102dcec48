import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openssl, tempDir } from '@fleetpki/test-support';
import { fleetpkiOk } from './helpers/cli.js';

/**
 * The seed's openssl flow with fleetpki doing every step; real openssl judges the results.
 * One table row per key type the issue asks for.
 */
const KEY_TYPES = [
  { name: 'P-256', keyFlags: [] as string[], opensslKeyCmd: 'ec', toDer: ['ec'], publicKey: /prime256v1|P-256/ },
  { name: 'P-384', keyFlags: ['--curve', 'P-384'], opensslKeyCmd: 'ec', toDer: ['ec'], publicKey: /secp384r1|P-384/ },
  { name: 'RSA-2048', keyFlags: ['--rsa', '2048'], opensslKeyCmd: 'pkey', toDer: ['pkcs8', '-topk8', '-nocrypt'], publicKey: /2048 bit/ },
];

for (const keyType of KEY_TYPES) {
  describe(`seed flow with fleetpki, ${keyType.name}`, () => {
    const tmp = tempDir(`seed-${keyType.name}`);
    const dir = tmp.dir;
    before(() => {
      fleetpkiOk(['key', 'create', ...keyType.keyFlags, '--out', 'ca.key.pem'], dir);
      fleetpkiOk(['ca', 'create', '--key', 'ca.key.pem', '--subject', '/CN=Root CA', '--days', '10', '--out', 'ca.crt.pem'], dir);
      fleetpkiOk(['key', 'create', ...keyType.keyFlags, '--out', 'device.key.pem'], dir);
      fleetpkiOk(['csr', 'create', '--key', 'device.key.pem', '--subject', '/O=acme-fleet/CN=sensor-0001', '--out', 'device.csr.pem'], dir);
      fleetpkiOk(['cert', 'sign', '--csr', 'device.csr.pem', '--ca-cert', 'ca.crt.pem', '--ca-key', 'ca.key.pem', '--days', '7', '--out', 'device.crt.pem'], dir);
      fleetpkiOk(['convert', 'device.key.pem', '--to', 'der', '--out', 'device.key.der'], dir);
      fleetpkiOk(['convert', 'device.crt.pem', '--to', 'der', '--out', 'device.crt.der'], dir);
    });
    after(() => tmp.cleanup());

    it('openssl verify accepts the device certificate', () => {
      assert.match(openssl(['verify', '-CAfile', 'ca.crt.pem', 'device.crt.pem'], dir).toString(), /device\.crt\.pem: OK/);
    });

    it('the device certificate has the seed subject, a 7-day life and the device profile', () => {
      const text = openssl(['x509', '-in', 'device.crt.pem', '-noout', '-subject', '-dates', '-ext', 'basicConstraints,keyUsage,extendedKeyUsage'], dir).toString();
      assert.match(text, /^subject=O = acme-fleet, CN = sensor-0001$/m);
      const notBefore = Date.parse(/notBefore=(.*)/.exec(text)?.[1] ?? '');
      const notAfter = Date.parse(/notAfter=(.*)/.exec(text)?.[1] ?? '');
      assert.equal(notAfter - notBefore, 7 * 86_400_000);
      assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
      assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature/);
      assert.match(text, /X509v3 Extended Key Usage:\s*\n\s+TLS Web Client Authentication/);
      const full = openssl(['x509', '-in', 'device.crt.pem', '-noout', '-text'], dir).toString();
      assert.match(full, keyType.publicKey);
      assert.match(full, /X509v3 Subject Key Identifier/);
      assert.match(full, /X509v3 Authority Key Identifier/);
    });

    it('the root CA has the CA profile and a 10-day life', () => {
      const text = openssl(['x509', '-in', 'ca.crt.pem', '-noout', '-subject', '-dates', '-ext', 'basicConstraints,keyUsage'], dir).toString();
      assert.match(text, /^subject=CN = Root CA$/m);
      assert.match(text, /X509v3 Basic Constraints: critical\s+CA:TRUE/);
      assert.match(text, /X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
      const notBefore = Date.parse(/notBefore=(.*)/.exec(text)?.[1] ?? '');
      const notAfter = Date.parse(/notAfter=(.*)/.exec(text)?.[1] ?? '');
      assert.equal(notAfter - notBefore, 10 * 86_400_000);
    });

    it('openssl reads the DER files, and they equal what openssl makes from the PEM ones', () => {
      // RSA keys are PKCS#8 (as OpenSSL 3 genpkey writes them); `openssl pkey -outform DER` would write PKCS#1.
      const keyFromPem = openssl([...keyType.toDer, '-in', 'device.key.pem', '-outform', 'DER'], dir);
      assert.deepEqual(readFileSync(join(dir, 'device.key.der')), keyFromPem);
      openssl([keyType.opensslKeyCmd, '-inform', 'DER', '-in', 'device.key.der', '-noout'], dir);
      const certFromPem = openssl(['x509', '-in', 'device.crt.pem', '-outform', 'DER'], dir);
      assert.deepEqual(readFileSync(join(dir, 'device.crt.der')), certFromPem);
      const subject = openssl(['x509', '-inform', 'DER', '-in', 'device.crt.der', '-noout', '-subject'], dir).toString();
      assert.match(subject, /CN = sensor-0001/);
    });

    it('private key files are 0600, certificates are not secret', () => {
      for (const file of ['ca.key.pem', 'device.key.pem', 'device.key.der']) {
        assert.equal(statSync(join(dir, file)).mode & 0o777, 0o600, file);
      }
      assert.equal(statSync(join(dir, 'device.crt.pem')).mode & 0o777, 0o644);
    });

    it('the CSR verifies under openssl req -verify', () => {
      const out = openssl(['req', '-in', 'device.csr.pem', '-noout', '-verify', '-subject'], dir).toString();
      assert.match(out, /subject=O = acme-fleet, CN = sensor-0001/);
    });
  });
}

describe('root → intermediate → device made by fleetpki', () => {
  const tmp = tempDir('chain');
  const dir = tmp.dir;
  after(() => tmp.cleanup());

  it('verifies with openssl verify -CAfile root -untrusted intermediate, for each key type', () => {
    for (const [i, flags] of [[], ['--curve', 'P-384'], ['--rsa', '2048']].entries()) {
      fleetpkiOk(['key', 'create', ...flags, '--out', `root${i}.key.pem`], dir);
      fleetpkiOk(['ca', 'create', '--key', `root${i}.key.pem`, '--subject', '/O=Example/CN=Root CA', '--days', '3650', '--out', `root${i}.crt.pem`], dir);
      fleetpkiOk(['key', 'create', ...flags, '--out', `int${i}.key.pem`], dir);
      fleetpkiOk([
        'ca', 'create', '--key', `int${i}.key.pem`, '--subject', '/O=Example/CN=Intermediate CA', '--days', '365',
        '--issuer-cert', `root${i}.crt.pem`, '--issuer-key', `root${i}.key.pem`, '--path-len', '0', '--out', `int${i}.crt.pem`,
      ], dir);
      fleetpkiOk(['key', 'create', ...flags, '--out', `dev${i}.key.pem`], dir);
      fleetpkiOk(['csr', 'create', '--key', `dev${i}.key.pem`, '--project', 'acme', '--id', `dev-${i}`, '--out', `dev${i}.csr.pem`], dir);
      fleetpkiOk(['cert', 'sign', '--csr', `dev${i}.csr.pem`, '--ca-cert', `int${i}.crt.pem`, '--ca-key', `int${i}.key.pem`, '--days', '30', '--out', `dev${i}.crt.pem`], dir);
      const out = openssl(['verify', '-CAfile', `root${i}.crt.pem`, '-untrusted', `int${i}.crt.pem`, `dev${i}.crt.pem`], dir).toString();
      assert.match(out, /: OK/);
      const intText = openssl(['x509', '-in', `int${i}.crt.pem`, '-noout', '-ext', 'basicConstraints'], dir).toString();
      assert.match(intText, /CA:TRUE, pathlen:0/);
      const verified = fleetpkiOk(['verify', '--ca', `root${i}.crt.pem`, '--untrusted', `int${i}.crt.pem`, '--project', 'acme', '--json', `dev${i}.crt.pem`], dir);
      const json = JSON.parse(verified.stdout) as { valid: boolean; path: unknown[]; deviceIdentity: { certificateId: string } };
      assert.equal(json.valid, true);
      assert.equal(json.path.length, 3);
      assert.equal(json.deviceIdentity.certificateId, `dev-${i}`);
    }
  });
});
