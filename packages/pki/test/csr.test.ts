import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KEY_SPECS, newKey, openssl, opensslStatus, tempDir } from '@fleetpki/test-support';
import {
  createCsr,
  decodeObjects,
  encodePem,
  loadCsr,
  Oid,
  parseCsr,
  parseSubjectString,
  spkiDer,
  verifyCsrSignature,
  type PkiErrorCode,
} from '../src/index.js';
import { assertPkiError } from './helpers/assert-pki.js';
import { flipByte, offsetOf } from './helpers/der.js';

const SIGNATURE_OIDS: Readonly<Record<string, string>> = {
  'P-256': Oid.ecdsaWithSha256,
  'P-384': Oid.ecdsaWithSha384,
  'RSA-2048': Oid.sha256WithRSAEncryption,
};

describe('createCsr', () => {
  const tmp = tempDir('csr');
  after(() => tmp.cleanup());

  for (const { name, spec } of KEY_SPECS) {
    it(`${name}: parses, self-verifies, and openssl req -verify accepts it`, async () => {
      const key = newKey(spec);
      const subject = parseSubjectString('/O=acme/CN=dev-1');
      const der = createCsr(subject, key);
      const csr = parseCsr(der);
      assert.ok(csr.subject.der.equals(subject.der));
      assert.ok(csr.publicKey.der.equals(spkiDer(key)));
      assert.equal(csr.signatureAlgorithm.oid, SIGNATURE_OIDS[name]);
      assert.deepEqual(csr.attributeTypes, []);
      assert.deepEqual(csr.requestedExtensions, []);
      assert.equal(await verifyCsrSignature(csr), true);
      assert.equal(await verifyCsrSignature(parseCsr(flipByte(der, offsetOf(der, 'dev-1') + 4, 0x03))), false);
      const file = tmp.write(`${name}.csr.pem`, encodePem('CERTIFICATE REQUEST', der));
      const result = opensslStatus(['req', '-in', file, '-verify', '-noout'], tmp.dir);
      assert.equal(result.status, 0, result.stderr);
    });
  }
});

describe('openssl-made CSRs', () => {
  const tmp = tempDir('csr-openssl');
  before(() => {
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'k.pem'], tmp.dir);
    openssl(['req', '-new', '-key', 'k.pem', '-subj', '/O=acme/CN=dev-1', '-out', 'plain.csr.pem'], tmp.dir);
    openssl(['req', '-new', '-key', 'k.pem', '-subj', '/O=acme/CN=dev-1', '-outform', 'DER', '-out', 'plain.csr.der'], tmp.dir);
    openssl(['req', '-new', '-key', 'k.pem', '-subj', '/O=acme/CN=dev-1', '-addext', 'subjectAltName=DNS:dev-1.example', '-addext', 'keyUsage=critical,digitalSignature', '-out', 'ext.csr.pem'], tmp.dir);
  });
  after(() => tmp.cleanup());

  for (const file of ['plain.csr.pem', 'plain.csr.der']) {
    it(`${file} is read and its signature verifies`, async () => {
      const csr = loadCsr(tmp.read(file));
      assert.equal(decodeObjects(tmp.read(file)).objects[0]?.kind, 'csr');
      assert.ok(csr.subject.der.equals(parseSubjectString('/O=acme/CN=dev-1').der));
      assert.equal(await verifyCsrSignature(csr), true);
    });
  }

  it('requested extensions are reported', () => {
    const csr = loadCsr(tmp.read('ext.csr.pem'));
    assert.deepEqual(csr.attributeTypes, [Oid.extensionRequest]);
    assert.deepEqual(
      csr.requestedExtensions.map((e) => [e.oid, e.critical]),
      [[Oid.subjectAltName, false], [Oid.keyUsage, true]],
    );
  });

  const FAILURES: readonly { name: string; input: () => Buffer; code: PkiErrorCode }[] = [
    { name: 'an empty SEQUENCE under a CERTIFICATE REQUEST label', input: () => Buffer.from(encodePem('CERTIFICATE REQUEST', Buffer.from([0x30, 0x00]))), code: 'DER_MALFORMED' },
    { name: 'a truncated CSR', input: () => tmp.read('plain.csr.der').subarray(0, 50), code: 'DER_MALFORMED' },
  ];
  for (const c of FAILURES) it(`${c.name} → ${c.code}`, () => assertPkiError(() => loadCsr(c.input()), c.code));
});
