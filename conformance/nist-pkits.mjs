// NIST PKITS harness: the 246 entries of ../shared/conformance/nist-pkits/pkits.json (expectations
// from pyhanko-certvalidator) through the path validator, at 2022-05-01 with the root CRL always
// supplied and each entry's policy parameters. Entries answered differently on purpose or not
// yet supported are listed with reasons in nist-pkits-exceptions.json; one that starts to agree
// fails the run. Prints figures and `N passed, N failed, N skipped`; exit 1 on any wrong answer.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as pki from '../packages/pki/dist/src/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const suite = resolve(root, '../shared/conformance/nist-pkits');
const entries = JSON.parse(readFileSync(join(suite, 'pkits.json'), 'utf8'));
const time = new Date('2022-05-01T00:00:00Z');
const UNSUPPORTED_SECTIONS = new Map();
const exceptions = new Map(Object.entries(JSON.parse(readFileSync(join(root, 'conformance/nist-pkits-exceptions.json'), 'utf8')).entries));
let diverged = 0;

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
    const p = entry.params ?? {};
    const policy = {
      initialPolicySet: p.user_initial_policy_set,
      initialExplicitPolicy: p.initial_explicit_policy,
      initialPolicyMappingInhibit: p.initial_policy_mapping_inhibit,
      initialAnyPolicyInhibit: p.initial_any_policy_inhibit,
    };
    const result = pki.verifyChain({ leaf, anchors: [anchor], intermediates, time, options: { crls, requireRevocationInfo: entry.revocation !== false, policy } });
    accepted = result.ok;
    if (!result.ok) context = `${result.code}: ${result.message}`;
  } catch (err) {
    accepted = false;
    context = `parse: ${err.code ?? ''} ${err.message}`;
  }
  const shouldAccept = entry.error === undefined;
  if (exceptions.has(`${entry.id} ${entry.name}`)) {
    if (accepted === shouldAccept) {
      failed++;
      wrong.push(`${entry.id} ${entry.name}: listed as an exception but now answered as expected; remove it from the exceptions file`);
    } else diverged++;
    continue;
  }
  if (accepted === shouldAccept) passed++;
  else {
    failed++;
    wrong.push(`${entry.id} ${entry.name}: expected ${shouldAccept ? 'accept' : 'reject'}${accepted ? '' : ` (${context})`}`);
  }
}
for (const line of wrong) console.log(`nist-pkits wrong: ${line}`);
console.log(`nist-pkits: ${entries.length} entries, ${diverged} listed exceptions (nist-pkits-exceptions.json), ${skipped} skipped`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed > 0 ? 1 : 0;
