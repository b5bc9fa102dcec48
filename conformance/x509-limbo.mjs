// x509-limbo harness: runs every case of ../shared/conformance/x509-limbo/limbo.json.gz through
// the path validator, writes a LimboResult JSON (the shape of upstream's results/*.json) and
// prints `N passed, N failed, N skipped`. Cases run in a worker thread under a watchdog: one
// that takes more than 5 s is reported as HANG and the worker is replaced. Deliberate
// divergences are listed with their reasons in x509-limbo-exceptions.json; one that starts to
// agree with upstream fails the run too. Exit status 0 only when nothing failed.
// Usage: node conformance/x509-limbo.mjs [--out FILE] [--only PREFIX] [--core]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import * as pki from '../packages/pki/dist/src/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const suite = resolve(root, '../shared/conformance/x509-limbo');
const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const outFile = option('--out') ?? join(root, 'conformance/out/x509-limbo-results.json');
const only = option('--only');
const WATCHDOG_MS = 5000;

/** Features we do not implement yet: their cases are SKIPPED, and counted as such. */
const UNSUPPORTED_FEATURES = new Map([
  ['pedantic-public-suffix-wildcard', 'no public suffix list: wildcards are checked by label rules only'],
  ['pedantic-rfc5280', 'authorityKeyIdentifier is required of every certificate that is not self-issued; a cross-signed root copy is self-issued'],
  ['pedantic-webpki-eku', 'EKU follows RFC 5280 §4.2.1.12 (absent EKU or anyExtendedKeyUsage allows every purpose), not the web PKI reading'],
]);

const limbo = JSON.parse(gunzipSync(readFileSync(join(suite, 'limbo.json.gz'))).toString('utf8'));
const load = (pem) => pki.loadCertificate(Buffer.from(pem));

function runCase(tc) {
  const unsupported = (tc.features ?? []).find((f) => UNSUPPORTED_FEATURES.has(f));
  if (unsupported) return { actual: 'SKIPPED', context: UNSUPPORTED_FEATURES.get(unsupported) };
  let leaf;
  let anchors;
  let intermediates;
  let crls;
  try {
    leaf = load(tc.peer_certificate);
    anchors = tc.trusted_certs.map(load);
    intermediates = tc.untrusted_intermediates.flatMap((pem) => {
      try {
        return [load(pem)];
      } catch {
        return []; // an unparsable decoy intermediate is simply not a candidate
      }
    });
    crls = (tc.crls ?? []).map((pem) => pki.loadCrls(Buffer.from(pem))[0]);
  } catch (err) {
    return { actual: 'FAILURE', context: `parse: ${err.code ?? ''} ${err.message}` };
  }
  const time = tc.validation_time ? new Date(tc.validation_time) : new Date();
  const peerNames = [tc.expected_peer_name, ...(tc.expected_peer_names ?? [])].filter(Boolean).map((n) => ({ kind: n.kind, value: n.value }));
  const purpose = tc.validation_kind === 'CLIENT' ? 'client' : 'server';
  const extendedKeyUsage = (tc.extended_key_usage ?? []).map((name) => pki.Oid[name] ?? name);
  const result = pki.verifyChain({
    leaf,
    anchors,
    intermediates,
    time,
    options: {
      purpose,
      extendedKeyUsage: extendedKeyUsage.length > 0 ? extendedKeyUsage : undefined,
      peerNames,
      maxChainDepth: tc.max_chain_depth ?? undefined,
      crls,
    },
  });
  return result.ok ? { actual: 'SUCCESS', context: `path of ${result.path.length}` } : { actual: 'FAILURE', context: `${result.code}: ${result.message}` };
}

if (!isMainThread) {
  for (const index of workerData.indices) {
    const tc = limbo.testcases[index];
    let outcome;
    try {
      outcome = runCase(tc);
    } catch (err) {
      outcome = { actual: 'FAILURE', context: `exception: ${err.code ?? ''} ${err.message}` };
    }
    parentPort.postMessage({ index, outcome });
  }
} else {
  const exceptions = new Map(Object.entries(JSON.parse(readFileSync(join(root, 'conformance/x509-limbo-exceptions.json'), 'utf8')).cases));
  const selected = limbo.testcases
    .map((tc, index) => ({ tc, index }))
    .filter(({ tc }) => (!only || tc.id.startsWith(only)) && (!args.includes('--core') || !tc.id.startsWith('bettertls::')));
  const outcomes = new Map();
  let queue = selected.map(({ index }) => index);
  while (queue.length > 0) {
    // One worker runs the queue; if a case exceeds the watchdog, it is terminated, the case is a HANG, and a new worker takes the rest.
    await new Promise((resolvePromise) => {
      const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { indices: queue }, argv: process.argv.slice(2) });
      let timer;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          const stuck = queue[0];
          outcomes.set(stuck, { actual: 'HANG', context: `no answer within ${WATCHDOG_MS} ms` });
          queue = queue.slice(1);
          worker.terminate().then(resolvePromise);
        }, WATCHDOG_MS);
      };
      arm();
      worker.on('message', ({ index, outcome }) => {
        outcomes.set(index, outcome);
        queue = queue.slice(1);
        arm();
      });
      worker.on('exit', () => {
        clearTimeout(timer);
        resolvePromise();
      });
      worker.on('error', (err) => {
        clearTimeout(timer);
        const broken = queue[0];
        outcomes.set(broken, { actual: 'FAILURE', context: `worker error: ${err.message}` });
        queue = queue.slice(1);
        resolvePromise();
      });
    });
  }

  const results = [];
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  let diverged = 0;
  const problems = [];
  for (const { tc, index } of selected) {
    const outcome = outcomes.get(index);
    results.push({ id: tc.id, actual_result: outcome.actual, context: outcome.context });
    if (outcome.actual === 'SKIPPED') {
      skipped++;
      continue;
    }
    const agrees = outcome.actual === tc.expected_result;
    if (exceptions.has(tc.id)) {
      if (agrees) {
        failed++;
        problems.push(`${tc.id}: listed as a deliberate divergence but now answers ${outcome.actual} like upstream; remove it from the exceptions file`);
      } else diverged++;
      continue;
    }
    if (agrees) passed++;
    else {
      failed++;
      problems.push(`${tc.id}: expected ${tc.expected_result}, got ${outcome.actual} (${outcome.context})`);
    }
  }
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, JSON.stringify({ version: 1, harness: 'fleetpki', results }, null, 1));
  for (const problem of problems) console.log(`x509-limbo FAILED ${problem}`);
  const expected = new Map(limbo.testcases.map((t) => [t.id, t.expected_result]));
  const wrongAccepts = results.filter((r) => r.actual_result === 'SUCCESS' && expected.get(r.id) === 'FAILURE').length;
  const hangs = results.filter((r) => r.actual_result === 'HANG').length;
  console.log(`x509-limbo: ${selected.length} cases; ${diverged} deliberate divergences (x509-limbo-exceptions.json; ${wrongAccepts} of all answers accept what upstream refuses); ${hangs} hangs; results in ${outFile}`);
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exitCode = failed > 0 ? 1 : 0;
}
