import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openssl, tempDir } from '@fleetpki/test-support';
import {
  decodeObjects,
  loadCertificate,
  loadCertificates,
  loadCrls,
  loadCsr,
  loadPrivateKey,
  sniffDer,
  type PkiErrorCode,
  type PkiObjectKind,
} from '../src/index.js';
import { assertPkiError } from './helpers/assert-pki.js';

/**
 * One openssl-made file per object kind and syntax, in PEM and DER: decodeObjects must name
 * each by its shape, and each typed loader must refuse the others with WRONG_OBJECT_TYPE.
 */
interface Sample {
  readonly name: string;
  readonly file: string;
  readonly kind: PkiObjectKind;
  /** What sniffDer reports for the DER form. */
  readonly sniffed: string;
}

const SAMPLES: readonly Sample[] = [
  { name: 'v3 certificate', file: 'ca.crt', kind: 'certificate', sniffed: 'certificate' },
  { name: 'v1 certificate (openssl x509 -req without extensions)', file: 'v1.crt', kind: 'certificate', sniffed: 'certificate' },
  { name: 'CSR', file: 'dev.csr', kind: 'csr', sniffed: 'csr' },
  { name: 'CSR with an extensionRequest', file: 'ext.csr', kind: 'csr', sniffed: 'csr' },
  { name: 'v2 CRL', file: 'v2.crl', kind: 'crl', sniffed: 'crl' },
  { name: 'v1 CRL', file: 'v1.crl', kind: 'crl', sniffed: 'crl' },
  { name: 'SEC1 key', file: 'ec.key', kind: 'private-key', sniffed: 'sec1' },
  { name: 'PKCS#8 key', file: 'p8.key', kind: 'private-key', sniffed: 'pkcs8' },
  { name: 'PKCS#1 key', file: 'rsa.key', kind: 'private-key', sniffed: 'pkcs1' },
  { name: 'SubjectPublicKeyInfo', file: 'ec.pub', kind: 'public-key', sniffed: 'public-key' },
];

const LOADERS: readonly { kind: PkiObjectKind; load: (input: Buffer) => unknown }[] = [
  { kind: 'certificate', load: loadCertificate },
  { kind: 'certificate', load: loadCertificates },
  { kind: 'csr', load: loadCsr },
  { kind: 'crl', load: loadCrls },
  { kind: 'private-key', load: loadPrivateKey },
];

const tmp = tempDir('decode');
const caConfig = (withNumber: boolean): string => `
[ ca ]
default_ca = d
[ d ]
database = ${tmp.dir}/index.txt
certificate = ${tmp.dir}/ca.crt.pem
private_key = ${tmp.dir}/ec.key.pem
default_md = sha256
default_crl_days = 1
${withNumber ? `crlnumber = ${tmp.dir}/crlnumber` : ''}
`;

before(() => {
  const run = (...args: string[]): Buffer => openssl(args, tmp.dir);
  run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ec.key.pem');
  run('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'p8.key.pem');
  run('rsa', '-in', 'p8.key.pem', '-traditional', '-out', 'rsa.key.pem');
  run('pkey', '-in', 'ec.key.pem', '-pubout', '-out', 'ec.pub.pem');
  run('req', '-x509', '-new', '-key', 'ec.key.pem', '-subj', '/CN=Root CA', '-days', '10', '-out', 'ca.crt.pem');
  run('req', '-new', '-key', 'ec.key.pem', '-subj', '/O=acme/CN=dev-1', '-out', 'dev.csr.pem');
  run('req', '-new', '-key', 'ec.key.pem', '-subj', '/O=acme/CN=dev-1', '-addext', 'subjectAltName=DNS:x.example', '-out', 'ext.csr.pem');
  run('x509', '-req', '-in', 'dev.csr.pem', '-CA', 'ca.crt.pem', '-CAkey', 'ec.key.pem', '-CAcreateserial', '-days', '1', '-out', 'v1.crt.pem');
  tmp.write('index.txt', '');
  tmp.write('crlnumber', '01\n');
  tmp.write('v1.cnf', caConfig(false));
  tmp.write('v2.cnf', caConfig(true));
  run('ca', '-config', 'v1.cnf', '-gencrl', '-out', 'v1.crl.pem');
  run('ca', '-config', 'v2.cnf', '-gencrl', '-out', 'v2.crl.pem');
  for (const s of SAMPLES) {
    const pem = tmp.read(`${s.file}.pem`);
    const der = Buffer.from(
      pem.toString('latin1').replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''),
      'base64',
    );
    tmp.write(`${s.file}.der`, der);
  }
});
after(() => tmp.cleanup());

describe('decodeObjects names every kind, in PEM and DER', () => {
  for (const s of SAMPLES) {
    for (const encoding of ['pem', 'der'] as const) {
      it(`${s.name} (${encoding})`, () => {
        const input = tmp.read(`${s.file}.${encoding}`);
        const decoded = decodeObjects(input);
        assert.equal(decoded.encoding, encoding);
        assert.deepEqual(decoded.objects.map((o) => o.kind), [s.kind]);
        if (encoding === 'der') assert.equal(sniffDer(input), s.sniffed);
        for (const loader of LOADERS) {
          if (loader.kind === s.kind) assert.doesNotThrow(() => loader.load(input));
          else assertPkiError(() => loader.load(input), 'WRONG_OBJECT_TYPE');
        }
      });
    }
  }

  it('the v1/v2 CRL samples really are v1 and v2', () => {
    assert.equal(loadCrls(tmp.read('v1.crl.der'))[0]?.version, 1);
    assert.equal(loadCrls(tmp.read('v2.crl.der'))[0]?.version, 2);
    assert.equal(loadCertificate(tmp.read('v1.crt.der')).version, 1);
  });

  it('a mixed PEM bundle keeps order and kinds', () => {
    const bundle = Buffer.concat(['ca.crt', 'dev.csr', 'v2.crl', 'ec.key', 'ec.pub'].map((f) => tmp.read(`${f}.pem`)));
    assert.deepEqual(decodeObjects(bundle).objects.map((o) => o.kind), ['certificate', 'csr', 'crl', 'private-key', 'public-key']);
  });

  const FAILURES: readonly { name: string; input: () => Buffer; code: PkiErrorCode }[] = [
    { name: 'empty input', input: () => Buffer.alloc(0), code: 'DER_MALFORMED' },
    { name: 'a DER INTEGER', input: () => Buffer.from([0x02, 0x01, 0x05]), code: 'DER_MALFORMED' },
    { name: 'a DER certificate with a trailing newline', input: () => Buffer.concat([tmp.read('ca.crt.der'), Buffer.from('\n')]), code: 'DER_TRAILING_DATA' },
    { name: 'random text', input: () => Buffer.from('certificate please'), code: 'DER_MALFORMED' },
  ];
  for (const c of FAILURES) it(`${c.name} → ${c.code}`, () => assertPkiError(() => decodeObjects(c.input()), c.code));

  it('loadCertificate refuses a bundle of two with WRONG_OBJECT_TYPE', () => {
    assertPkiError(() => loadCertificate(Buffer.concat([tmp.read('ca.crt.pem'), tmp.read('v1.crt.pem')])), 'WRONG_OBJECT_TYPE');
  });
});
