import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { epochSeconds, openssl, opensslStatus, tempDir } from '@fleetpki/test-support';
import {
  encodePem,
  loadCertificate,
  loadCsr,
  loadPrivateKey,
  parseCertificate,
  prepareIssuer,
  signCsr,
  validityForDays,
  verifyChain,
} from '../src/index.js';
import { assertPkiError } from './helpers/assert-pki.js';

/**
 * The seed's openssl-made CA key and certificate, and openssl-made CSRs, fed to fleetpki's
 * issuance; openssl verifies the result. Includes a CA whose key has a compressed EC point,
 * where key matching cannot compare SubjectPublicKeyInfo bytes.
 */
const CAS: readonly { name: string; genkey: readonly string[]; compressed?: boolean }[] = [
  { name: 'P-256', genkey: ['ecparam', '-name', 'prime256v1', '-genkey', '-noout'] },
  { name: 'P-256 compressed point', genkey: ['ecparam', '-name', 'prime256v1', '-genkey', '-noout'], compressed: true },
  { name: 'P-384', genkey: ['ecparam', '-name', 'secp384r1', '-genkey', '-noout'] },
  { name: 'RSA-2048', genkey: ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'] },
];

/** Generates a key into `file`, re-encoded with a compressed EC point when asked. */
function genkey(ca: (typeof CAS)[number], file: string): void {
  if (!ca.compressed) {
    openssl([...ca.genkey, '-out', file], tmp.dir);
    return;
  }
  openssl([...ca.genkey, '-out', `raw-${file}`], tmp.dir);
  openssl(['ec', '-in', `raw-${file}`, '-conv_form', 'compressed', '-out', file], tmp.dir);
}

const tmp = tempDir('issue-openssl');
before(() => {
  for (const ca of CAS) {
    const p = ca.name.replace(/ /g, '_');
    genkey(ca, `${p}.key.pem`);
    openssl(['req', '-x509', '-new', '-nodes', '-key', `${p}.key.pem`, '-sha256', '-subj', '/CN=Root CA', '-days', '10', '-out', `${p}.crt.pem`], tmp.dir);
    genkey(ca, `${p}-dev.key.pem`);
    openssl(['req', '-new', '-key', `${p}-dev.key.pem`, '-subj', '/O=acme/CN=CERT-ID_01', '-out', `${p}-dev.csr.pem`], tmp.dir);
  }
});
after(() => tmp.cleanup());

describe('issuance from openssl-made CA and CSR', () => {
  for (const ca of CAS) {
    const p = ca.name.replace(/ /g, '_');
    it(`${ca.name}: signCsr issues, verifyChain and openssl verify accept`, async () => {
      const caCert = loadCertificate(tmp.read(`${p}.crt.pem`));
      // The compressed case must really carry a compressed point, or it tests nothing new.
      if (ca.compressed) assert.notEqual(caCert.publicKey.keyBytes[0], 0x04);
      const issuer = prepareIssuer(caCert, loadPrivateKey(tmp.read(`${p}.key.pem`)).key);
      const start = new Date(caCert.notBefore.getTime() + 60_000);
      const result = await signCsr(issuer, loadCsr(tmp.read(`${p}-dev.csr.pem`)).der, { validity: validityForDays(start, 7), devicePolicy: { project: 'acme' } });
      assert.deepEqual(result.identity, { projectSlug: 'acme', certificateId: 'CERT-ID_01' });
      const cert = parseCertificate(result.der);
      assert.ok(cert.publicKey.der.equals(result.csr.publicKey.der));
      assert.ok(cert.authorityKeyIdentifier?.keyIdentifier?.equals(caCert.subjectKeyIdentifier as Buffer));
      const chain = verifyChain({ leaf: cert, anchors: [caCert], intermediates: [], time: new Date(start.getTime() + 3_600_000) });
      assert.ok(chain.ok);
      tmp.write(`${p}-dev.crt.pem`, encodePem('CERTIFICATE', result.der));
      const verified = opensslStatus(['verify', '-attime', epochSeconds(new Date(start.getTime() + 3_600_000)), '-CAfile', `${p}.crt.pem`, `${p}-dev.crt.pem`], tmp.dir);
      assert.equal(verified.status, 0, verified.stderr + verified.stdout);
    });

    it(`${ca.name}: another key for the openssl CA → CA_KEY_MISMATCH`, () => {
      const caCert = loadCertificate(tmp.read(`${p}.crt.pem`));
      assertPkiError(() => prepareIssuer(caCert, loadPrivateKey(tmp.read(`${p}-dev.key.pem`)).key), 'CA_KEY_MISMATCH');
    });
  }
});
