import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openssl, tempDir } from '@fleetpki/test-support';
import { fleetpkiOk } from './helpers/cli.js';

/** A CA directory for `openssl ca`, the only openssl command that writes CRLs. */
const OPENSSL_CA_CONFIG = `[ ca ]
default_ca = test_ca
[ test_ca ]
dir = .
database = index.txt
new_certs_dir = .
certificate = ca.crt.pem
private_key = ca.key.pem
serial = serial.txt
crlnumber = crlnumber.txt
default_md = sha256
default_crl_days = 7
policy = anything
[ anything ]
commonName = supplied
`;

interface CrlJson {
  objects: { type: string; issuer: string; nextUpdate: string | null; revoked: { serialNumber: string }[] }[];
}

describe('CRLs and public keys made by openssl', () => {
  const tmp = tempDir('crl');
  const dir = tmp.dir;
  let revokedSerial = '';
  before(() => {
    fleetpkiOk(['key', 'create', '--out', 'ca.key.pem'], dir);
    fleetpkiOk(['ca', 'create', '--key', 'ca.key.pem', '--subject', '/O=Example/CN=Revoking CA', '--days', '30', '--out', 'ca.crt.pem'], dir);
    fleetpkiOk(['key', 'create', '--out', 'dev.key.pem'], dir);
    fleetpkiOk(['csr', 'create', '--key', 'dev.key.pem', '--project', 'acme', '--id', 'lost-device', '--out', 'dev.csr.pem'], dir);
    fleetpkiOk(['cert', 'sign', '--csr', 'dev.csr.pem', '--ca-cert', 'ca.crt.pem', '--ca-key', 'ca.key.pem', '--days', '7', '--out', 'dev.crt.pem'], dir);
    writeFileSync(join(dir, 'openssl.cnf'), OPENSSL_CA_CONFIG);
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'crlnumber.txt'), '01\n');
    openssl(['ca', '-config', 'openssl.cnf', '-revoke', 'dev.crt.pem'], dir);
    openssl(['ca', '-config', 'openssl.cnf', '-gencrl', '-out', 'ca.crl.pem'], dir);
    revokedSerial = openssl(['x509', '-in', 'dev.crt.pem', '-noout', '-serial'], dir).toString().trim().replace('serial=', '');
  });
  after(() => tmp.cleanup());

  it('inspect reads the CRL and lists the revoked serial', () => {
    const json = JSON.parse(fleetpkiOk(['inspect', '--json', 'ca.crl.pem'], dir).stdout) as CrlJson;
    const crl = json.objects[0];
    assert.equal(crl?.type, 'crl');
    assert.equal(crl?.issuer, '/O=Example/CN=Revoking CA');
    assert.notEqual(crl?.nextUpdate, null);
    assert.deepEqual(crl?.revoked.map((r) => r.serialNumber), [revokedSerial]);
  });

  it('convert round-trips the CRL through DER, byte for byte as openssl does', () => {
    fleetpkiOk(['convert', 'ca.crl.pem', '--to', 'der', '--out', 'ca.crl.der'], dir);
    assert.deepEqual(readFileSync(join(dir, 'ca.crl.der')), openssl(['crl', '-in', 'ca.crl.pem', '-outform', 'DER'], dir));
    fleetpkiOk(['convert', 'ca.crl.der', '--to', 'pem', '--out', 'back.crl.pem'], dir);
    assert.equal(readFileSync(join(dir, 'back.crl.pem'), 'latin1'), openssl(['crl', '-in', 'ca.crl.pem'], dir).toString('latin1'));
    const json = JSON.parse(fleetpkiOk(['inspect', '--json', 'ca.crl.der'], dir).stdout) as CrlJson;
    assert.equal(json.objects[0]?.type, 'crl');
  });

  it('public keys: inspect and convert an openssl -pubout key', () => {
    openssl(['pkey', '-in', 'dev.key.pem', '-pubout', '-out', 'dev.pub.pem'], dir);
    const json = JSON.parse(fleetpkiOk(['inspect', '--json', 'dev.pub.pem'], dir).stdout) as { objects: { type: string; publicKeyAlgorithm: string }[] };
    assert.deepEqual(json.objects.map((o) => [o.type, o.publicKeyAlgorithm]), [['public-key', 'EC P-256']]);
    fleetpkiOk(['convert', 'dev.pub.pem', '--to', 'der', '--out', 'dev.pub.der'], dir);
    assert.deepEqual(readFileSync(join(dir, 'dev.pub.der')), openssl(['pkey', '-pubin', '-in', 'dev.pub.pem', '-outform', 'DER'], dir));
  });
});
