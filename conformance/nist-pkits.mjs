// NIST PKITS harness: the 246 entries of ../shared/conformance/nist-pkits/pkits.json (expectations
// from pyhanko-certvalidator) through the path validator, at 2022-05-01 with the root CRL always
// supplied. Entries whose section needs certificate-policy processing (4.8-4.12) are SKIPPED
// until the policy graph exists, and counted as such. Prints figures and
// `N passed, N failed, N skipped`; exit 1 on any wrong answer.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as pki from '../packages/pki/dist/src/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const suite = resolve(root, '../shared/conformance/nist-pkits');
const entries = JSON.parse(readFileSync(join(suite, 'pkits.json'), 'utf8'));
const time = new Date('2022-05-01T00:00:00Z');
const UNSUPPORTED_SECTIONS = new Map([
  ['408', 'certificate policies (§4.8): the RFC 9618 policy graph is not implemented yet'],
  ['409', 'require explicit policy (§4.9): policy processing not implemented yet'],
  ['410', 'policy mappings (§4.10): policy processing not implemented yet'],
  ['411', 'inhibit policy mapping (§4.11): policy processing not implemented yet'],
  ['412', 'inhibit anyPolicy (§4.12): policy processing not implemented yet'],
]);

const cert = (name) => pki.parseCertificate(readFileSync(join(suite, 'certs', name)));
const crl = (name) => pki.parseCrl(readFileSync(join(suite, 'crls', name)));
const anchor = cert('TrustAnchorRootCertificate.crt');
const rootCrl = crl('TrustAnchorRootCRL.crl');

let passed = 0;
let failed = 0;
let skipped = 0;
const wrong = [];
for (const entry of entries) {
  const unsupported = UNSUPPORTED_SECTIONS.get(entry.id.slice(0, 3));
  if (unsupported) {
    skipped++;
    continue;
  }
  let accepted;
  let context = '';
  try {
    const leaf = cert(entry.cert);
    const intermediates = (entry.other_certs ?? []).map(cert);
    const crls = entry.revocation === false ? [] : [rootCrl, ...(entry.crls ?? []).map(crl)];
    const result = pki.verifyChain({ leaf, anchors: [anchor], intermediates, time, options: { crls, requireRevocationInfo: entry.revocation !== false } });
    accepted = result.ok;
    if (!result.ok) context = `${result.code}: ${result.message}`;
  } catch (err) {
    accepted = false;
    context = `parse: ${err.code ?? ''} ${err.message}`;
  }
  const shouldAccept = entry.error === undefined;
  if (accepted === shouldAccept) passed++;
  else {
    failed++;
    wrong.push(`${entry.id} ${entry.name}: expected ${shouldAccept ? 'accept' : 'reject'}${accepted ? '' : ` (${context})`}`);
  }
}
for (const line of wrong) console.log(`nist-pkits wrong: ${line}`);
console.log(`nist-pkits: ${entries.length} entries, ${skipped} skipped (policy sections 4.8-4.12)`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed > 0 ? 1 : 0;
