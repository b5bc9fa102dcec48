// Integrated PKI benchmark (issue 7): in one run, with the same CSRs and the same load generator,
//  1. certificates/s issued by fleetpki through POST /v1/projects/{id}/pki/issue (the whole
//     pipeline: API key, CSR proof of possession, profile, subject, sign, recorded in SQLite with
//     its audit event before the answer), `fleetpki serve` (one worker; BENCH_WORKERS);
//  2. certificates/s signed by CloudFlare's `cfssl serve` (/api/v1/cfssl/sign, EC P-256 CA,
//     in-memory key, no database), the baseline;
//  2b. the same cfssl with its certificate database (certdb on SQLite), which records every
//     certificate before answering, like fleetpki;
//  3. certificates/s of Node's bare HTTP server doing only the issuance's cryptography with
//     @fleetpki/pki on every core (bench/pki-bare-server.mjs: no key, no store, no log): what
//     this Node and its OpenSSL allow before fleetpki adds anything;
// and the ratios, with each server's CPU time per certificate. Both servers are separate
// processes, as is the load generator. Rounds are interleaved; medians.
import { spawn, execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as pki from '../packages/pki/dist/src/index.js';
import { CLK_TCK, freePort, median } from './support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 4000);
const LOAD_PROCESSES = 2;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const CSR_COUNT = 2000;
// One worker for fleetpki and for the bare server alike: on two cores shared with two load
// processes, both answer more with one than with two (measured 2026-12-04: fleetpki 2,019/s
// against 1,161/s, bare Node 3,874/s against 3,147/s; two SQLite writer threads in two
// processes also wait on each other's write lock). BENCH_WORKERS sets another count for both.
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1);

const dir = mkdtempSync(join(tmpdir(), 'fleetpki-bench-pki-'));
const children = [];
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});


/** Polls `probe` every 50 ms until it answers true, for at most 10 s. */
async function waitUntilUp(what, probe) {
  for (let i = 0; ; i++) {
    if (await probe().then((up) => up, () => false)) return;
    if (i > 200) throw new Error(`${what} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A `cfssl serve` with the bench's CA and profile on a free port, started and answering; `extra` adds flags. */
async function startCfssl(what, extra = []) {
  const port = await freePort();
  const child = spawn('cfssl', ['serve', '-address', '127.0.0.1', '-port', String(port), '-ca', join(dir, 'cfssl-ca.crt.pem'), '-ca-key', join(dir, 'cfssl-ca.key.pem'), '-config', join(dir, 'cfssl.json'), ...extra, '-loglevel', '5'], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  await waitUntilUp(what, () => fetch(`${url}/api/v1/cfssl/info`, { method: 'POST', body: '{}' }).then((r) => r.ok));
  return { child, url };
}

/** CPU ticks of a process and every process below it (the cluster workers). */
function treeTicks(pid) {
  let total = 0;
  const ppids = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const fields = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1].split(' ');
      ppids.set(Number(name), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      /* gone */
    }
  }
  const inTree = new Set([pid]);
  for (let changed = true; changed; ) {
    changed = false;
    for (const [p, info] of ppids) {
      if (!inTree.has(p) && inTree.has(info.ppid)) {
        inTree.add(p);
        changed = true;
      }
    }
  }
  for (const p of inTree) total += ppids.get(p)?.ticks ?? 0;
  return total;
}

// The same CSRs for both: EC P-256 device keys, subjects O=bench, CN=device-N.
const csrPems = Array.from({ length: CSR_COUNT }, (_, i) => {
  const { privateKey } = pki.generateKeyPair({ kind: 'ec', curve: 'P-256' });
  return pki.encodePem('CERTIFICATE REQUEST', pki.createCsr(pki.deviceSubject('bench', `device-${i}`), privateKey));
});

// 1. fleetpki: `fleetpki serve --workers N` on SQLite, a project and a generated managed CA.
const [httpPort, gatewayPort, mqttPort] = [await freePort(), await freePort(), await freePort()];
const serve = spawn(
  process.execPath,
  [resolve(here, '../packages/cli/bin/fleetpki.js'), 'serve', '--data-dir', join(dir, 'data'), '--workers', String(WORKERS), '--http-port', String(httpPort), '--gateway-port', String(gatewayPort), '--mqtt-port', String(mqttPort)],
  // The request log goes to a file: read through a pipe, it would cost this process CPU per
  // request on the cores the servers share.
  { stdio: ['ignore', openSync(join(dir, 'serve.log'), 'w'), 'ignore'] },
);
children.push(serve);
for (let i = 0; ; i++) {
  const listening = readFileSync(join(dir, 'serve.log'), 'utf8').split('"management API listening"').length - 1;
  if (listening === WORKERS) break;
  if (serve.exitCode !== null || i > 600) throw new Error(`fleetpki serve did not start (exit ${serve.exitCode})`);
  await new Promise((r) => setTimeout(r, 100));
}
const fleetUrl = `http://127.0.0.1:${httpPort}`;
const adminKey = readFileSync(join(dir, 'data', 'admin-api-key'), 'utf8').trim();
const api = async (method, path, body) => {
  const r = await fetch(`${fleetUrl}${path}`, { method, headers: { 'x-api-key': adminKey, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
};
await api('POST', '/v1/projects', { name: 'Bench', slug: 'bench' });
await api('POST', '/v1/projects/bench/pki/cas', { mode: 'generate', profile: { defaultDays: 30, maxDays: 90 } });
writeFileSync(join(dir, 'fleetpki-bodies.json'), JSON.stringify(csrPems.map((pem) => JSON.stringify({ csr: Buffer.from(pem).toString('base64') }))));

// 2. cfssl: `cfssl serve` with an EC P-256 CA (made with openssl) and a client-certificate profile.
const ssl = (args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
ssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'cfssl-ca.key.pem']);
writeFileSync(join(dir, 'ca.cnf'), '[req]\ndistinguished_name=dn\n[dn]\n[ext]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n');
ssl(['req', '-x509', '-new', '-key', 'cfssl-ca.key.pem', '-sha256', '-subj', '/CN=cfssl Bench CA', '-days', '365', '-config', 'ca.cnf', '-extensions', 'ext', '-out', 'cfssl-ca.crt.pem']);
writeFileSync(join(dir, 'cfssl.json'), JSON.stringify({ signing: { default: { expiry: '720h', usages: ['digital signature', 'client auth'] } } }));
const { child: cfssl, url: cfsslUrl } = await startCfssl('cfssl serve');
writeFileSync(join(dir, 'cfssl-bodies.json'), JSON.stringify(csrPems.map((pem) => JSON.stringify({ certificate_request: pem }))));

// 2b. The like-for-like cfssl: the same signer with its certificate database (cfssl's certdb on
// SQLite, the schema of its migration 001), so that it too records every certificate before it
// answers, as fleetpki does.
{
  const { default: Database } = await import('better-sqlite3');
  const certdb = new Database(join(dir, 'cfssl-certs.db'));
  certdb.exec(`CREATE TABLE certificates (serial_number blob NOT NULL, authority_key_identifier blob NOT NULL, ca_label blob, status blob NOT NULL, reason int,
    expiry timestamp, revoked_at timestamp, pem blob NOT NULL, PRIMARY KEY(serial_number, authority_key_identifier));
    CREATE TABLE ocsp_responses (serial_number blob NOT NULL, authority_key_identifier blob NOT NULL, body blob NOT NULL, expiry timestamp,
    PRIMARY KEY(serial_number, authority_key_identifier), FOREIGN KEY(serial_number, authority_key_identifier) REFERENCES certificates(serial_number, authority_key_identifier));`);
  certdb.close();
}
writeFileSync(join(dir, 'cfssl-db.json'), JSON.stringify({ driver: 'sqlite3', data_source: join(dir, 'cfssl-certs.db') }));
const { child: cfsslDb, url: cfsslDbUrl } = await startCfssl('cfssl serve with its certdb', ['-db-config', join(dir, 'cfssl-db.json')]);

// 3. Bare Node: the same CSRs and bodies as fleetpki's, no API key.
const barePort = await freePort();
const bare = spawn(process.execPath, [join(here, 'pki-bare-server.mjs'), String(barePort), String(WORKERS)], { stdio: ['ignore', 'ignore', 'inherit'] });
children.push(bare);
const bareUrl = `http://127.0.0.1:${barePort}/`;
const firstBody = JSON.parse(readFileSync(join(dir, 'fleetpki-bodies.json'), 'utf8'))[0];
await waitUntilUp('the bare Node server', () => fetch(bareUrl, { method: 'POST', body: firstBody }).then((r) => r.status === 201));

const targets = {
  fleetpki: { pid: serve.pid, url: `${fleetUrl}/v1/projects/bench/pki/issue`, bodies: join(dir, 'fleetpki-bodies.json'), headers: { 'x-api-key': adminKey } },
  cfssl: { pid: cfssl.pid, url: `${cfsslUrl}/api/v1/cfssl/sign`, bodies: join(dir, 'cfssl-bodies.json'), headers: {} },
  bare: { pid: bare.pid, url: bareUrl, bodies: join(dir, 'fleetpki-bodies.json'), headers: {} },
  cfsslDb: { pid: cfsslDb.pid, url: `${cfsslDbUrl}/api/v1/cfssl/sign`, bodies: join(dir, 'cfssl-bodies.json'), headers: {} },
};

function runLoad(target, ms) {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [join(here, 'pki-load.mjs'), target.url, target.bodies, JSON.stringify(target.headers), String(CONCURRENCY), String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.once('exit', (code) => (code === 0 ? done(JSON.parse(out)) : reject(new Error(`load exited ${code}`))));
  });
}

async function round(name, ms = ROUND_MS) {
  const target = targets[name];
  const ticks = treeTicks(target.pid);
  const results = await Promise.all(Array.from({ length: LOAD_PROCESSES }, () => runLoad(target, ms)));
  const cpuMs = ((treeTicks(target.pid) - ticks) * 1000) / CLK_TCK;
  const completed = results.reduce((n, r) => n + r.completed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  if (failed > 0) throw new Error(`${name}: ${failed} requests failed, e.g. ${results.find((r) => r.firstError)?.firstError}`);
  const elapsed = Math.max(...results.map((r) => r.ms));
  return { rate: (completed * 1000) / elapsed, cpuUs: (cpuMs * 1000) / completed, completed };
}

const warmUp = await round('fleetpki', 1000); // warm-up: JIT, caches, the CA opened in every worker
await round('cfssl', 1000);
await round('bare', 1000);
await round('cfsslDb', 1000);
const rounds = { fleetpki: [], cfssl: [], bare: [], cfsslDb: [] };
const orders = [
  ['cfssl', 'fleetpki', 'bare', 'cfsslDb'],
  ['fleetpki', 'bare', 'cfsslDb', 'cfssl'],
  ['bare', 'cfsslDb', 'cfssl', 'fleetpki'],
  ['cfsslDb', 'cfssl', 'fleetpki', 'bare'],
];
for (let i = 0; i < ROUNDS; i++) {
  for (const name of orders[i % orders.length]) rounds[name].push(await round(name));
}
const answered = warmUp.completed + rounds.fleetpki.reduce((n, r) => n + r.completed, 0);
const rate = (name) => median(rounds[name].map((r) => r.rate));
const cpu = (name) => median(rounds[name].map((r) => r.cpuUs));
const ratios = rounds.fleetpki.map((r, i) => r.rate / rounds.cfssl[i].rate);
const bareRatios = rounds.bare.map((r, i) => r.rate / rounds.cfssl[i].rate);
const ofBare = rounds.fleetpki.map((r, i) => r.rate / rounds.bare[i].rate);
const ofCfsslDb = rounds.fleetpki.map((r, i) => r.rate / rounds.cfsslDb[i].rate);
const f = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
console.log(`integrated PKI benchmark: ${ROUNDS} interleaved rounds of ${ROUND_MS} ms, ${LOAD_PROCESSES} load processes x ${CONCURRENCY} keep-alive connections, the same ${CSR_COUNT} P-256 CSRs, ${availableParallelism()} cores shared by servers and load; medians`);
console.log(`  cfssl serve /api/v1/cfssl/sign (baseline):            ${f(rate('cfssl'))} certificates/s, ${f(cpu('cfssl'))} µs server CPU per certificate`);
console.log(`  cfssl serve + its certdb (SQLite; records every certificate): ${f(rate('cfsslDb'))} certificates/s, ${f(cpu('cfsslDb'))} µs server CPU per certificate`);
console.log(`  bare Node http + @fleetpki/pki crypto (no key, store, log; ${WORKERS} worker(s)): ${f(rate('bare'))} certificates/s, ${f(cpu('bare'))} µs server CPU per certificate`);
console.log(`  fleetpki POST …/pki/issue (--workers ${WORKERS}, SQLite):      ${f(rate('fleetpki'))} certificates/s, ${f(cpu('fleetpki'))} µs server CPU per certificate`);
console.log(`  fleetpki / cfssl: ${f(median(ratios), 2)} (per round: ${ratios.map((r) => f(r, 2)).join(', ')}; goal >= 1.0, stretch 1.2)`);
console.log(`  bare Node / cfssl: ${f(median(bareRatios), 2)} (per round: ${bareRatios.map((r) => f(r, 2)).join(', ')}): Node ${process.versions.node}, OpenSSL ${process.versions.openssl}`);
console.log(`  fleetpki / cfssl with its certdb (both record before answering): ${f(median(ofCfsslDb), 2)} (per round: ${ofCfsslDb.map((r) => f(r, 2)).join(', ')})`);
console.log(`  fleetpki / bare Node: ${f(median(ofBare), 2)} (per round: ${ofBare.map((r) => f(r, 2)).join(', ')}): what the API key, record, audit and log cost`);
serve.kill('SIGTERM');
cfssl.kill('SIGTERM');
cfsslDb.kill('SIGTERM');
bare.kill('SIGTERM');
await new Promise((r) => serve.once('exit', r));
// Every certificate answered was recorded before its answer: count them in the store.
const { default: Database } = await import('better-sqlite3');
const store = new Database(join(dir, 'data', 'fleetpki.sqlite'), { readonly: true });
const recorded = store.prepare("SELECT count(*) AS n FROM issued_certificates WHERE channel = 'api'").get().n;
store.close();
console.log(`  ${f(recorded)} certificates recorded in the store for ${f(answered)} answered by fleetpki${recorded === answered ? '' : '  <-- MISMATCH'}`);
process.exit(recorded === answered ? 0 : 1);
