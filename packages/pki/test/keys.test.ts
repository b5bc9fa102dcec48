import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { KEY_SPECS, makeRoot, openssl, T0, tempDir } from '@fleetpki/test-support';
import {
  decodeObjects,
  describeKey,
  encodePem,
  generateKeyPair,
  loadPrivateKey,
  PRIVATE_KEY_PEM_LABELS,
  privateKeyDer,
  sniffPrivateKeyFormat,
  spkiDer,
  type KeyAlgorithm,
  type PrivateKeyFormat,
  type PkiErrorCode,
} from '../src/index.js';
import { assertPkiError } from './helpers/assert-pki.js';

const ALGORITHMS: Readonly<Record<string, KeyAlgorithm>> = {
  'P-256': { kind: 'ec', curve: 'P-256' },
  'P-384': { kind: 'ec', curve: 'P-384' },
  'RSA-2048': { kind: 'rsa', bits: 2048 },
};
const DEFAULT_FORMATS: Readonly<Record<string, PrivateKeyFormat>> = { 'P-256': 'sec1', 'P-384': 'sec1', 'RSA-2048': 'pkcs8' };

describe('generateKeyPair and privateKeyDer', () => {
  for (const { name, spec } of KEY_SPECS) {
    it(`${name}: described, written in its default syntax, read back`, () => {
      const { privateKey, publicKey } = generateKeyPair(spec);
      assert.deepEqual(describeKey(privateKey), ALGORITHMS[name]);
      assert.deepEqual(describeKey(publicKey), ALGORITHMS[name]);
      const { der, format } = privateKeyDer(privateKey);
      assert.equal(format, DEFAULT_FORMATS[name]);
      assert.equal(sniffPrivateKeyFormat(der), format);
      for (const input of [der, Buffer.from(encodePem(PRIVATE_KEY_PEM_LABELS[format], der))]) {
        const loaded = loadPrivateKey(input);
        assert.equal(loaded.format, format);
        assert.deepEqual(loaded.algorithm, ALGORITHMS[name]);
        assert.ok(loaded.der.equals(der));
        assert.ok(spkiDer(loaded.key).equals(spkiDer(publicKey)));
      }
    });
  }

  it('PKCS#8 and PKCS#1 can be asked for explicitly', () => {
    const ec = generateKeyPair({ kind: 'ec', curve: 'P-256' }).privateKey;
    const rsa = generateKeyPair({ kind: 'rsa', bits: 2048 }).privateKey;
    assert.equal(sniffPrivateKeyFormat(privateKeyDer(ec, 'pkcs8').der), 'pkcs8');
    assert.equal(sniffPrivateKeyFormat(privateKeyDer(rsa, 'pkcs1').der), 'pkcs1');
    assert.equal(loadPrivateKey(privateKeyDer(rsa, 'pkcs1').der).format, 'pkcs1');
  });

  const BAD_FORMATS: readonly { name: string; run: () => unknown; code: PkiErrorCode }[] = [
    { name: 'SEC1 for an RSA key', run: () => privateKeyDer(generateKeyPair({ kind: 'rsa', bits: 2048 }).privateKey, 'sec1'), code: 'INVALID_ARGUMENT' },
    { name: 'PKCS#1 for an EC key', run: () => privateKeyDer(generateKeyPair({ kind: 'ec', curve: 'P-256' }).privateKey, 'pkcs1'), code: 'INVALID_ARGUMENT' },
  ];
  for (const c of BAD_FORMATS) it(`${c.name} → ${c.code}`, () => assertPkiError(c.run, c.code));
});

describe('describeKey', () => {
  const CASES: readonly { name: string; key: () => Parameters<typeof describeKey>[0]; expected: KeyAlgorithm | PkiErrorCode }[] = [
    { name: 'P-521', key: () => generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey, expected: { kind: 'ec', curve: 'P-521' } },
    { name: 'RSA-1024', key: () => generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey, expected: { kind: 'rsa', bits: 1024 } },
    { name: 'Ed25519', key: () => generateKeyPairSync('ed25519').privateKey, expected: { kind: 'ed25519' } },
    { name: 'secp256k1', key: () => generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey, expected: 'UNSUPPORTED_KEY_TYPE' },
    { name: 'X25519', key: () => generateKeyPairSync('x25519').privateKey, expected: 'UNSUPPORTED_KEY_TYPE' },
  ];
  for (const c of CASES) {
    it(c.name, () => {
      if (typeof c.expected === 'string') assertPkiError(() => describeKey(c.key()), c.expected);
      else assert.deepEqual(describeKey(c.key()), c.expected);
    });
  }
});

interface OpensslKeyCase {
  readonly name: string;
  /** openssl arguments producing the file from the generated `ec256.pem`, `ec384.pem` or `rsa.pem`. */
  readonly args: readonly string[];
  readonly file: string;
  readonly source: string;
  readonly format: PrivateKeyFormat;
  readonly encoding: 'pem' | 'der';
  readonly algorithm: KeyAlgorithm;
}

// OpenSSL 3.0's `pkey -outform DER` writes the traditional (SEC1/PKCS#1) syntax, so PKCS#8 DER
// comes from `pkcs8 -topk8`; `pkey` without -outform writes PKCS#8 PEM.
const OPENSSL_KEYS: readonly OpensslKeyCase[] = [
  { name: 'SEC1 PEM (ecparam -genkey -noout)', args: [], file: 'ec256.pem', source: 'ec256.pem', format: 'sec1', encoding: 'pem', algorithm: ALGORITHMS['P-256'] as KeyAlgorithm },
  { name: 'SEC1 DER (ec -outform DER)', args: ['ec', '-in', 'ec256.pem', '-outform', 'DER', '-out', 'ec256.sec1.der'], file: 'ec256.sec1.der', source: 'ec256.pem', format: 'sec1', encoding: 'der', algorithm: ALGORITHMS['P-256'] as KeyAlgorithm },
  { name: 'P-384 SEC1 PEM', args: [], file: 'ec384.pem', source: 'ec384.pem', format: 'sec1', encoding: 'pem', algorithm: ALGORITHMS['P-384'] as KeyAlgorithm },
  { name: 'P-384 SEC1 DER', args: ['ec', '-in', 'ec384.pem', '-outform', 'DER', '-out', 'ec384.sec1.der'], file: 'ec384.sec1.der', source: 'ec384.pem', format: 'sec1', encoding: 'der', algorithm: ALGORITHMS['P-384'] as KeyAlgorithm },
  { name: 'EC PKCS#8 PEM (pkey)', args: ['pkey', '-in', 'ec256.pem', '-out', 'ec256.p8.pem'], file: 'ec256.p8.pem', source: 'ec256.pem', format: 'pkcs8', encoding: 'pem', algorithm: ALGORITHMS['P-256'] as KeyAlgorithm },
  { name: 'EC PKCS#8 DER (pkcs8 -topk8 -nocrypt -outform DER)', args: ['pkcs8', '-topk8', '-nocrypt', '-in', 'ec256.pem', '-outform', 'DER', '-out', 'ec256.p8.der'], file: 'ec256.p8.der', source: 'ec256.pem', format: 'pkcs8', encoding: 'der', algorithm: ALGORITHMS['P-256'] as KeyAlgorithm },
  { name: 'RSA PKCS#8 PEM (genpkey)', args: [], file: 'rsa.pem', source: 'rsa.pem', format: 'pkcs8', encoding: 'pem', algorithm: ALGORITHMS['RSA-2048'] as KeyAlgorithm },
  { name: 'RSA PKCS#8 DER (pkcs8 -topk8 -nocrypt -outform DER)', args: ['pkcs8', '-topk8', '-nocrypt', '-in', 'rsa.pem', '-outform', 'DER', '-out', 'rsa.p8.der'], file: 'rsa.p8.der', source: 'rsa.pem', format: 'pkcs8', encoding: 'der', algorithm: ALGORITHMS['RSA-2048'] as KeyAlgorithm },
  { name: 'EC traditional DER from pkey -outform DER', args: ['pkey', '-in', 'ec256.pem', '-outform', 'DER', '-out', 'ec256.pkey.der'], file: 'ec256.pkey.der', source: 'ec256.pem', format: 'sec1', encoding: 'der', algorithm: ALGORITHMS['P-256'] as KeyAlgorithm },
  { name: 'RSA PKCS#1 PEM (rsa -traditional)', args: ['rsa', '-in', 'rsa.pem', '-traditional', '-out', 'rsa.p1.pem'], file: 'rsa.p1.pem', source: 'rsa.pem', format: 'pkcs1', encoding: 'pem', algorithm: ALGORITHMS['RSA-2048'] as KeyAlgorithm },
  { name: 'RSA PKCS#1 DER (rsa -traditional -outform DER)', args: ['rsa', '-in', 'rsa.pem', '-traditional', '-outform', 'DER', '-out', 'rsa.p1.der'], file: 'rsa.p1.der', source: 'rsa.pem', format: 'pkcs1', encoding: 'der', algorithm: ALGORITHMS['RSA-2048'] as KeyAlgorithm },
];

describe('openssl-made private keys', () => {
  const tmp = tempDir('keys');
  const root = makeRoot('/CN=Test Root CA', { from: T0 });
  before(() => {
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ec256.pem'], tmp.dir);
    openssl(['ecparam', '-name', 'secp384r1', '-genkey', '-noout', '-out', 'ec384.pem'], tmp.dir);
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'rsa.pem'], tmp.dir);
    for (const c of OPENSSL_KEYS) if (c.args.length > 0) openssl(c.args, tmp.dir);
    tmp.write('ca.crt.pem', root.pem);
    tmp.write('ca.crt.der', root.der);
  });
  after(() => tmp.cleanup());

  for (const c of OPENSSL_KEYS) {
    it(`${c.name} is read as ${c.format}`, () => {
      const input = tmp.read(c.file);
      const decoded = decodeObjects(input);
      assert.equal(decoded.encoding, c.encoding);
      assert.deepEqual(decoded.objects.map((o) => o.kind), ['private-key']);
      const loaded = loadPrivateKey(input);
      assert.equal(loaded.format, c.format);
      assert.deepEqual(loaded.algorithm, c.algorithm);
      assert.equal(sniffPrivateKeyFormat(loaded.der), c.format);
      const opensslSpki = openssl(['pkey', '-in', c.source, '-pubout', '-outform', 'DER'], tmp.dir);
      assert.ok(spkiDer(loaded.key).equals(opensslSpki));
      assert.ok(spkiDer(createPublicKey(loaded.key)).equals(opensslSpki));
    });
  }

  for (const curve of ['ec256', 'ec384']) {
    it(`${curve}: SEC1 DER from privateKeyDer equals openssl ec -outform DER`, () => {
      const loaded = loadPrivateKey(tmp.read(`${curve}.pem`));
      const ours = privateKeyDer(loaded.key);
      assert.equal(ours.format, 'sec1');
      assert.ok(ours.der.equals(tmp.read(`${curve}.sec1.der`)));
    });
  }

  for (const { name, spec } of KEY_SPECS.filter((k) => k.spec.kind === 'ec')) {
    it(`${name} generated here: SEC1 DER equals openssl ec -outform DER of our PEM`, () => {
      const { der } = privateKeyDer(generateKeyPair(spec).privateKey);
      const file = `ours-${name}.key.pem`;
      tmp.write(file, encodePem('EC PRIVATE KEY', der));
      assert.ok(openssl(['ec', '-in', file, '-outform', 'DER'], tmp.dir).equals(der));
    });
  }

  const WRONG: readonly { name: string; input: () => Buffer; code: PkiErrorCode }[] = [
    { name: 'a certificate (PEM)', input: () => tmp.read('ca.crt.pem'), code: 'WRONG_OBJECT_TYPE' },
    { name: 'a certificate (DER)', input: () => tmp.read('ca.crt.der'), code: 'WRONG_OBJECT_TYPE' },
    { name: 'a key followed by a certificate', input: () => Buffer.concat([tmp.read('ec256.pem'), tmp.read('ca.crt.pem')]), code: 'WRONG_OBJECT_TYPE' },
    { name: 'two keys', input: () => Buffer.concat([tmp.read('ec256.pem'), tmp.read('ec384.pem')]), code: 'WRONG_OBJECT_TYPE' },
    { name: 'a PKCS#1 body under an EC PRIVATE KEY label', input: () => Buffer.from(encodePem('EC PRIVATE KEY', tmp.read('rsa.p1.der'))), code: 'KEY_MALFORMED' },
    { name: 'empty input', input: () => Buffer.alloc(0), code: 'DER_MALFORMED' },
  ];
  for (const c of WRONG) {
    it(`loadPrivateKey of ${c.name} → ${c.code}`, () => assertPkiError(() => loadPrivateKey(c.input()), c.code));
  }

  it('sniffPrivateKeyFormat says nothing for a certificate or garbage', () => {
    assert.equal(sniffPrivateKeyFormat(tmp.read('ca.crt.der')), undefined);
    assert.equal(sniffPrivateKeyFormat(Buffer.from('not der')), undefined);
    assert.equal(sniffPrivateKeyFormat(Buffer.alloc(0)), undefined);
  });
});
