import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeDevice, makeRoot, openssl, T0, tempDir } from '@fleetpki/test-support';
import {
  crlSignatureAlgorithmName,
  decodeAuthorityKeyIdentifier,
  decodeObjects,
  encodePem,
  loadCrls,
  Oid,
  parseCrl,
  privateKeyDer,
  serialHex,
  verifySignature,
  type CertificateRevocationList,
  type PkiErrorCode,
} from '../src/index.js';
import { assertPkiError } from './helpers/assert-pki.js';
import { joinSigned, seq, single, splitSigned } from './helpers/der.js';

/**
 * CRLs made by `openssl ca` for a CA made by fleetpki: one CRL before any revocation, one
 * after revoking a device certificate (with a reason), read back as PEM and DER.
 */
const ca = makeRoot('/O=acme/CN=CRL Test CA', { from: new Date(Date.UTC(2020, 0, 1)), days: 36_500 });
const revokedDevice = makeDevice(ca, '/O=acme/CN=stolen-1', { from: T0, days: 30 });
const keptDevice = makeDevice(ca, '/O=acme/CN=kept-1', { from: T0, days: 30 });

const tmp = tempDir('crl');
const config = (dir: string): string => `
[ ca ]
default_ca = CA_default

[ CA_default ]
dir = ${dir}
database = $dir/index.txt
new_certs_dir = $dir
certificate = $dir/ca.crt.pem
private_key = $dir/ca.key.pem
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_crl_days = 7
policy = policy_any
crl_extensions = crl_ext

[ crl_ext ]
authorityKeyIdentifier = keyid:always

[ policy_any ]
commonName = supplied
`;

interface OpensslDates {
  readonly lastUpdate: Date;
  readonly nextUpdate: Date;
}

function opensslDates(file: string): OpensslDates {
  const text = openssl(['crl', '-in', file, '-noout', '-lastupdate', '-nextupdate', '-dateopt', 'iso_8601'], tmp.dir).toString();
  const field = (name: string): Date => {
    const match = new RegExp(`${name}=(\\S+) (\\S+)`).exec(text);
    assert.ok(match, `openssl printed no ${name}`);
    return new Date(`${match[1]}T${match[2]}`);
  };
  return { lastUpdate: field('lastUpdate'), nextUpdate: field('nextUpdate') };
}

before(() => {
  tmp.write('ca.cnf', config(tmp.dir));
  tmp.write('index.txt', '');
  tmp.write('serial', '1000\n');
  tmp.write('crlnumber', '01\n');
  tmp.write('ca.crt.pem', ca.pem);
  tmp.write('ca.key.pem', encodePem('EC PRIVATE KEY', privateKeyDer(ca.key).der));
  tmp.write('revoked.crt.pem', revokedDevice.pem);
  openssl(['ca', '-config', 'ca.cnf', '-gencrl', '-out', 'empty.crl.pem'], tmp.dir);
  openssl(['ca', '-config', 'ca.cnf', '-revoke', 'revoked.crt.pem', '-crl_reason', 'keyCompromise'], tmp.dir);
  openssl(['ca', '-config', 'ca.cnf', '-gencrl', '-out', 'one.crl.pem'], tmp.dir);
  openssl(['crl', '-in', 'one.crl.pem', '-outform', 'DER', '-out', 'one.crl.der'], tmp.dir);
});
after(() => tmp.cleanup());

function checkCommon(crl: CertificateRevocationList, file: string, crlNumber: number): void {
  assert.equal(crl.version, 2);
  assert.ok(crl.issuer.der.equals(ca.cert.subject.der));
  const dates = opensslDates(file);
  assert.equal(crl.thisUpdate.getTime(), dates.lastUpdate.getTime());
  assert.equal(crl.nextUpdate?.getTime(), dates.nextUpdate.getTime());
  assert.equal((crl.nextUpdate as Date).getTime() - crl.thisUpdate.getTime(), 7 * 86_400_000);
  assert.equal(crl.signatureAlgorithm.oid, Oid.ecdsaWithSha256);
  assert.equal(crlSignatureAlgorithmName(crl), 'ecdsa-with-SHA256');
  assert.ok(verifySignature(crl.tbsDer, crl.signature, crl.signatureAlgorithm, ca.cert.publicKey));
  const number = crl.extensions.find((e) => e.oid === Oid.crlNumber);
  assert.ok(number);
  assert.deepEqual([...number.value], [0x02, 0x01, crlNumber]);
  const aki = crl.extensions.find((e) => e.oid === Oid.authorityKeyIdentifier);
  assert.ok(aki);
  assert.ok(decodeAuthorityKeyIdentifier(aki.value).keyIdentifier?.equals(ca.cert.subjectKeyIdentifier as Buffer));
  assert.deepEqual(crl.extensions.map((e) => e.oid).sort(), [Oid.authorityKeyIdentifier, Oid.crlNumber].sort());
}

describe('parseCrl on openssl ca -gencrl output', () => {
  it('a CRL with no revocations', () => {
    const crl = loadCrls(tmp.read('empty.crl.pem'))[0] as CertificateRevocationList;
    checkCommon(crl, 'empty.crl.pem', 1);
    assert.deepEqual(crl.revoked, []);
  });

  for (const file of ['one.crl.pem', 'one.crl.der']) {
    it(`a CRL listing one revoked certificate (${file.endsWith('der') ? 'DER' : 'PEM'})`, () => {
      const decoded = decodeObjects(tmp.read(file));
      assert.equal(decoded.encoding, file.endsWith('der') ? 'der' : 'pem');
      const object = decoded.objects[0];
      assert.equal(object?.kind, 'crl');
      if (object?.kind !== 'crl') return;
      const crl = object.crl;
      checkCommon(crl, 'one.crl.pem', 2);
      assert.equal(crl.revoked.length, 1);
      const entry = crl.revoked[0];
      assert.ok(entry);
      assert.ok(entry.serialNumber.equals(revokedDevice.cert.serialNumber));
      assert.equal(serialHex(entry), serialHex(revokedDevice.cert));
      assert.ok(!entry.serialNumber.equals(keptDevice.cert.serialNumber));
      assert.ok(entry.revocationDate.getTime() <= crl.thisUpdate.getTime());
      assert.deepEqual(entry.extensions.map((e) => [e.oid, e.critical, e.value.toString('hex')]), [[Oid.crlReason, false, '0a0101']]);
    });
  }

  it('the openssl serial text matches the entry', () => {
    const text = openssl(['crl', '-in', 'one.crl.pem', '-noout', '-text'], tmp.dir).toString();
    const crl = parseCrl(tmp.read('one.crl.der'));
    assert.match(text.replace(/\s+/g, ''), new RegExp(`SerialNumber:${serialHex(crl.revoked[0] as { serialNumber: Buffer })}`, 'i'));
  });
});

describe('parseCrl strictness', () => {
  const der = (): Buffer => tmp.read('one.crl.der');
  const CASES: readonly { name: string; input: () => Buffer; code: PkiErrorCode }[] = [
    { name: 'trailing data', input: () => Buffer.concat([der(), Buffer.from([0])]), code: 'DER_TRAILING_DATA' },
    { name: 'truncated', input: () => der().subarray(0, der().length - 2), code: 'DER_MALFORMED' },
    {
      name: 'outer signatureAlgorithm differs from the inner one',
      input: () => joinSigned({ ...splitSigned(der()), signatureAlgorithm: seq(Buffer.from([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03])) }),
      code: 'DER_MALFORMED',
    },
    {
      name: 'version 3 (value 2)',
      input: () => {
        const parts = splitSigned(der());
        return joinSigned({ ...parts, tbsFields: [Buffer.from([0x02, 0x01, 0x02]), ...parts.tbsFields.slice(1)] });
      },
      code: 'DER_MALFORMED',
    },
    {
      name: 'thisUpdate with fractional seconds',
      input: () => {
        const parts = splitSigned(der());
        const fields = [...parts.tbsFields];
        const index = fields.findIndex((f) => f[0] === 0x17);
        fields[index] = Buffer.concat([Buffer.from([0x17, 15]), Buffer.from('250101000000.5Z', 'latin1')]);
        return joinSigned({ ...parts, tbsFields: fields });
      },
      code: 'DER_MALFORMED',
    },
    { name: 'a certificate handed over as a CRL', input: () => single(ca.der).encoded, code: 'DER_MALFORMED' },
  ];
  for (const c of CASES) it(`${c.name} → ${c.code}`, () => assertPkiError(() => parseCrl(c.input()), c.code));

  it('loadCrls refuses a certificate with WRONG_OBJECT_TYPE', () => {
    assertPkiError(() => loadCrls(Buffer.from(ca.pem)), 'WRONG_OBJECT_TYPE');
  });
});
