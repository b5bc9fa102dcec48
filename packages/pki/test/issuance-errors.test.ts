import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DAY_MS, makeDevice, makeRoot, newKey, openssl, T0, tempDir } from '@fleetpki/test-support';
import {
  createCsr,
  createSelfSignedCa,
  issueCertificate,
  issueDeviceCertificate,
  loadCertificate,
  loadPrivateKey,
  parseCertificate,
  parseSubjectPublicKeyInfo,
  parseSubjectString,
  prepareIssuer,
  signCsr,
  spkiDer,
  validityForDays,
  type CertificateProfile,
  type CertificateTemplate,
  type PkiErrorCode,
  type Validity,
} from '../src/index.js';
import { assertPkiError, assertPkiErrorOneOf, assertPkiRejects } from './helpers/assert-pki.js';
import { flipByte, joinSigned, offsetOf, splitSigned } from './helpers/der.js';

const root = makeRoot('/CN=Test Root CA', { from: T0, days: 100 });
const issuer = prepareIssuer(root.cert, root.key);
const device = makeDevice(root, '/O=acme/CN=dev-1', { from: T0 });
const deviceKey = newKey();
const goodCsr = createCsr(parseSubjectString('/O=acme/CN=dev-1'), deviceKey);
const policy = { devicePolicy: { project: 'acme' }, validity: validityForDays(T0, 7) } as const;
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const window = (from: number, to: number): Validity => ({ notBefore: at(from), notAfter: at(to) });
const pathLen0 = makeRoot('/CN=Root pathLen 0', { from: T0, pathLen: 0 });
const pathLen1 = makeRoot('/CN=Root pathLen 1', { from: T0, pathLen: 1 });
const caTemplate = (profile: CertificateProfile): CertificateTemplate => ({
  subject: parseSubjectString('/CN=Sub CA'),
  publicKey: parseSubjectPublicKeyInfo(spkiDer(newKey()), 'sub CA key'),
  validity: validityForDays(T0, 30),
  profile,
});

describe('validityForDays', () => {
  for (const days of [0, -1, 1.5, 36_501, Number.NaN, Number.POSITIVE_INFINITY]) {
    it(`days ${days} → INVALID_VALIDITY`, () => assertPkiError(() => validityForDays(T0, days), 'INVALID_VALIDITY'));
  }
  // An unparsable time reaching the core must not turn into "NaN" validity fields.
  it('an Invalid Date as now → INVALID_VALIDITY or INVALID_ARGUMENT', () => {
    assertPkiErrorOneOf(() => validityForDays(new Date('not a date'), 1), ['INVALID_VALIDITY', 'INVALID_ARGUMENT']);
  });
  for (const days of [1, 36_500]) {
    it(`days ${days} is accepted`, () => {
      const v = validityForDays(T0, days);
      assert.equal(v.notAfter.getTime() - v.notBefore.getTime(), days * DAY_MS);
    });
  }
});

describe('prepareIssuer', () => {
  const tmp = tempDir('issuer');
  before(() => {
    // A CA whose keyUsage lacks keyCertSign, made by openssl since fleetpki never makes one.
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ku.key.pem'], tmp.dir);
    openssl(['req', '-x509', '-new', '-key', 'ku.key.pem', '-subj', '/CN=CRL signer', '-days', '10', '-addext', 'keyUsage=critical,cRLSign', '-out', 'ku.crt.pem'], tmp.dir);
  });
  after(() => tmp.cleanup());

  const CASES: readonly { name: string; run: () => unknown; code: PkiErrorCode }[] = [
    { name: 'a device (non-CA) certificate as issuer', run: () => prepareIssuer(device.cert, device.key), code: 'ISSUER_NOT_CA' },
    { name: 'the CA with another P-256 key', run: () => prepareIssuer(root.cert, newKey()), code: 'CA_KEY_MISMATCH' },
    { name: 'the CA with a P-384 key', run: () => prepareIssuer(root.cert, newKey({ kind: 'ec', curve: 'P-384' })), code: 'CA_KEY_MISMATCH' },
    { name: 'the CA with an RSA key', run: () => prepareIssuer(root.cert, newKey({ kind: 'rsa', bits: 2048 })), code: 'CA_KEY_MISMATCH' },
    { name: 'the CA with its device’s key', run: () => prepareIssuer(root.cert, device.key), code: 'CA_KEY_MISMATCH' },
    {
      name: 'a CA whose keyUsage lacks keyCertSign',
      run: () => prepareIssuer(loadCertificate(tmp.read('ku.crt.pem')), loadPrivateKey(tmp.read('ku.key.pem')).key),
      code: 'ISSUER_KEY_USAGE',
    },
  ];
  for (const c of CASES) it(`${c.name} → ${c.code}`, () => assertPkiError(c.run, c.code));

  it('the CA with its own key is accepted', () => {
    assert.ok(prepareIssuer(root.cert, root.key).certificate.der.equals(root.der));
  });
});

describe('issueDeviceCertificate / issueCertificate lint', () => {
  const subject = parseSubjectString('/O=acme/CN=dev-1');
  const CASES: readonly { name: string; run: () => unknown; code: PkiErrorCode }[] = [
    { name: 'validity ending after the issuer’s notAfter', run: () => issueDeviceCertificate(issuer, subject, deviceKey, validityForDays(T0, 101)), code: 'INVALID_VALIDITY' },
    { name: 'validity ending one second after the issuer’s notAfter', run: () => issueDeviceCertificate(issuer, subject, deviceKey, window(0, 100 * DAY_MS + 1000)), code: 'INVALID_VALIDITY' },
    { name: 'notAfter equal to notBefore', run: () => issueDeviceCertificate(issuer, subject, deviceKey, window(0, 0)), code: 'INVALID_VALIDITY' },
    { name: 'notAfter before notBefore', run: () => issueDeviceCertificate(issuer, subject, deviceKey, window(DAY_MS, 0)), code: 'INVALID_VALIDITY' },
    { name: 'an issuer that expired before notBefore', run: () => issueDeviceCertificate(issuer, subject, deviceKey, window(101 * DAY_MS, 102 * DAY_MS)), code: 'ISSUER_EXPIRED' },
    { name: 'notBefore before the issuer’s notBefore', run: () => issueDeviceCertificate(issuer, subject, deviceKey, window(-1000, DAY_MS)), code: 'ISSUER_NOT_YET_VALID' },
    { name: 'an intermediate under a pathLen 0 CA', run: () => issueCertificate(prepareIssuer(pathLen0.cert, pathLen0.key), caTemplate({ kind: 'intermediate-ca' })), code: 'ISSUER_PATH_LEN' },
    { name: 'an intermediate with pathLen 1 under a pathLen 1 CA', run: () => issueCertificate(prepareIssuer(pathLen1.cert, pathLen1.key), caTemplate({ kind: 'intermediate-ca', pathLen: 1 })), code: 'ISSUER_PATH_LEN' },
    { name: 'a self-signed CA with an empty subject', run: () => createSelfSignedCa({ subject: parseSubjectString('/'), privateKey: newKey(), validity: validityForDays(T0, 7) }), code: 'SUBJECT_SYNTAX' },
    { name: 'a self-signed CA with an RSA-1024 key', run: () => createSelfSignedCa({ subject: parseSubjectString('/CN=Weak'), privateKey: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey, validity: validityForDays(T0, 7) }), code: 'WEAK_KEY' },
    { name: 'an RSA-1024 device key', run: () => issueDeviceCertificate(issuer, subject, generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey, validityForDays(T0, 7)), code: 'WEAK_KEY' },
    { name: 'a P-521 device key', run: () => issueDeviceCertificate(issuer, subject, generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey, validityForDays(T0, 7)), code: 'WEAK_KEY' },
    { name: 'an Ed25519 device key', run: () => issueDeviceCertificate(issuer, subject, generateKeyPairSync('ed25519').publicKey, validityForDays(T0, 7)), code: 'WEAK_KEY' },
    {
      name: 'a root-CA profile with an issuer',
      run: () => issueCertificate(issuer, { subject, publicKey: parseSubjectPublicKeyInfo(spkiDer(deviceKey), 'k'), validity: validityForDays(T0, 7), profile: { kind: 'root-ca' } }),
      code: 'INVALID_ARGUMENT',
    },
    {
      name: 'a self-signed CA with notAfter equal to notBefore',
      run: () => createSelfSignedCa({ subject: parseSubjectString('/CN=x'), privateKey: newKey(), validity: window(0, 0) }),
      code: 'INVALID_VALIDITY',
    },
    // Bad pathLen values are bad arguments: they must surface as a PkiError code (DESIGN §7),
    // not as the DER writer's RangeError.
    { name: 'a self-signed CA with pathLen -1', run: () => createSelfSignedCa({ subject: parseSubjectString('/CN=x'), privateKey: newKey(), validity: validityForDays(T0, 1), pathLen: -1 }), code: 'INVALID_ARGUMENT' },
    { name: 'a self-signed CA with pathLen 1.5', run: () => createSelfSignedCa({ subject: parseSubjectString('/CN=x'), privateKey: newKey(), validity: validityForDays(T0, 1), pathLen: 1.5 }), code: 'INVALID_ARGUMENT' },
    {
      name: 'an intermediate CA with pathLen -1',
      run: () => issueCertificate(issuer, { subject, publicKey: parseSubjectPublicKeyInfo(spkiDer(deviceKey), 'k'), validity: validityForDays(T0, 7), profile: { kind: 'intermediate-ca', pathLen: -1 } }),
      code: 'INVALID_ARGUMENT',
    },
  ];
  for (const c of CASES) it(`${c.name} → ${c.code}`, () => assertPkiError(c.run, c.code));

  const INVALID_DATES: readonly { name: string; run: () => unknown }[] = [
    { name: 'a self-signed CA with Invalid Date validity', run: () => createSelfSignedCa({ subject: parseSubjectString('/CN=x'), privateKey: newKey(), validity: { notBefore: new Date(Number.NaN), notAfter: new Date(Number.NaN) } }) },
    { name: 'a device certificate with an Invalid Date notAfter', run: () => issueDeviceCertificate(issuer, subject, deviceKey, { notBefore: T0, notAfter: new Date(Number.NaN) }) },
    { name: 'a self-signed CA valid until the year 10000', run: () => createSelfSignedCa({ subject: parseSubjectString('/CN=x'), privateKey: newKey(), validity: { notBefore: T0, notAfter: new Date(Date.UTC(10_000, 0, 1)) } }) },
  ];
  for (const c of INVALID_DATES) {
    it(`${c.name} → INVALID_VALIDITY or INVALID_ARGUMENT, nothing signed`, () => {
      assertPkiErrorOneOf(c.run, ['INVALID_VALIDITY', 'INVALID_ARGUMENT']);
    });
  }

  it('validity ending exactly at the issuer’s notAfter is accepted', () => {
    const cert = parseCertificate(issueDeviceCertificate(issuer, subject, deviceKey, validityForDays(T0, 100)).der);
    assert.equal(cert.notAfter.getTime(), root.cert.notAfter.getTime());
  });

  it('an RSA-2048 device key is accepted', () => {
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    assert.deepEqual(parseCertificate(issueDeviceCertificate(issuer, subject, key, validityForDays(T0, 7)).der).publicKey.algorithm, { kind: 'rsa', bits: 2048 });
  });
});

describe('signCsr', () => {
  const csrSubject = parseSubjectString('/O=acme/CN=dev-1');
  const subjectAt = offsetOf(goodCsr, csrSubject.der);
  const valueAt = offsetOf(goodCsr, 'dev-1', subjectAt);

  interface SignCase {
    readonly name: string;
    readonly csr: () => Buffer;
    readonly options?: Parameters<typeof signCsr>[2];
    readonly code: PkiErrorCode;
  }
  const CASES: readonly SignCase[] = [
    { name: 'a CSR with one byte of its subject flipped', csr: () => flipByte(goodCsr, valueAt + 4, 0x03), code: 'CSR_SIGNATURE_INVALID' },
    { name: 'a CSR with its O changed', csr: () => flipByte(goodCsr, offsetOf(goodCsr, 'acme', subjectAt), 0x20), code: 'CSR_SIGNATURE_INVALID' },
    { name: 'a CSR with the last signature byte flipped', csr: () => flipByte(goodCsr, goodCsr.length - 1), code: 'CSR_SIGNATURE_INVALID' },
    { name: 'a CSR signed by another key', csr: () => swapKey(goodCsr, newKey()), code: 'CSR_SIGNATURE_INVALID' },
    { name: 'a truncated CSR', csr: () => goodCsr.subarray(0, goodCsr.length - 3), code: 'DER_MALFORMED' },
    { name: 'a CSR with trailing data', csr: () => Buffer.concat([goodCsr, Buffer.from([0])]), code: 'DER_TRAILING_DATA' },
    { name: 'a CSR for an RSA-1024 key', csr: () => createCsr(csrSubject, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey), code: 'WEAK_KEY' },
    { name: 'a CSR with two CNs under the device policy', csr: () => createCsr(parseSubjectString('/O=acme/CN=dev-1/CN=dev-2'), deviceKey), code: 'SUBJECT_CN_MULTIPLE' },
    { name: 'a CSR with two O under the device policy', csr: () => createCsr(parseSubjectString('/O=acme/O=beta/CN=dev-1'), deviceKey), code: 'SUBJECT_O_MULTIPLE' },
    { name: 'a CSR without O under the device policy', csr: () => createCsr(parseSubjectString('/CN=dev-1'), deviceKey), code: 'SUBJECT_O_MISSING' },
    { name: 'a CSR for another project', csr: () => createCsr(parseSubjectString('/O=beta/CN=dev-1'), deviceKey), code: 'SUBJECT_O_MISMATCH' },
    { name: 'a CSR with an invalid certificate ID', csr: () => createCsr(parseSubjectString('/O=acme/CN=dev 1'), deviceKey), code: 'INVALID_CERTIFICATE_ID' },
    { name: 'a validity beyond the issuer', csr: () => goodCsr, options: { devicePolicy: { project: 'acme' }, validity: validityForDays(T0, 101) }, code: 'INVALID_VALIDITY' },
    { name: 'a CSR with an invalid slug and no pinned project', csr: () => createCsr(parseSubjectString('/O=Acme/CN=dev-1'), deviceKey), options: { devicePolicy: {}, validity: validityForDays(T0, 7) }, code: 'INVALID_PROJECT_SLUG' },
  ];
  for (const c of CASES) {
    it(`${c.name} → ${c.code}`, async () => {
      await assertPkiRejects(() => signCsr(issuer, c.csr(), c.options ?? policy), c.code);
    });
  }

  it('the untampered CSR is signed (control for the tampering cases)', async () => {
    const result = await signCsr(issuer, goodCsr, policy);
    assert.deepEqual(result.identity, { projectSlug: 'acme', certificateId: 'dev-1' });
  });

  it('devicePolicy false signs a subject with two CNs, and reports no identity', async () => {
    const subject = parseSubjectString('/O=acme/CN=dev-1/CN=dev-2');
    const result = await signCsr(issuer, createCsr(subject, deviceKey), { devicePolicy: false, validity: validityForDays(T0, 7) });
    assert.equal(result.identity, undefined);
    assert.ok(parseCertificate(result.der).subject.der.equals(subject.der));
  });

  it('devicePolicy without a project accepts any valid slug', async () => {
    const result = await signCsr(issuer, createCsr(parseSubjectString('/O=beta/CN=dev-9'), deviceKey), { devicePolicy: {}, validity: validityForDays(T0, 7) });
    assert.deepEqual(result.identity, { projectSlug: 'beta', certificateId: 'dev-9' });
  });

  it('an intermediate-CA profile can be requested for a CSR', async () => {
    const result = await signCsr(issuer, createCsr(parseSubjectString('/CN=Issuing'), newKey()), { devicePolicy: false, validity: validityForDays(T0, 30), profile: { kind: 'intermediate-ca', pathLen: 0 } });
    assert.deepEqual(parseCertificate(result.der).basicConstraints, { ca: true, pathLen: 0 });
  });
});

/** The CSR's CertificationRequestInfo with the signature of another key over the same subject. */
function swapKey(csr: Buffer, key: ReturnType<typeof newKey>): Buffer {
  const other = splitSigned(createCsr(parseSubjectString('/O=acme/CN=dev-1'), key));
  return joinSigned({ ...other, tbsFields: splitSigned(csr).tbsFields });
}
