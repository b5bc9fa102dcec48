// Validation benchmark (issue "RFC 5280 path validation"): prints, in one run, validations/s of
// a root -> intermediate -> device chain (P-256; anchors and intermediates parsed once and
// cached, the device certificate parsed on every validation, as the gateway sees it), the raw
// crypto.verify rate of one P-256 signature over the same certificate, and their ratio.
// Medians of interleaved rounds.
import { verify } from 'node:crypto';
import * as pki from '../packages/pki/dist/src/index.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 1000);
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
function rate(fn, ms) {
  let count = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 16; i++) fn();
    count += 16;
    now = performance.now();
  }
  return (count * 1000) / (now - start);
}

const now = new Date();
const rootKeys = pki.generateKeyPair({ kind: 'ec', curve: 'P-256' });
const rootDer = pki.createSelfSignedCa({ subject: pki.parseSubjectString('/CN=Bench Root'), privateKey: rootKeys.privateKey, validity: pki.validityForDays(now, 3650) }).der;
const root = pki.parseCertificate(rootDer);
const intKeys = pki.generateKeyPair({ kind: 'ec', curve: 'P-256' });
const intDer = pki.issueCertificate(pki.prepareIssuer(root, rootKeys.privateKey), {
  subject: pki.parseSubjectString('/CN=Bench Issuing CA'),
  publicKey: pki.parseSubjectPublicKeyInfo(pki.spkiDer(intKeys.publicKey), 'int'),
  validity: pki.validityForDays(now, 365),
  profile: { kind: 'intermediate-ca', pathLen: 0 },
}).der;
const intermediate = pki.parseCertificate(intDer);
const deviceKeys = pki.generateKeyPair({ kind: 'ec', curve: 'P-256' });
const deviceDer = pki.issueDeviceCertificate(pki.prepareIssuer(intermediate, intKeys.privateKey), pki.deviceSubject('bench', 'device-1'), deviceKeys.publicKey, pki.validityForDays(now, 30)).der;

// The server keeps one cache for its anchors and their intermediates: so does the bench.
const signatures = new pki.SignatureCache();
const validate = () => {
  const leaf = pki.parseCertificate(deviceDer);
  const result = pki.validateDeviceCertificate([leaf], 'bench', [root], [intermediate], now, [], signatures);
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`);
};
const leafOnce = pki.parseCertificate(deviceDer);
const intKeyObject = pki.publicKeyObject(intermediate.publicKey);
const rawVerify = () => {
  if (!verify('sha256', leafOnce.tbsDer, intKeyObject, leafOnce.signature)) throw new Error('raw verify failed');
};

rate(validate, 300);
rate(rawVerify, 300);
const validations = [];
const raws = [];
for (let r = 0; r < ROUNDS; r++) {
  raws.push(rate(rawVerify, ROUND_MS));
  validations.push(rate(validate, ROUND_MS));
}
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const ratio = median(validations) / median(raws);
console.log(`fleetpki validation benchmark — node ${process.version}, ${ROUNDS} rounds × ${ROUND_MS} ms, medians`);
console.log(`  raw crypto.verify P-256 (one signature)               ${fmt(median(raws))} verifications/s [rounds: ${raws.map(fmt).join(', ')}]`);
console.log(`  validateDeviceCertificate root -> intermediate -> device ${fmt(median(validations))} validations/s   [rounds: ${validations.map(fmt).join(', ')}]`);
console.log(`  validations / raw verifications                       ${(ratio * 100).toFixed(1)}%  (goal ≥ 40%) ${ratio >= 0.4 ? 'MET' : 'NOT MET'}`);
