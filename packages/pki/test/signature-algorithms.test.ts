import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openssl, tempDir } from '@fleetpki/test-support';
import {
  isPkiError,
  formatKeyAlgorithm,
  loadCertificate,
  signatureAlgorithmName,
  verifyChain,
  verifySignature,
  type AlgorithmIdentifier,
  type Certificate,
} from '../src/index.js';
import { assertPkiError } from './helpers/assert-pki.js';
import { flipByte } from './helpers/der.js';

/** Self-signed certificates openssl makes with each signature algorithm the verifier knows. */
interface AlgorithmCase {
  readonly name: string;
  readonly key: readonly string[];
  readonly req: readonly string[];
  readonly signatureAlgorithm: string;
  readonly keyAlgorithm: string;
  /** Refused unless the caller opts in (SignatureVerificationOptions.allowSha1). */
  readonly sha1?: boolean;
}

const RSA = ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'];
const P256 = ['ecparam', '-name', 'prime256v1', '-genkey', '-noout'];

const CASES: readonly AlgorithmCase[] = [
  { name: 'ecdsa P-256 SHA-256', key: P256, req: ['-sha256'], signatureAlgorithm: 'ecdsa-with-SHA256', keyAlgorithm: 'EC P-256' },
  { name: 'ecdsa P-256 SHA-512', key: P256, req: ['-sha512'], signatureAlgorithm: 'ecdsa-with-SHA512', keyAlgorithm: 'EC P-256' },
  { name: 'ecdsa P-384 SHA-384', key: ['ecparam', '-name', 'secp384r1', '-genkey', '-noout'], req: ['-sha384'], signatureAlgorithm: 'ecdsa-with-SHA384', keyAlgorithm: 'EC P-384' },
  { name: 'ecdsa P-521 SHA-512', key: ['ecparam', '-name', 'secp521r1', '-genkey', '-noout'], req: ['-sha512'], signatureAlgorithm: 'ecdsa-with-SHA512', keyAlgorithm: 'EC P-521' },
  { name: 'RSA PKCS#1 v1.5 SHA-256', key: RSA, req: ['-sha256'], signatureAlgorithm: 'sha256WithRSAEncryption', keyAlgorithm: 'RSA 2048' },
  { name: 'RSA PKCS#1 v1.5 SHA-1', key: RSA, req: ['-sha1'], signatureAlgorithm: 'sha1WithRSAEncryption', keyAlgorithm: 'RSA 2048', sha1: true },
  { name: 'RSASSA-PSS SHA-256 (rsaEncryption key)', key: RSA, req: ['-sha256', '-sigopt', 'rsa_padding_mode:pss'], signatureAlgorithm: 'RSASSA-PSS with sha256', keyAlgorithm: 'RSA 2048' },
  { name: 'RSASSA-PSS SHA-384, max salt', key: RSA, req: ['-sha384', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:max'], signatureAlgorithm: 'RSASSA-PSS with sha384', keyAlgorithm: 'RSA 2048' },
  { name: 'RSASSA-PSS key', key: ['genpkey', '-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:2048'], req: [], signatureAlgorithm: 'RSASSA-PSS with sha256', keyAlgorithm: 'RSA-PSS 2048' },
  { name: 'Ed25519', key: ['genpkey', '-algorithm', 'ed25519'], req: [], signatureAlgorithm: 'Ed25519', keyAlgorithm: 'Ed25519' },
];

const tmp = tempDir('sigalg');
const certs = new Map<string, Certificate>();
before(() => {
  CASES.forEach((c, i) => {
    openssl([...c.key, '-out', `${i}.key.pem`], tmp.dir);
    openssl(['req', '-x509', '-new', '-key', `${i}.key.pem`, ...c.req, '-subj', `/CN=${c.name}`, '-days', '5', '-out', `${i}.crt.pem`], tmp.dir);
    certs.set(c.name, loadCertificate(tmp.read(`${i}.crt.pem`)));
  });
});
after(() => tmp.cleanup());

describe('openssl-made signature algorithms', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const cert = certs.get(c.name);
      assert.ok(cert);
      assert.equal(signatureAlgorithmName(cert.signatureAlgorithm), c.signatureAlgorithm);
      assert.equal(formatKeyAlgorithm(cert.publicKey.algorithm), c.keyAlgorithm);
      const options = { allowSha1: c.sha1 === true };
      assert.equal(verifySignature(cert.tbsDer, cert.signature, cert.signatureAlgorithm, cert.publicKey, options), true);
      // One changed TBS octet (inside the subject's CN value) breaks the signature.
      const at = cert.tbsDer.lastIndexOf(Buffer.from(c.name.slice(0, 4)));
      assert.equal(verifySignature(flipByte(cert.tbsDer, at), cert.signature, cert.signatureAlgorithm, cert.publicKey, options), false);
      const result = verifyChain({ leaf: cert, anchors: [cert], intermediates: [], time: new Date(cert.notBefore.getTime() + 1000) });
      if (c.sha1) {
        // By default SHA-1 is refused, with its own code, both alone and in a chain.
        assert.throws(() => verifySignature(cert.tbsDer, cert.signature, cert.signatureAlgorithm, cert.publicKey), (err: unknown) => isPkiError(err) && err.code === 'UNSUPPORTED_ALGORITHM');
        assert.ok(result.ok, 'a self-signed anchor is trusted as given; its own signature is not checked');
      } else {
        assert.ok(result.ok);
      }
    });
  }

  it('a chain whose leaf is signed with SHA-1 fails with UNSUPPORTED_ALGORITHM', () => {
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'sha1-leaf.key.pem'], tmp.dir);
    openssl(['req', '-new', '-key', 'sha1-leaf.key.pem', '-subj', '/O=acme/CN=old-device', '-out', 'sha1-leaf.csr.pem'], tmp.dir);
    const rootIndex = CASES.findIndex((c) => c.name === 'ecdsa P-256 SHA-256');
    openssl(['x509', '-req', '-in', 'sha1-leaf.csr.pem', '-CA', `${rootIndex}.crt.pem`, '-CAkey', `${rootIndex}.key.pem`, '-CAcreateserial', '-sha1', '-days', '2', '-out', 'sha1-leaf.crt.pem'], tmp.dir);
    const leaf = loadCertificate(tmp.read('sha1-leaf.crt.pem'));
    const root = certs.get('ecdsa P-256 SHA-256') as Certificate;
    const result = verifyChain({ leaf, anchors: [root], intermediates: [], time: new Date(leaf.notBefore.getTime() + 1000) });
    assert.equal(result.ok, false);
    assert.equal(result.ok ? undefined : result.code, 'UNSUPPORTED_ALGORITHM');
  });

  it('a signature checked against a key of another type is false, not an exception', () => {
    const ec = certs.get('ecdsa P-256 SHA-256');
    const rsa = certs.get('RSA PKCS#1 v1.5 SHA-256');
    assert.ok(ec && rsa);
    assert.equal(verifySignature(ec.tbsDer, ec.signature, ec.signatureAlgorithm, rsa.publicKey), false);
    assert.equal(verifySignature(rsa.tbsDer, rsa.signature, rsa.signatureAlgorithm, ec.publicKey), false);
  });

  const UNSUPPORTED: readonly { name: string; alg: () => AlgorithmIdentifier }[] = [
    {
      name: 'ECDSA with parameters present',
      alg: () => {
        const ec = certs.get('ecdsa P-256 SHA-256') as Certificate;
        return { ...ec.signatureAlgorithm, parameters: { tag: 0x05, contents: Buffer.alloc(0), encoded: Buffer.from([0x05, 0x00]) } };
      },
    },
    { name: 'an unknown OID (md5WithRSAEncryption)', alg: () => ({ oid: '1.2.840.113549.1.1.4', parameters: undefined, der: Buffer.alloc(0) }) },
  ];
  for (const c of UNSUPPORTED) {
    it(`${c.name} → UNSUPPORTED_ALGORITHM`, () => {
      const cert = certs.get('ecdsa P-256 SHA-256') as Certificate;
      assertPkiError(() => verifySignature(cert.tbsDer, cert.signature, c.alg(), cert.publicKey), 'UNSUPPORTED_ALGORITHM');
    });
  }
});
