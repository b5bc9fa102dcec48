// Wycheproof harness: every vector of the 13 files in ../shared/conformance/wycheproof/ through
// fleetpki's own paths: signatures through parseSubjectPublicKeyInfo + verifySignature (the
// code that checks certificates and CSRs), ECDH public keys through parseSubjectPublicKeyInfo +
// publicKeyObject (the SPKI parser facing malformed ASN.1). "acceptable" vectors may go either
// way. Prints per-file figures and `N passed, N failed, N skipped`; exit 1 on any wrong answer.
import { createPrivateKey, diffieHellman } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as pki from '../packages/pki/dist/src/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = resolve(root, '../shared/conformance/wycheproof/testvectors_v1');
const ECDSA_OIDS = { 'SHA-256': pki.Oid.ecdsaWithSha256, 'SHA-384': pki.Oid.ecdsaWithSha384, 'SHA-512': pki.Oid.ecdsaWithSha512 };
const RSA_OIDS = { 'SHA-256': pki.Oid.sha256WithRSAEncryption, 'SHA-384': pki.Oid.sha384WithRSAEncryption, 'SHA-512': pki.Oid.sha512WithRSAEncryption };
const HASH_OIDS = { 'SHA-256': pki.Oid.sha256, 'SHA-384': pki.Oid.sha384, 'SHA-512': pki.Oid.sha512 };
const CURVES = { secp256r1: 'P-256', secp384r1: 'P-384' };

/** DER of small structures for the AlgorithmIdentifiers a vector implies. */
const der = {
  len: (n) => (n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff])),
  tlv: (tag, body) => Buffer.concat([Buffer.from([tag]), der.len(body.length), body]),
  oid: (dotted) => {
    const arcs = dotted.split('.').map(Number);
    const bytes = [];
    const push = (v) => {
      const chunk = [v & 0x7f];
      for (v = Math.floor(v / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
      bytes.push(...chunk);
    };
    push(arcs[0] * 40 + arcs[1]);
    arcs.slice(2).forEach(push);
    return der.tlv(0x06, Buffer.from(bytes));
  },
  seq: (...parts) => der.tlv(0x30, Buffer.concat(parts)),
};

function algorithmFor(file, group) {
  const wrap = (body) => {
    const encoded = der.seq(...body);
    const parsed = pki.readSingle(encoded, 'alg');
    return { oid: '', parameters: undefined, der: encoded, ...pki.parseAlgorithmIdentifier(parsed, 'alg') };
  };
  if (file.algorithm === 'ECDSA') return wrap([der.oid(ECDSA_OIDS[group.sha])]);
  if (file.algorithm === 'EDDSA') return wrap([der.oid(pki.Oid.ed25519)]);
  if (file.algorithm === 'RSASSA-PKCS1-v1_5') return wrap([der.oid(RSA_OIDS[group.sha]), Buffer.from([0x05, 0x00])]);
  if (file.algorithm === 'RSASSA-PSS') {
    const hash = der.seq(der.oid(HASH_OIDS[group.sha]));
    const mgf = der.seq(der.oid(pki.Oid.mgf1), der.seq(der.oid(HASH_OIDS[group.mgfSha])));
    const salt = der.tlv(0x02, Buffer.from([group.sLen]));
    return wrap([der.oid(pki.Oid.rsassaPss), der.seq(der.tlv(0xa0, hash), der.tlv(0xa1, mgf), der.tlv(0xa2, salt))]);
  }
  throw new Error(`no algorithm for ${file.algorithm}`);
}

function signatureVector(file, group, test, alg, publicKey) {
  const options = { ecdsaSignatureEncoding: group.type === 'EcdsaP1363Verify' ? 'ieee-p1363' : 'der' };
  try {
    return pki.verifySignature(Buffer.from(test.msg, 'hex'), Buffer.from(test.sig, 'hex'), alg, publicKey, options);
  } catch {
    return false;
  }
}

/**
 * RFC 5915 ECPrivateKey with the scalar and the named curve only: OpenSSL derives the public
 * point itself. (A JWK needs x and y, and Node 26 refuses a JWK whose point is not d's.)
 */
function sec1WithoutPublicKey(scalar, curve) {
  const curveOid = curve === 'P-256' ? Buffer.from('06082a8648ce3d030107', 'hex') : Buffer.from('06052b81040022', 'hex');
  const body = Buffer.concat([Buffer.from([0x02, 0x01, 0x01, 0x04, scalar.length]), scalar, Buffer.from([0xa0, curveOid.length]), curveOid]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

function ecdhVector(group, test) {
  let info;
  try {
    info = pki.parseSubjectPublicKeyInfo(Buffer.from(test.public, 'hex'), 'public key');
    if (info.algorithm.kind !== 'ec' || info.algorithm.curve !== CURVES[group.curve]) return false;
    const publicKey = pki.publicKeyObject(info);
    const d = Buffer.from(test.private, 'hex');
    const size = CURVES[group.curve] === 'P-256' ? 32 : 48;
    const scalar = Buffer.concat([Buffer.alloc(Math.max(0, size - d.length)), d.subarray(Math.max(0, d.length - size))]);
    const privateKey = createPrivateKey({ key: sec1WithoutPublicKey(scalar, CURVES[group.curve]), format: 'der', type: 'sec1' });
    return diffieHellman({ privateKey, publicKey }).equals(Buffer.from(test.shared, 'hex'));
  } catch {
    return false;
  }
}

let passed = 0;
let failed = 0;
for (const name of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
  const file = JSON.parse(readFileSync(join(dir, name), 'utf8'));
  let ok = 0;
  let wrong = 0;
  for (const group of file.testGroups) {
    let alg;
    let publicKey;
    if (file.algorithm !== 'ECDH') {
      alg = algorithmFor(file, group);
      publicKey = pki.parseSubjectPublicKeyInfo(Buffer.from(group.publicKeyDer, 'hex'), 'public key');
    }
    for (const test of group.tests) {
      const accepted = file.algorithm === 'ECDH' ? ecdhVector(group, test) : signatureVector(file, group, test, alg, publicKey);
      if (test.result === 'acceptable' || accepted === (test.result === 'valid')) ok++;
      else {
        wrong++;
        if (wrong <= 5) console.log(`wycheproof ${name} #${test.tcId} (${test.comment}): expected ${test.result}, got ${accepted ? 'valid' : 'invalid'}`);
      }
    }
  }
  console.log(`wycheproof ${name}: ${file.numberOfTests} vectors, ${ok} right, ${wrong} wrong`);
  passed += ok;
  failed += wrong;
}
console.log(`${passed} passed, ${failed} failed, 0 skipped`);
process.exitCode = failed > 0 ? 1 : 0;
