// Renewal benchmark (issue 17): prints, in one run against one `fleetpki serve` (SQLite, a
// generated managed CA),
//   1. rotations/s through POST /v1/csr on the HTTPS gateway: each load connection is a device on
//      its own mutual-TLS keep-alive connection, posting a new P-256 CSR per request (the
//      certificate is issued to the device the connection authenticated, recorded, audited, and
//      entered in the inventory);
//   2. certificates/s through the management API's POST …/pki/issue, the same CSRs over
//      keep-alive HTTP with the admin key (the baseline: the same issuance pipeline);
//   3. their ratio (goal >= 0.8), and the server CPU per certificate of each.
// The load generators are separate processes. Rounds are interleaved; medians.
import { spawn } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as pki from '../packages/pki/dist/src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 3000);
const LOAD_PROCESSES = 2;
const CONCURRENCY = 16;
const DEVICES = LOAD_PROCESSES * CONCURRENCY;
const CSRS_PER_DEVICE = 8;
const CLK_TCK = 100;
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

const dir = mkdtempSync(join(tmpdir(), 'fleetpki-bench-renewal-'));
let serve;
process.on('exit', () => {
  serve?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});
const cpuTicks = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
};

serve = spawn(process.execPath, [resolve(here, '../packages/cli/bin/fleetpki.js'), 'serve', '--data-dir', dir, '--http-port', '0', '--gateway-port', '0', '--mqtt-port', '0', '--coap-port', '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
const urls = await new Promise((resolveUrls, reject) => {
  let gateway;
  serve.once('exit', (code) => reject(new Error(`fleetpki serve exited ${code}`)));
  createInterface({ input: serve.stdout }).on('line', (line) => {
    try {
      const l = JSON.parse(line);
      if (l.msg === 'device gateway listening') gateway = l.url;
      if (l.msg === 'management API listening') resolveUrls({ api: l.url, gateway });
    } catch {
      /* not JSON */
    }
  });
});
serve.stdout.resume();
const adminKey = readFileSync(join(dir, 'admin-api-key'), 'utf8').trim();
const api = async (method, path, body) => {
  const r = await fetch(`${urls.api}${path}`, { method, headers: { 'x-api-key': adminKey, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
};
await api('POST', '/v1/projects', { name: 'Bench', slug: 'bench' });
await api('POST', '/v1/projects/bench/pki/cas', { mode: 'generate', profile: { defaultDays: 30, maxDays: 90 } });

// The devices: a certificate each from the managed CA, and new CSRs to rotate with.
const csrFor = (certificateId) => pki.createCsr(pki.deviceSubject('bench', certificateId), pki.generateKeyPair({ kind: 'ec', curve: 'P-256' }).privateKey);
const pool = [];
const issueBodies = [];
for (let i = 0; i < DEVICES; i++) {
  const keys = pki.generateEncodedKeyPair({ kind: 'ec', curve: 'P-256' });
  const key = createPrivateKey({ key: keys.privateKeyDer, format: 'der', type: 'sec1' });
  const issued = await api('POST', '/v1/projects/bench/pki/issue', { csr: Buffer.from(pki.encodePem('CERTIFICATE REQUEST', pki.createCsr(pki.deviceSubject('bench', `unit-${i}`), key))).toString('base64') });
  const csrs = Array.from({ length: CSRS_PER_DEVICE }, () => csrFor(`unit-${i}`));
  pool.push(JSON.stringify([issued.certificate, key.export({ type: 'sec1', format: 'pem' }), ...csrs.map((der) => der.toString('base64'))]));
  for (const der of csrs) issueBodies.push(JSON.stringify({ csr: Buffer.from(pki.encodePem('CERTIFICATE REQUEST', der)).toString('base64') }));
}
writeFileSync(join(dir, 'devices.jsonl'), `${pool.join('\n')}\n`);
writeFileSync(join(dir, 'issue-bodies.json'), JSON.stringify(issueBodies));
const serverCa = join(dir, 'platform-root-ca.crt.pem');

const targets = {
  rotate: ['rotate', urls.gateway, join(dir, 'devices.jsonl'), serverCa],
  issue: ['issue', `${urls.api}/v1/projects/bench/pki/issue`, join(dir, 'issue-bodies.json'), adminKey],
};
function runLoad(args, ms) {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [join(here, 'renewal-load.mjs'), ...args, String(CONCURRENCY), String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.once('exit', (code) => (code === 0 ? done(JSON.parse(out)) : reject(new Error(`load exited ${code}`))));
  });
}
async function round(name, ms = ROUND_MS) {
  const ticks = cpuTicks(serve.pid);
  const results = await Promise.all(Array.from({ length: LOAD_PROCESSES }, () => runLoad(targets[name], ms)));
  const cpuMs = ((cpuTicks(serve.pid) - ticks) * 1000) / CLK_TCK;
  const completed = results.reduce((n, r) => n + r.completed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  if (failed > 0) throw new Error(`${name}: ${failed} requests failed, e.g. ${results.find((r) => r.firstError)?.firstError}`);
  return { rate: (completed * 1000) / Math.max(...results.map((r) => r.ms)), cpuUs: (cpuMs * 1000) / completed };
}

await round('issue', 1000); // warm-up
await round('rotate', 1000);
const rounds = { issue: [], rotate: [] };
for (let i = 0; i < ROUNDS; i++) {
  for (const name of i % 2 === 0 ? ['issue', 'rotate'] : ['rotate', 'issue']) rounds[name].push(await round(name));
}
const ratios = rounds.rotate.map((r, i) => r.rate / rounds.issue[i].rate);
const rate = (name) => median(rounds[name].map((r) => r.rate));
const cpu = (name) => median(rounds[name].map((r) => r.cpuUs));
const inventory = await api('GET', '/v1/projects/bench/device-certificates?perPage=1');
const f = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
console.log(`renewal benchmark: ${ROUNDS} interleaved rounds of ${ROUND_MS} ms, ${LOAD_PROCESSES} load processes x ${CONCURRENCY} keep-alive connections, P-256 keys, one fleetpki serve (SQLite), medians`);
console.log(`  POST …/pki/issue (management API, admin key):        ${f(rate('issue'))} certificates/s, ${f(cpu('issue'))} µs server CPU per certificate`);
console.log(`  POST /v1/csr (gateway, each connection a device, mTLS): ${f(rate('rotate'))} rotations/s, ${f(cpu('rotate'))} µs server CPU per rotation`);
console.log(`  rotation / issue: ${f(median(ratios), 2)} (per round: ${ratios.map((r) => f(r, 2)).join(', ')}; goal >= 0.80); the inventory then held ${f(inventory.total)} certificates`);
process.exit(0);
