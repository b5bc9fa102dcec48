import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeDevice, makeIntermediate, makeRoot, openssl, T0, tempDir } from '@fleetpki/test-support';
import {
  decodeObjects,
  decodePem,
  encodePem,
  loadCertificates,
  loadPrivateKey,
  MAX_PEM_BLOCKS,
  MAX_PEM_INPUT_BYTES,
  type PkiErrorCode,
} from '../src/index.js';
import { assertPkiError } from './helpers/assert-pki.js';

const root = makeRoot('/CN=Test Root CA', { from: T0 });
const intermediate = makeIntermediate(root, '/CN=Test Issuing CA', { from: T0, pathLen: 0 });
const device = makeDevice(intermediate, '/O=acme/CN=dev-1', { from: T0 });
const bundle = [device, intermediate, root];

describe('encodePem', () => {
  it('writes RFC 7468 strict form: 64-column base64 lines and a final newline', () => {
    const pem = encodePem('CERTIFICATE', root.der);
    const lines = pem.split('\n');
    assert.equal(lines[0], '-----BEGIN CERTIFICATE-----');
    assert.equal(lines[lines.length - 2], '-----END CERTIFICATE-----');
    assert.equal(lines[lines.length - 1], '');
    const body = lines.slice(1, -2);
    assert.ok(body.every((l) => l.length > 0 && l.length <= 64));
    assert.ok(body.slice(0, -1).every((l) => l.length === 64));
    assert.ok(Buffer.from(body.join(''), 'base64').equals(root.der));
  });

  it('round-trips through decodePem', () => {
    const blocks = decodePem(encodePem('X509 CRL', root.der));
    assert.deepEqual(blocks.map((b) => b.label), ['X509 CRL']);
    assert.ok(blocks[0]?.der.equals(root.der));
  });
});

interface DecodeCase {
  readonly name: string;
  readonly input: () => string | Buffer;
  readonly expected: { readonly labels: readonly string[]; readonly ders: readonly Buffer[] } | { readonly code: PkiErrorCode };
}

const rootPem = root.pem;
const rootBody = rootPem.split('\n').slice(1, -2);

const DECODE_CASES: readonly DecodeCase[] = [
  { name: 'one certificate', input: () => rootPem, expected: { labels: ['CERTIFICATE'], ders: [root.der] } },
  { name: 'one certificate as a Buffer', input: () => Buffer.from(rootPem), expected: { labels: ['CERTIFICATE'], ders: [root.der] } },
  {
    name: 'three-certificate bundle keeps order',
    input: () => bundle.map((c) => c.pem).join(''),
    expected: { labels: ['CERTIFICATE', 'CERTIFICATE', 'CERTIFICATE'], ders: bundle.map((c) => c.der) },
  },
  {
    name: 'text before, between and after blocks (openssl -text style)',
    input: () => `subject=/O=acme/CN=dev-1\nissuer=/CN=Test Issuing CA\n${device.pem}\n# a comment -----\n\n${root.pem}trailing words\n`,
    expected: { labels: ['CERTIFICATE', 'CERTIFICATE'], ders: [device.der, root.der] },
  },
  {
    name: 'CRLF line endings',
    input: () => bundle.map((c) => c.pem).join('').replace(/\n/g, '\r\n'),
    expected: { labels: ['CERTIFICATE', 'CERTIFICATE', 'CERTIFICATE'], ders: bundle.map((c) => c.der) },
  },
  {
    name: 'base64 on one long line',
    input: () => `-----BEGIN CERTIFICATE-----\n${root.der.toString('base64')}\n-----END CERTIFICATE-----\n`,
    expected: { labels: ['CERTIFICATE'], ders: [root.der] },
  },
  {
    name: 'blocks with different labels',
    input: () => `${encodePem('CERTIFICATE REQUEST', device.der)}${encodePem('X509 CRL', root.der)}`,
    expected: { labels: ['CERTIFICATE REQUEST', 'X509 CRL'], ders: [device.der, root.der] },
  },
  { name: 'no block at all', input: () => 'just some text\nwith no armour\n', expected: { code: 'PEM_NOT_FOUND' } },
  { name: 'empty string', input: () => '', expected: { code: 'PEM_NOT_FOUND' } },
  { name: 'truncated: END line missing', input: () => rootPem.slice(0, rootPem.indexOf('-----END')), expected: { code: 'PEM_MALFORMED' } },
  {
    name: 'truncated mid-body',
    input: () => ['-----BEGIN CERTIFICATE-----', ...rootBody.slice(0, 2), ''].join('\n'),
    expected: { code: 'PEM_MALFORMED' },
  },
  {
    name: 'truncated first block followed by a whole one',
    input: () => ['-----BEGIN CERTIFICATE-----', ...rootBody.slice(0, 2), device.pem].join('\n'),
    expected: { code: 'PEM_MALFORMED' },
  },
  { name: 'END label differs from BEGIN label', input: () => rootPem.replace('END CERTIFICATE', 'END X509 CRL'), expected: { code: 'PEM_MALFORMED' } },
  { name: 'bad base64 character', input: () => rootPem.replace(/\n(.)/, '\n*'), expected: { code: 'PEM_MALFORMED' } },
  { name: 'base64 length not a multiple of 4', input: () => rootPem.replace(/\n(.)/, '\n'), expected: { code: 'PEM_MALFORMED' } },
  { name: 'padding in the middle of the body', input: () => rootPem.replace(/\n(..)/, '\n=='), expected: { code: 'PEM_MALFORMED' } },
  { name: 'empty body', input: () => '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n', expected: { code: 'PEM_MALFORMED' } },
  { name: 'lower-case label in the BEGIN line', input: () => rootPem.replace(/CERTIFICATE/g, 'certificate'), expected: { code: 'PEM_MALFORMED' } },
  {
    name: 'legacy Proc-Type headers',
    input: () => ['-----BEGIN RSA PRIVATE KEY-----', 'Proc-Type: 4,ENCRYPTED', 'DEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF', '', ...rootBody, '-----END RSA PRIVATE KEY-----', ''].join('\n'),
    expected: { code: 'KEY_ENCRYPTED' },
  },
];

describe('decodePem', () => {
  for (const c of DECODE_CASES) {
    it(c.name, () => {
      if ('code' in c.expected) {
        assertPkiError(() => decodePem(c.input()), c.expected.code);
        return;
      }
      const expected = c.expected;
      const blocks = decodePem(c.input());
      assert.deepEqual(blocks.map((b) => b.label), expected.labels);
      assert.equal(blocks.length, expected.ders.length);
      blocks.forEach((b, i) => assert.ok(b.der.equals(expected.ders[i] as Buffer), `block ${i}`));
    });
  }
});

describe('decodePem bounds', () => {
  const tiny = '-----BEGIN X-----\nAA==\n-----END X-----\n';
  it(`${MAX_PEM_BLOCKS} blocks are read`, () => {
    assert.equal(decodePem(tiny.repeat(MAX_PEM_BLOCKS)).length, MAX_PEM_BLOCKS);
  });
  it(`${MAX_PEM_BLOCKS + 1} blocks → INPUT_TOO_LARGE`, () => {
    assertPkiError(() => decodePem(tiny.repeat(MAX_PEM_BLOCKS + 1)), 'INPUT_TOO_LARGE');
  });
  it('input over MAX_PEM_INPUT_BYTES → INPUT_TOO_LARGE (decodePem and decodeObjects)', () => {
    const big = Buffer.alloc(MAX_PEM_INPUT_BYTES + 1, 0x41);
    assertPkiError(() => decodePem(big), 'INPUT_TOO_LARGE');
    assertPkiError(() => decodeObjects(big), 'INPUT_TOO_LARGE');
  });
});

describe('decodeObjects on PEM', () => {
  it('a bundle yields one certificate per block', () => {
    const decoded = decodeObjects(Buffer.from(bundle.map((c) => c.pem).join('\r\n')));
    assert.equal(decoded.encoding, 'pem');
    assert.deepEqual(decoded.objects.map((o) => o.kind), ['certificate', 'certificate', 'certificate']);
    const certs = loadCertificates(Buffer.from(bundle.map((c) => c.pem).join('')));
    assert.deepEqual(certs.map((c) => c.subject.der.toString('hex')), bundle.map((c) => c.cert.subject.der.toString('hex')));
  });

  const OBJECT_FAILURES: readonly { name: string; input: () => string; code: PkiErrorCode }[] = [
    { name: 'an unsupported label', input: () => encodePem('PKCS7', root.der), code: 'WRONG_OBJECT_TYPE' },
    { name: 'only EC PARAMETERS', input: () => encodePem('EC PARAMETERS', Buffer.from('06082a8648ce3d030107', 'hex')), code: 'PEM_NOT_FOUND' },
    { name: 'plain text without armour (read as DER)', input: () => 'hello', code: 'DER_MALFORMED' },
    { name: 'a certificate label around garbage DER', input: () => encodePem('CERTIFICATE', Buffer.from([0x30, 0x03, 0x02, 0x01])), code: 'DER_MALFORMED' },
  ];
  for (const c of OBJECT_FAILURES) {
    it(`${c.name} → ${c.code}`, () => assertPkiError(() => decodeObjects(Buffer.from(c.input())), c.code));
  }
});

describe('PEM keys made by openssl', () => {
  const tmp = tempDir('pem');
  before(() => {
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'plain.key.pem'], tmp.dir);
    openssl(['pkey', '-in', 'plain.key.pem', '-aes256', '-passout', 'pass:x', '-out', 'pkcs8-encrypted.key.pem'], tmp.dir);
    openssl(['ec', '-in', 'plain.key.pem', '-aes256', '-passout', 'pass:x', '-out', 'legacy-encrypted.key.pem'], tmp.dir);
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-out', 'with-params.key.pem'], tmp.dir);
  });
  after(() => tmp.cleanup());

  const ENCRYPTED: readonly { name: string; file: string }[] = [
    { name: 'PKCS#8 ENCRYPTED PRIVATE KEY (openssl pkey -aes256)', file: 'pkcs8-encrypted.key.pem' },
    { name: 'legacy Proc-Type EC key (openssl ec -aes256)', file: 'legacy-encrypted.key.pem' },
  ];
  for (const c of ENCRYPTED) {
    it(`${c.name} → KEY_ENCRYPTED from decodeObjects and loadPrivateKey`, () => {
      const input = tmp.read(c.file);
      assertPkiError(() => decodeObjects(input), 'KEY_ENCRYPTED');
      assertPkiError(() => loadPrivateKey(input), 'KEY_ENCRYPTED');
    });
  }

  it('the legacy encrypted key is refused by decodePem itself', () => {
    assertPkiError(() => decodePem(tmp.read('legacy-encrypted.key.pem')), 'KEY_ENCRYPTED');
  });

  it('an EC PARAMETERS block before the key is skipped (openssl ecparam -genkey)', () => {
    const input = tmp.read('with-params.key.pem');
    assert.deepEqual(decodePem(input).map((b) => b.label), ['EC PARAMETERS', 'EC PRIVATE KEY']);
    const decoded = decodeObjects(input);
    assert.deepEqual(decoded.objects.map((o) => o.kind), ['private-key']);
    const key = loadPrivateKey(input);
    assert.equal(key.format, 'sec1');
    assert.deepEqual(key.algorithm, { kind: 'ec', curve: 'P-256' });
  });

  it('the plain key is read as a control', () => {
    assert.equal(loadPrivateKey(tmp.read('plain.key.pem')).format, 'sec1');
  });
});
