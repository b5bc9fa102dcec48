import assert from 'node:assert/strict';
import type { KeyObject } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DAY_MS, epochSeconds, KEY_SPECS, newKey, opensslStatus, T0, tempDir } from '@fleetpki/test-support';
import {
  createCsr,
  createSelfSignedCa,
  encodePem,
  issueCertificate,
  issueDeviceCertificate,
  keyIdentifier,
  Oid,
  parseCertificate,
  parseSubjectPublicKeyInfo,
  parseSubjectString,
  prepareIssuer,
  signCsr,
  spkiDer,
  validityForDays,
  verifySignature,
  type Certificate,
  type CsrSigningResult,
  type KeySpec,
} from '../src/index.js';

const SIGNATURE_OIDS: Readonly<Record<string, string>> = {
  'P-256': Oid.ecdsaWithSha256,
  'P-384': Oid.ecdsaWithSha384,
  'RSA-2048': Oid.sha256WithRSAEncryption,
};

interface KeySet {
  readonly root: KeyObject;
  readonly intermediate: KeyObject;
  readonly device: KeyObject;
}

const KEYS = new Map<string, KeySet>(
  KEY_SPECS.map(({ name, spec }: { name: string; spec: KeySpec }) => [name, { root: newKey(spec), intermediate: newKey(spec), device: newKey(spec) }]),
);

function keysFor(name: string): KeySet {
  const keys = KEYS.get(name);
  if (!keys) throw new Error(`no keys for ${name}`);
  return keys;
}

function extension(cert: Certificate, oid: string): { critical: boolean } {
  const ext = cert.extensions.find((e) => e.oid === oid);
  assert.ok(ext, `extension ${oid} missing`);
  return ext;
}

function assertSerial(cert: Certificate): void {
  const serial = cert.serialNumber;
  assert.equal((serial[0] as number) & 0x80, 0, 'serial must be positive');
  const bits = BigInt(`0x${serial.toString('hex')}`).toString(2).length;
  assert.ok(bits >= 64, `serial has ${bits} bits`);
}

function assertSignedBy(cert: Certificate, issuer: Certificate, issuerKeyName: string): void {
  assert.equal(cert.signatureAlgorithm.oid, SIGNATURE_OIDS[issuerKeyName]);
  if (issuerKeyName === 'RSA-2048') assert.equal(cert.signatureAlgorithm.parameters?.tag, 0x05);
  else assert.equal(cert.signatureAlgorithm.parameters, undefined);
  assert.ok(cert.issuer.der.equals(issuer.subject.der));
  assert.ok(verifySignature(cert.tbsDer, cert.signature, cert.signatureAlgorithm, issuer.publicKey));
}

function assertDays(cert: Certificate, days: number): void {
  assert.equal(cert.notBefore.getTime(), T0.getTime());
  assert.equal(cert.notAfter.getTime() - cert.notBefore.getTime(), days * DAY_MS);
}

const tmp = tempDir('issuance');
after(() => tmp.cleanup());

for (const issuerSpec of KEY_SPECS) {
  for (const subjectSpec of KEY_SPECS) {
    describe(`issuer ${issuerSpec.name}, subject ${subjectSpec.name}`, () => {
      const issuerKeys = keysFor(issuerSpec.name);
      const subjectKeys = keysFor(subjectSpec.name);
      const root = parseCertificate(
        createSelfSignedCa({ subject: parseSubjectString(`/CN=Root ${issuerSpec.name}`), privateKey: issuerKeys.root, validity: validityForDays(T0, 3650) }).der,
      );
      const intermediate = parseCertificate(
        issueCertificate(prepareIssuer(root, issuerKeys.root), {
          subject: parseSubjectString(`/O=fleetpki/CN=Issuing ${subjectSpec.name}`),
          publicKey: parseSubjectPublicKeyInfo(spkiDer(subjectKeys.intermediate), 'key'),
          validity: validityForDays(T0, 365),
          profile: { kind: 'intermediate-ca', pathLen: 0 },
        }).der,
      );
      const certificateId = `dev-${subjectSpec.name}`;
      const direct = parseCertificate(
        issueDeviceCertificate(prepareIssuer(root, issuerKeys.root), parseSubjectString('/O=acme/CN=direct-1'), subjectKeys.device, validityForDays(T0, 30)).der,
      );
      let signed: CsrSigningResult | undefined;
      let signedDevice: Certificate | undefined;
      before(async () => {
        signed = await signCsr(
          prepareIssuer(intermediate, subjectKeys.intermediate),
          createCsr(parseSubjectString(`/O=acme/CN=${certificateId}`), subjectKeys.device),
          { validity: validityForDays(T0, 7), devicePolicy: { project: 'acme' } },
        );
        signedDevice = parseCertificate(signed.der);
      });
      const signedResult = (): CsrSigningResult => {
        assert.ok(signed);
        return signed;
      };
      const device = (): Certificate => {
        assert.ok(signedDevice);
        return signedDevice;
      };

      it('root CA profile', () => {
        assert.equal(root.version, 3);
        assert.ok(root.subject.der.equals(root.issuer.der));
        assert.deepEqual(root.basicConstraints, { ca: true, pathLen: undefined });
        assert.equal(extension(root, Oid.basicConstraints).critical, true);
        assert.deepEqual(root.keyUsage, ['keyCertSign', 'cRLSign']);
        assert.equal(extension(root, Oid.keyUsage).critical, true);
        assert.ok(root.subjectKeyIdentifier?.equals(keyIdentifier(root.publicKey.keyBytes)));
        assert.equal(extension(root, Oid.subjectKeyIdentifier).critical, false);
        assert.equal(root.authorityKeyIdentifier, undefined);
        assert.equal(root.extKeyUsage, undefined);
        assert.deepEqual(root.extensions.map((e) => e.oid), [Oid.basicConstraints, Oid.keyUsage, Oid.subjectKeyIdentifier]);
        assert.ok(root.publicKey.der.equals(spkiDer(issuerKeys.root)));
        assertSerial(root);
        assertDays(root, 3650);
        assertSignedBy(root, root, issuerSpec.name);
      });

      it('intermediate CA profile: pathLen, AKI = issuer SKI', () => {
        assert.deepEqual(intermediate.basicConstraints, { ca: true, pathLen: 0 });
        assert.equal(extension(intermediate, Oid.basicConstraints).critical, true);
        assert.deepEqual(intermediate.keyUsage, ['keyCertSign', 'cRLSign']);
        assert.equal(extension(intermediate, Oid.keyUsage).critical, true);
        assert.ok(intermediate.subjectKeyIdentifier?.equals(keyIdentifier(intermediate.publicKey.keyBytes)));
        assert.ok(intermediate.authorityKeyIdentifier?.keyIdentifier?.equals(root.subjectKeyIdentifier as Buffer));
        assert.equal(intermediate.authorityKeyIdentifier?.serialNumber, undefined);
        assert.deepEqual(intermediate.extensions.map((e) => e.oid), [Oid.basicConstraints, Oid.keyUsage, Oid.subjectKeyIdentifier, Oid.authorityKeyIdentifier]);
        assert.ok(intermediate.publicKey.der.equals(spkiDer(subjectKeys.intermediate)));
        assertSerial(intermediate);
        assertDays(intermediate, 365);
        assertSignedBy(intermediate, root, issuerSpec.name);
      });

      for (const [label, certOf, issuer, issuerKeyName, days] of [
        ['device profile via signCsr', device, intermediate, subjectSpec.name, 7],
        ['device profile via issueDeviceCertificate', () => direct, root, issuerSpec.name, 30],
      ] as const) {
        it(label, () => {
          const cert = certOf();
          assert.deepEqual(cert.basicConstraints, { ca: false, pathLen: undefined });
          assert.equal(extension(cert, Oid.basicConstraints).critical, true);
          assert.deepEqual(cert.keyUsage, subjectSpec.spec.kind === 'rsa' ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature']);
          assert.equal(extension(cert, Oid.keyUsage).critical, true);
          assert.deepEqual(cert.extKeyUsage, [Oid.clientAuth]);
          assert.equal(extension(cert, Oid.extKeyUsage).critical, false);
          assert.ok(cert.subjectKeyIdentifier?.equals(keyIdentifier(cert.publicKey.keyBytes)));
          assert.ok(cert.authorityKeyIdentifier?.keyIdentifier?.equals(issuer.subjectKeyIdentifier as Buffer));
          assert.deepEqual(cert.extensions.map((e) => e.oid), [Oid.basicConstraints, Oid.keyUsage, Oid.extKeyUsage, Oid.subjectKeyIdentifier, Oid.authorityKeyIdentifier]);
          assert.ok(cert.publicKey.der.equals(spkiDer(subjectKeys.device)));
          assertSerial(cert);
          assertDays(cert, days);
          assertSignedBy(cert, issuer, issuerKeyName);
        });
      }

      it('signCsr returns the CSR, its identity, and keeps the CSR subject DER', () => {
        const result = signedResult();
        assert.deepEqual(result.identity, { projectSlug: 'acme', certificateId });
        assert.ok(device().subject.der.equals(result.csr.subject.der));
        assert.ok(device().publicKey.der.equals(result.csr.publicKey.der));
      });

      it('serials differ between certificates', () => {
        const serials = new Set([root, intermediate, device(), direct].map((c) => c.serialNumber.toString('hex')));
        assert.equal(serials.size, 4);
      });

      it('openssl verify -x509_strict -purpose sslclient accepts root→device and root→intermediate→device', () => {
        const prefix = `${issuerSpec.name}-${subjectSpec.name}`;
        tmp.write(`${prefix}-root.pem`, encodePem('CERTIFICATE', root.der));
        tmp.write(`${prefix}-int.pem`, encodePem('CERTIFICATE', intermediate.der));
        tmp.write(`${prefix}-device.pem`, encodePem('CERTIFICATE', device().der));
        tmp.write(`${prefix}-direct.pem`, encodePem('CERTIFICATE', direct.der));
        const at = epochSeconds(new Date(T0.getTime() + 3_600_000));
        const common = ['verify', '-x509_strict', '-purpose', 'sslclient', '-attime', at, '-CAfile', `${prefix}-root.pem`];
        const viaIntermediate = opensslStatus([...common, '-untrusted', `${prefix}-int.pem`, `${prefix}-device.pem`], tmp.dir);
        assert.equal(viaIntermediate.status, 0, viaIntermediate.stderr + viaIntermediate.stdout);
        const direct1 = opensslStatus([...common, `${prefix}-direct.pem`], tmp.dir);
        assert.equal(direct1.status, 0, direct1.stderr + direct1.stdout);
        // Control: the same chain is refused once the device certificate has expired.
        const late = opensslStatus(['verify', '-attime', epochSeconds(new Date(T0.getTime() + 8 * DAY_MS)), '-CAfile', `${prefix}-root.pem`, '-untrusted', `${prefix}-int.pem`, `${prefix}-device.pem`], tmp.dir);
        assert.notEqual(late.status, 0);
      });
    });
  }
}

describe('validityForDays', () => {
  const CASES: readonly { days: number; now: Date }[] = [
    { days: 1, now: T0 },
    { days: 7, now: new Date('2025-03-30T00:59:59.999Z') },
    { days: 365, now: new Date('2024-02-29T12:00:00Z') },
    { days: 36_500, now: T0 },
  ];
  for (const c of CASES) {
    it(`${c.days} days from ${c.now.toISOString()} is exact and to the second`, () => {
      const v = validityForDays(c.now, c.days);
      assert.equal(v.notBefore.getTime(), Math.floor(c.now.getTime() / 1000) * 1000);
      assert.equal(v.notAfter.getTime() - v.notBefore.getTime(), c.days * DAY_MS);
    });
  }

  it('a 100-year root encodes its notAfter as GeneralizedTime and parses back exactly', () => {
    const key = newKey();
    const validity = validityForDays(T0, 36_500);
    const cert = parseCertificate(createSelfSignedCa({ subject: parseSubjectString('/CN=Long'), privateKey: key, validity }).der);
    assert.equal(cert.notAfter.getTime(), validity.notAfter.getTime());
    assert.equal(cert.notAfter.getUTCFullYear(), 2124);
  });
});
