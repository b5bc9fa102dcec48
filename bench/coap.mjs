// CoAP/DTLS benchmark (issue "CoAP over DTLS 1.2"): prints, in one run against one `fleetpki
// serve` process, full DTLS 1.2 handshakes per second on the CoAP port (a fresh session from a
// fresh UDP port each time: handshake with the device certificate, the identity check on an
// existing device, one CoAP GET /v1/device/identity, close_notify) against full mTLS handshakes
// per second on the HTTPS gateway (fresh connection, client certificate, the same identity check,
// one GET, close), their ratio (goal >= 0.8), and the server CPU time per handshake of each.
// Same device certificate and key (P-256), same server key, ECDHE-ECDSA on both. The server and
// the load generators are separate processes; rounds are interleaved; medians.
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
const CLK_TCK = 100; // Linux USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

const dir = mkdtempSync(join(tmpdir(), 'fleetpki-bench-coap-'));
const children = [];
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const cpuTicks = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
};

function runLoad(script, args) {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [join(here, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.once('exit', (code) => (code === 0 ? resolveRun(JSON.parse(out)) : reject(new Error(`${script} exited ${code}`))));
  });
}

// The server: `fleetpki serve` on SQLite with every transport on a free port.
const server = spawn(process.execPath, [resolve(here, '../packages/cli/bin/fleetpki.js'), 'serve', '--data-dir', dir, '--http-port', '0', '--gateway-port', '0', '--mqtt-port', '0', '--coap-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
children.push(server);
server.stderr.resume(); // the one-time admin key message; the bench reads the key from its file
const urls = await new Promise((resolveStart, reject) => {
  server.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
  let gateway;
  createInterface({ input: server.stdout }).on('line', (line) => {
    try {
      const l = JSON.parse(line);
      if (l.msg === 'device gateway listening') gateway = { https: l.url, coap: l.coap };
      if (l.msg === 'management API listening') resolveStart({ api: l.url, ...gateway });
    } catch {
      /* not JSON */
    }
  });
});
const adminKey = readFileSync(join(dir, 'admin-api-key'), 'utf8').trim();
const api = (method, path, body) =>
  fetch(`${urls.api}${path}`, { method, headers: { 'x-api-key': adminKey, 'content-type': 'application/json' }, body: body && JSON.stringify(body) }).then((r) => r.json());
const now = new Date();
const caKeys = pki.generateKeyPair({ kind: 'ec', curve: 'P-256' });
const caDer = pki.createSelfSignedCa({ subject: pki.parseSubjectString('/CN=Bench Fleet CA'), privateKey: caKeys.privateKey, validity: pki.validityForDays(now, 365) }).der;
const pair = pki.generateEncodedKeyPair({ kind: 'ec', curve: 'P-256' });
const deviceDer = pki.issueDeviceCertificate(pki.prepareIssuer(pki.parseCertificate(caDer), caKeys.privateKey), pki.deviceSubject('bench', 'device-1'), pair.publicKey, pki.validityForDays(now, 30)).der;
const files = { cert: join(dir, 'device.crt.pem'), key: join(dir, 'device.key.pem'), ca: join(dir, 'platform-root-ca.crt.pem') };
writeFileSync(files.cert, pki.encodePem('CERTIFICATE', deviceDer));
writeFileSync(files.key, createPrivateKey({ key: pair.privateKeyDer, format: 'der', type: 'sec1' }).export({ type: 'sec1', format: 'pem' }));
await api('POST', '/v1/projects', { name: 'Bench', slug: 'bench' });
await api('POST', '/v1/projects/bench/certificates', { certFile: Buffer.from(caDer).toString('base64') });

const targets = {
  https: { script: 'gateway-load.mjs', args: (ms) => ['handshakes', urls.https, files.cert, files.key, files.ca, String(CONCURRENCY), String(ms)] },
  coap: { script: 'coap-load.mjs', args: (ms) => ['handshakes', urls.coap, files.cert, files.key, String(CONCURRENCY), String(ms)] },
};
async function round(name, ms = ROUND_MS) {
  const target = targets[name];
  const ticks = cpuTicks(server.pid);
  const results = await Promise.all(Array.from({ length: LOAD_PROCESSES }, () => runLoad(target.script, target.args(ms))));
  const cpuMs = ((cpuTicks(server.pid) - ticks) * 1000) / CLK_TCK;
  const completed = results.reduce((n, r) => n + r.completed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  if (failed > 0) throw new Error(`${name}: ${failed} handshakes failed`);
  const elapsed = Math.max(...results.map((r) => r.ms));
  return { rate: (completed * 1000) / elapsed, cpuUsPerHandshake: (cpuMs * 1000) / completed };
}

// The device exists after its first connection: every measured handshake is the existing-device path.
const first = await runLoad('coap-load.mjs', ['handshakes', urls.coap, files.cert, files.key, '1', '200']);
if (first.completed === 0) throw new Error('the device cannot connect over CoAP');
await round('https', 1000); // warm-up
await round('coap', 1000);
const rounds = { https: [], coap: [] };
for (let i = 0; i < ROUNDS; i++) {
  for (const name of i % 2 === 0 ? ['https', 'coap'] : ['coap', 'https']) rounds[name].push(await round(name));
}
const rate = (name) => median(rounds[name].map((r) => r.rate));
const cpu = (name) => median(rounds[name].map((r) => r.cpuUsPerHandshake));
const ratios = rounds.coap.map((r, i) => r.rate / rounds.https[i].rate);
const f = (n, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
console.log(`CoAP/DTLS benchmark: ${ROUNDS} interleaved rounds of ${ROUND_MS} ms, ${LOAD_PROCESSES} load processes x ${CONCURRENCY} sessions, P-256 device and server keys, one fleetpki serve process, medians`);
console.log(`  HTTPS gateway, full mTLS handshakes + identity check + GET: ${f(rate('https'))}/s (server CPU ${f(cpu('https'))} µs per handshake)`);
console.log(`  CoAP over DTLS 1.2, full handshakes + identity check + CoAP GET: ${f(rate('coap'))}/s (server CPU ${f(cpu('coap'))} µs per handshake)`);
console.log(`  CoAP / HTTPS: ${f(median(ratios), 2)} (per round: ${ratios.map((r) => f(r, 2)).join(', ')}; goal >= 0.80)`);
process.exit(0);
