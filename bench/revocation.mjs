// Revocation benchmark (issue "Revocation enforced at every gateway"): prints, in one run,
//  1. full mTLS handshakes per second through the HTTPS gateway for a device whose CA has no
//     CRL, and for one whose CA has a 100,000-entry CRL in force (goal: >= 0.95x), interleaved
//     against the same server with the same load generator (bench/gateway-load.mjs);
//  2. OCSP responses per second for a cached `good` answer from fleetpki's responder, against
//     `openssl ocsp -index … -port` serving the same CA and certificate in the same run, both
//     over fresh connections from one load generator (goal: >= 5x);
//  3. the time to re-sign a managed CA's CRL that lists 100,000 revoked certificates (goal: < 1 s),
//     through the server (GET /v1/pki/cas/{id}/crl right after a revocation) and for the core's
//     buildCrl alone.
// Servers and load generators are separate processes. Medians of interleaved rounds.
import { execFileSync, spawn } from 'node:child_process';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import * as pki from '../packages/pki/dist/src/index.js';
import { MasterKeySealer } from '../packages/server/dist/src/platform/master-key-sealer.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 3000);
const CRL_ENTRIES = Number(process.env.BENCH_CRL_ENTRIES ?? 100_000);
const LOAD_PROCESSES = 2;
const CONCURRENCY = 16;
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const f = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

const dir = mkdtempSync(join(tmpdir(), 'fleetpki-bench-revocation-'));
const children = [];
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function startServe() {
  const child = spawn(process.execPath, [resolve(here, '../packages/cli/bin/fleetpki.js'), 'serve', '--data-dir', dir, '--http-port', '0', '--gateway-port', '0', '--mqtt-port', '0', '--coap-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.resume();
  children.push(child);
  let gatewayUrl;
  return new Promise((resolveStart, reject) => {
    child.once('exit', (code) => reject(new Error(`fleetpki serve exited ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const l = JSON.parse(line);
        if (l.msg === 'device gateway listening') gatewayUrl = l.url;
        if (l.msg === 'management API listening') resolveStart({ child, api: l.url, gateway: gatewayUrl });
      } catch {
        /* not JSON */
      }
    });
  });
}

function runJson(script, args) {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [join(here, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.once('exit', (code) => (code === 0 ? resolveRun(JSON.parse(out)) : reject(new Error(`${script} exited ${code}`))));
  });
}

async function rate(script, argsOf) {
  const results = await Promise.all(Array.from({ length: LOAD_PROCESSES }, () => runJson(script, argsOf())));
  const failed = results.reduce((n, r) => n + r.failed, 0);
  if (failed > 0) throw new Error(`${failed} requests failed (${script})`);
  return (results.reduce((n, r) => n + r.completed, 0) * 1000) / Math.max(...results.map((r) => r.ms));
}

const freePort = () => new Promise((r) => { const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => r(port)); }); });

const server = await startServe();
const adminKey = readFileSync(join(dir, 'admin-api-key'), 'utf8').trim();
const api = async (method, path, body) => {
  const r = await fetch(`${server.api}${path}`, { method, headers: { 'x-api-key': adminKey, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text.startsWith('{') ? JSON.parse(text) : text;
};
const now = new Date();
const serverCa = join(dir, 'platform-root-ca.crt.pem');

// 1. Two projects, each a CA and a device; one CA gets a CRL of CRL_ENTRIES other serials.
async function projectWithDevice(slug) {
  await api('POST', '/v1/projects', { name: slug, slug });
  const keys = pki.generateKeyPair({ kind: 'ec', curve: 'P-256' });
  const caDer = pki.createSelfSignedCa({ subject: pki.parseSubjectString(`/CN=${slug} CA`), privateKey: keys.privateKey, validity: pki.validityForDays(now, 365) }).der;
  const ca = await api('POST', `/v1/projects/${slug}/certificates`, { certFile: Buffer.from(caDer).toString('base64') });
  const issuer = pki.prepareIssuer(pki.parseCertificate(caDer), keys.privateKey);
  const pair = pki.generateEncodedKeyPair({ kind: 'ec', curve: 'P-256' });
  const deviceDer = pki.issueDeviceCertificate(issuer, pki.deviceSubject(slug, 'device-1'), pair.publicKey, pki.validityForDays(now, 30)).der;
  const files = { cert: join(dir, `${slug}.crt.pem`), key: join(dir, `${slug}.key.pem`) };
  writeFileSync(files.cert, pki.encodePem('CERTIFICATE', deviceDer));
  writeFileSync(files.key, createPrivateKey({ key: pair.privateKeyDer, format: 'der', type: 'sec1' }).export({ type: 'sec1', format: 'pem' }));
  return { caId: ca.id, issuer, files };
}
const plain = await projectWithDevice('plain');
const listed = await projectWithDevice('listed');
const entries = Array.from({ length: CRL_ENTRIES }, () => ({ serialNumber: randomBytes(16), revocationDate: now, reason: 1 }));
const bigCrl = pki.buildCrl(listed.issuer, { number: 1n, thisUpdate: now, nextUpdate: new Date(now.getTime() + 7 * 86_400_000), entries });
const crlInForce = await api('PUT', `/v1/projects/listed/certificates/${listed.caId}/crl`, { crlFile: bigCrl.toString('base64') });
if (crlInForce.entryCount !== CRL_ENTRIES) throw new Error('the CRL did not go in force');
const handshakes = (files) => () => ['handshakes', server.gateway, files.cert, files.key, serverCa, String(CONCURRENCY), String(ROUND_MS)];
await rate('gateway-load.mjs', handshakes(plain.files)); // warm-up, and the revocation set loaded
await rate('gateway-load.mjs', handshakes(listed.files));
const auth = { plain: [], listed: [] };
for (let i = 0; i < ROUNDS; i++) {
  for (const name of i % 2 === 0 ? ['plain', 'listed'] : ['listed', 'plain']) auth[name].push(await rate('gateway-load.mjs', handshakes(name === 'plain' ? plain.files : listed.files)));
}
const authRatios = auth.listed.map((l, i) => l / auth.plain[i]);

// 2. A managed CA issues a device certificate; fleetpki's responder against openssl's, same CA.
await api('POST', '/v1/projects', { name: 'managed', slug: 'managed' });
const managed = await api('POST', '/v1/projects/managed/pki/cas', { mode: 'generate' });
writeFileSync(join(dir, 'issuing.pem'), managed.certificate);
const leafKey = pki.generateKeyPair({ kind: 'ec', curve: 'P-256' });
const csr = pki.createCsr(pki.deviceSubject('managed', 'ocsp-1'), leafKey.privateKey);
const issued = await api('POST', '/v1/projects/managed/pki/issue', { csr: csr.toString('base64') });
writeFileSync(join(dir, 'leaf.pem'), issued.certificate);
execFileSync('openssl', ['ocsp', '-issuer', 'issuing.pem', '-cert', 'leaf.pem', '-no_nonce', '-reqout', 'ocsp.req'], { cwd: dir });
// openssl's responder needs the CA's key: the bench (not the server) unseals it from the store.
const db = new BetterSqlite3(join(dir, 'fleetpki.sqlite'), { readonly: true });
const sealed = db.prepare('SELECT sealed_key FROM managed_cas WHERE id = ?').get(managed.id).sealed_key;
db.close();
const masterKeyText = readFileSync(join(dir, 'master.key'), 'utf8').trim();
const masterKey = Buffer.from(masterKeyText, /^[0-9a-fA-F]{64}$/.test(masterKeyText) ? 'hex' : 'base64');
const opened = new MasterKeySealer(masterKey).openBytes(sealed, `fleetpki-ca-key:${managed.id}`);
if (!opened.ok) throw new Error('cannot unseal the managed CA key');
writeFileSync(join(dir, 'issuing.key'), createPrivateKey({ key: opened.value, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }));
const leaf = pki.loadCertificate(readFileSync(join(dir, 'leaf.pem')));
const expiry = leaf.notAfter.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
writeFileSync(join(dir, 'index.txt'), `V\t${expiry}\t\t${pki.serialHex(leaf)}\tunknown\t/O=managed/CN=ocsp-1\n`);
const opensslPort = await freePort();
const responder = spawn('openssl', ['ocsp', '-index', 'index.txt', '-port', String(opensslPort), '-CA', 'issuing.pem', '-rsigner', 'issuing.pem', '-rkey', 'issuing.key', '-nmin', '60', '-multi', '2'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
children.push(responder);
responder.stderr.resume();
// `-multi` forks workers that a kill of the parent alone would leave listening: end them first.
process.prependListener('exit', () => {
  try {
    execFileSync('pkill', ['-KILL', '-P', String(responder.pid)]);
  } catch {
    /* none left */
  }
});
await new Promise((r) => setTimeout(r, 1000));
// The ceiling: Node's bare HTTP server answering the same response bytes, no work at all.
const sample = await fetch(`${server.api}/v1/pki/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: readFileSync(join(dir, 'ocsp.req')) });
writeFileSync(join(dir, 'ocsp.resp'), Buffer.from(await sample.arrayBuffer()));
const bareServer = spawn(process.execPath, [join(here, 'ocsp-bare-server.mjs'), join(dir, 'ocsp.resp')], { stdio: ['ignore', 'pipe', 'inherit'] });
children.push(bareServer);
const bareUrl = await new Promise((r) => createInterface({ input: bareServer.stdout }).once('line', (line) => r(JSON.parse(line).url)));
const ocspTargets = { fleetpki: `${server.api}/v1/pki/ocsp`, openssl: `http://127.0.0.1:${opensslPort}/`, bare: bareUrl };
const ocspArgs = (url, reuse = 'fresh') => () => [url, join(dir, 'ocsp.req'), String(CONCURRENCY), String(ROUND_MS), reuse];
await rate('ocsp-load.mjs', ocspArgs(ocspTargets.fleetpki));
await rate('ocsp-load.mjs', ocspArgs(ocspTargets.openssl));
const ocsp = { fleetpki: [], openssl: [], bare: [], keepAlive: [] };
for (let i = 0; i < ROUNDS; i++) {
  for (const name of i % 2 === 0 ? ['fleetpki', 'openssl', 'bare'] : ['bare', 'openssl', 'fleetpki']) ocsp[name].push(await rate('ocsp-load.mjs', ocspArgs(ocspTargets[name])));
  ocsp.keepAlive.push(await rate('ocsp-load.mjs', ocspArgs(ocspTargets.fleetpki, 'keep-alive')));
}
const ocspRatios = ocsp.fleetpki.map((x, i) => x / ocsp.openssl[i]);

// 3. The managed CA's CRL with CRL_ENTRIES revoked serials: re-signed on the first GET after the revocations.
for (let start = 0; start < CRL_ENTRIES; start += 10_000) {
  const certificates = Array.from({ length: Math.min(10_000, CRL_ENTRIES - start) }, (_, i) => ({ caId: managed.caCertificateId, serialNumber: (0x1000000 + start + i).toString(16) }));
  await api('POST', '/v1/projects/managed/revocations', { certificates, reason: 'keyCompromise' });
}
const resign = [];
const core = [];
for (let i = 0; i < ROUNDS; i++) {
  if (i > 0) await api('POST', '/v1/projects/managed/revocations', { certificates: [{ caId: managed.caCertificateId, serialNumber: (0x9000000 + i).toString(16) }], reason: 'superseded' });
  const started = performance.now();
  const r = await fetch(`${server.api}/v1/pki/cas/${managed.id}/crl`);
  const der = Buffer.from(await r.arrayBuffer());
  resign.push(performance.now() - started);
  if (pki.parseCrl(der).revoked.length < CRL_ENTRIES) throw new Error('the CRL does not list every revocation');
  const coreStarted = performance.now();
  pki.buildCrl(listed.issuer, { number: BigInt(i + 2), thisUpdate: now, nextUpdate: new Date(now.getTime() + 86_400_000), entries });
  core.push(performance.now() - coreStarted);
}

console.log(`revocation benchmark: node ${process.version}, ${ROUNDS} interleaved rounds of ${ROUND_MS} ms, ${LOAD_PROCESSES} load processes x ${CONCURRENCY} connections, P-256, medians`);
console.log(`  HTTPS gateway, device of a CA without a CRL:               ${f(median(auth.plain))} authentications/s`);
console.log(`  HTTPS gateway, device of a CA with a ${f(CRL_ENTRIES)}-entry CRL:  ${f(median(auth.listed))} authentications/s`);
console.log(`  with CRL / without: ${f(median(authRatios), 2)} (per round: ${authRatios.map((r) => f(r, 2)).join(', ')}; goal >= 0.95)`);
console.log(`  OCSP, cached good answer, fresh connection each: fleetpki ${f(median(ocsp.fleetpki))}/s, openssl ocsp -multi 2 ${f(median(ocsp.openssl))}/s`);
console.log(`  fleetpki / openssl: ${f(median(ocspRatios), 2)} (per round: ${ocspRatios.map((r) => f(r, 2)).join(', ')}; goal >= 5)`);
console.log(`  the ceiling on this machine: Node's bare HTTP server answering the same bytes, fresh connections: ${f(median(ocsp.bare))}/s (${f(median(ocsp.bare) / median(ocsp.openssl), 2)}x openssl)`);
console.log(`  fleetpki over kept-alive connections (openssl's responder closes each): ${f(median(ocsp.keepAlive))}/s (${f(median(ocsp.keepAlive) / median(ocsp.openssl), 2)}x openssl)`);
console.log(`  re-signing a managed CA's CRL of ${f(CRL_ENTRIES)} entries through the server: ${f(median(resign))} ms (rounds: ${resign.map((t) => f(t)).join(', ')}; goal < 1000); the core's buildCrl alone: ${f(median(core))} ms`);
process.exit(0);
