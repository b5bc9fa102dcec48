// BetterTLS harness: the export in ../shared/conformance/bettertls/ (nameconstraints and
// pathbuilding suites) through the path validator as a TLS server check for the test's
// hostname. A REJECT case we accept is a false accept unless upstream marks it
// failureIsWarning (then it is a pass with warning, as BetterTLS itself counts it).
// Prints per-suite figures and `N passed, N failed, N skipped`; exit 1 on any false accept or reject.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import * as pki from '../packages/pki/dist/src/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const exported = JSON.parse(gunzipSync(readFileSync(resolve(root, '../shared/conformance/bettertls/bettertls-export.json.gz'))).toString('utf8'));
const trustRoot = pki.parseCertificate(Buffer.from(exported.trustRoot, 'base64'));
// A fixed instant inside the export's validity, so the run does not depend on the clock.
const time = new Date(trustRoot.notBefore.getTime() + 86_400_000);

let passed = 0;
let failed = 0;
for (const [suite, { testCases }] of Object.entries(exported.suites)) {
  const counts = { pass: 0, passWithWarning: 0, falseAccept: 0, falseReject: 0 };
  const examples = [];
  for (const tc of testCases) {
    let accepted;
    let context = '';
    try {
      const [leaf, ...intermediates] = tc.certificates.map((b64) => pki.parseCertificate(Buffer.from(b64, 'base64')));
      const kind = pki.parseIpAddress(tc.hostname) ? 'IP' : 'DNS';
      const result = pki.verifyChain({ leaf, anchors: [trustRoot], intermediates, time, options: { purpose: 'server', peerNames: [{ kind, value: tc.hostname }] } });
      accepted = result.ok;
      if (!result.ok) context = `${result.code}: ${result.message}`;
    } catch (err) {
      accepted = false;
      context = `parse: ${err.code ?? ''} ${err.message}`;
    }
    const shouldAccept = tc.expected === 'ACCEPT';
    if (accepted === shouldAccept) counts.pass++;
    else if (accepted && tc.failureIsWarning) counts.passWithWarning++;
    else if (accepted) {
      counts.falseAccept++;
      if (examples.length < 10) examples.push(`false accept: ${suite} #${tc.id} ${tc.hostname}`);
    } else {
      counts.falseReject++;
      if (examples.length < 10) examples.push(`false reject: ${suite} #${tc.id} ${tc.hostname} (${context})`);
    }
  }
  for (const example of examples) console.log(`bettertls ${example}`);
  console.log(`bettertls ${suite}: ${testCases.length} tests, ${counts.pass} pass, ${counts.passWithWarning} pass with warning, ${counts.falseAccept} false accepts, ${counts.falseReject} false rejects`);
  passed += counts.pass + counts.passWithWarning;
  failed += counts.falseAccept + counts.falseReject;
}
console.log(`${passed} passed, ${failed} failed, 0 skipped`);
process.exitCode = failed > 0 ? 1 : 0;
