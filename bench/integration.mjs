// Integration benchmark (issue 20): prints, in one run,
//  (1) device handshakes/s through Debian's nginx terminating mTLS with the documented
//      forward-auth configuration (docs/forward-auth.md; nginx answers itself where the
//      documentation proxies to the customer's service, so no third process is timed), against the
//      HTTPS gateway alone answering GET /v1/device/identity, both on the same 2 cores: fleetpki with
//      `--workers 2` in both, nginx with 2 worker processes. Each request a fresh connection and a
//      full handshake; the ratio and the server CPU per authentication (every process of the
//      serving side: nginx's and fleetpki's);
//  (2) device tokens/s (POST /v1/token) against identity answers/s (GET /v1/device/identity), both
//      over mTLS on held connections (the handshake paid once, before the clock);
//  (3) signed webhook deliveries/s to a local receiver that checks every signature: BENCH_EVENTS
//      audit events committed at once (copies of a real device.create row), timed until the
//      receiver has every one.
// Servers, receiver and load generators are separate processes; rounds are interleaved; medians.
import { spawn } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import * as pki from '../packages/pki/dist/src/index.js';
import { freePort, median, processTree, treeCpuTicks, CLK_TCK } from './support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = resolve(here, '../packages/cli/bin/fleetpki.js');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 4000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const WORKERS = 2;
const LOAD_PROCESSES = 2;
const CONCURRENCY = 16;
const AUDIENCE = 'https://api.bench.example';
const NGINX = '/usr/sbin/nginx';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const f = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const log = (line) => process.stderr.write(`bench:integration: ${line}\n`);

const dir = mkdtempSync(join(tmpdir(), 'fleetpki-bench-integration-'));
const children = [];
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) for (const pid of processTree(child.pid).reverse()) killQuietly(pid);
  rmSync(dir, { recursive: true, force: true });
});
function killQuietly(pid) {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/** Starts a process and resolves once its stdout has said `ready` as many times as asked. */
function startProcess(command, args, { ready, times = 1 }) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let errors = '';
  child.stderr.on('data', (c) => (errors = (errors + c).slice(-4000)));
  return new Promise((resolveStart, reject) => {
    let seen = 0;
    child.once('exit', (code) => reject(new Error(`${args.slice(-4).join(' ')} exited ${code}: ${errors}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.includes(ready) && ++seen === times) resolveStart(child);
    });
  });
}

// fleetpki: SQLite, --workers 2, the forward-auth listener, webhooks allowed to reach loopback.
const ports = { http: await freePort(), gateway: await freePort(), mqtt: await freePort(), coap: await freePort(), forwardAuth: await freePort(), nginx: await freePort(), receiver: await freePort() };
const dataDir = join(dir, 'data');
const fleetpki = await startProcess(
  process.execPath,
  [CLI, 'serve', '--data-dir', dataDir, '--http-port', String(ports.http), '--gateway-port', String(ports.gateway), '--mqtt-port', String(ports.mqtt), '--coap-port', String(ports.coap), '--forward-auth-port', String(ports.forwardAuth), '--allow-private-webhooks', '--workers', String(WORKERS), '--drain-seconds', '0'],
  { ready: 'device gateway listening', times: WORKERS },
);
const apiUrl = `http://127.0.0.1:${ports.http}`;
const gatewayUrl = `https://127.0.0.1:${ports.gateway}`;
const adminKey = readFileSync(join(dataDir, 'admin-api-key'), 'utf8').trim();
async function api(method, path, body) {
  const response = await fetch(`${apiUrl}${path}`, { method, headers: { 'x-api-key': adminKey, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
  const answer = await response.json().catch(() => ({}));
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

// The project, its CA, one device, and the audience its tokens are for.
const now = new Date();
const caKeys = pki.generateKeyPair({ kind: 'ec', curve: 'P-256' });
const caDer = pki.createSelfSignedCa({ subject: pki.parseSubjectString('/CN=Bench Integration CA'), privateKey: caKeys.privateKey, validity: pki.validityForDays(now, 365) }).der;
const pair = pki.generateEncodedKeyPair({ kind: 'ec', curve: 'P-256' });
const deviceDer = pki.issueDeviceCertificate(pki.prepareIssuer(pki.parseCertificate(caDer), caKeys.privateKey), pki.deviceSubject('bench', 'device-1'), pair.publicKey, pki.validityForDays(now, 30)).der;
const files = { cert: join(dir, 'device.crt.pem'), key: join(dir, 'device.key.pem'), ca: join(dir, 'server-ca.pem') };
writeFileSync(files.cert, pki.encodePem('CERTIFICATE', deviceDer));
writeFileSync(files.key, createPrivateKey({ key: pair.privateKeyDer, format: 'der', type: 'sec1' }).export({ type: 'sec1', format: 'pem' }));
writeFileSync(files.ca, await (await fetch(`${apiUrl}/v1/server-ca`)).text());
await api('POST', '/v1/projects', { name: 'Bench', slug: 'bench' });
await api('POST', '/v1/projects/bench/certificates', { certFile: Buffer.from(caDer).toString('base64') });
await api('PATCH', '/v1/projects/bench', { settings: { tokenAudiences: [AUDIENCE] } });

// nginx with the documented block; where it proxies to the customer's service, it answers itself.
const block = /^```nginx\n([\s\S]*?)^```$/m.exec(readFileSync(resolve(here, '../docs/forward-auth.md'), 'utf8'))[1];
const site = block
  .replaceAll('__LISTEN_PORT__', `127.0.0.1:${ports.nginx}`)
  .replaceAll('__CERT__', join(dataDir, 'server.crt.pem'))
  .replaceAll('__KEY__', join(dataDir, 'server.key.pem'))
  .replaceAll('__FORWARD_AUTH__', `127.0.0.1:${ports.forwardAuth}`)
  .split('\n')
  .filter((line) => !line.includes('__FORWARD_AUTH_SECRET__')) // no shared secret: loopback
  .join('\n')
  .replace(/proxy_pass http:\/\/__UPSTREAM__;/, 'return 200 "$fleetpki_device\\n";');
if (/__[A-Z_]+__/.test(site) || !site.includes('return 200')) throw new Error('docs/forward-auth.md: the nginx block changed shape; update bench/integration.mjs');
const prefix = join(dir, 'nginx');
mkdirSync(join(prefix, 'logs'), { recursive: true });
const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${join(prefix, kind)};`).join('\n');
writeFileSync(
  join(prefix, 'nginx.conf'),
  `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes ${WORKERS};\nerror_log ${join(prefix, 'logs/error.log')} warn;\nevents { worker_connections 4096; }\nhttp {\n  access_log off;\n${temp}\n${site}\n}\n`,
);
const nginx = spawn(NGINX, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', `daemon off; pid ${join(prefix, 'nginx.pid')};`], { stdio: 'ignore' });
children.push(nginx);
const nginxUrl = `https://127.0.0.1:${ports.nginx}`;

function runLoad(args) {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [join(here, 'integration-load.mjs'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.once('exit', (code) => (code === 0 ? resolveRun(JSON.parse(out)) : reject(new Error(`load exited ${code}`))));
  });
}

/** One round of LOAD_PROCESSES load generators; rate, failures and CPU of the serving processes. */
async function round(servingPids, args) {
  const ticks = servingPids.reduce((sum, pid) => sum + treeCpuTicks(pid), 0);
  const results = await Promise.all(Array.from({ length: LOAD_PROCESSES }, () => runLoad(args)));
  const cpuMs = ((servingPids.reduce((sum, pid) => sum + treeCpuTicks(pid), 0) - ticks) * 1000) / CLK_TCK;
  const completed = results.reduce((n, r) => n + r.completed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  if (failed > 0 || completed === 0) throw new Error(`${args.slice(0, 3).join(' ')}: ${failed} failed, ${completed} completed`);
  return { rate: (completed * 1000) / Math.max(...results.map((r) => r.ms)), cpuUs: (cpuMs * 1000) / completed };
}

// (1) Fresh handshakes: through nginx + forward-auth, and the gateway alone.
const handshakes = {
  nginx: () => round([nginx.pid, fleetpki.pid], ['handshakes', nginxUrl, '/', files.cert, files.key, files.ca, String(CONCURRENCY), String(ROUND_MS)]),
  gateway: () => round([fleetpki.pid], ['handshakes', gatewayUrl, '/v1/device/identity', files.cert, files.key, files.ca, String(CONCURRENCY), String(ROUND_MS)]),
};
// (2) Tokens and identity answers: each on a fresh connection (a device that wakes, connects and
// asks), and on held connections (the handshake paid once: the signature is all the difference).
const tokenBody = `grant_type=client_credentials&audience=${encodeURIComponent(AUDIENCE)}`;
const fresh = {
  tokens: () => round([fleetpki.pid], ['handshakes', gatewayUrl, '/v1/token', files.cert, files.key, files.ca, String(CONCURRENCY), String(ROUND_MS), 'POST', tokenBody, 'application/x-www-form-urlencoded']),
  identity: () => round([fleetpki.pid], ['handshakes', gatewayUrl, '/v1/device/identity', files.cert, files.key, files.ca, String(CONCURRENCY), String(ROUND_MS)]),
};
const held = {
  tokens: () => round([fleetpki.pid], ['requests', gatewayUrl, '/v1/token', 'POST', files.cert, files.key, files.ca, String(CONCURRENCY), String(ROUND_MS), tokenBody, 'application/x-www-form-urlencoded']),
  identity: () => round([fleetpki.pid], ['requests', gatewayUrl, '/v1/device/identity', 'GET', files.cert, files.key, files.ca, String(CONCURRENCY), String(ROUND_MS)]),
};
async function interleaved(pair) {
  const names = Object.keys(pair);
  const results = Object.fromEntries(names.map((n) => [n, []]));
  for (const name of names) await pair[name](); // warm-up
  for (let i = 0; i < ROUNDS; i++) for (const name of i % 2 === 0 ? names : [...names].reverse()) results[name].push(await pair[name]());
  return results;
}
await sleep(500); // nginx's workers up
const hs = await interleaved(handshakes);
log(`handshakes: nginx ${hs.nginx.map((r) => f(r.rate)).join(', ')}; gateway ${hs.gateway.map((r) => f(r.rate)).join(', ')}`);
const tf = await interleaved(fresh);
log(`fresh: tokens ${tf.tokens.map((r) => f(r.rate)).join(', ')}; identity ${tf.identity.map((r) => f(r.rate)).join(', ')}`);
const tk = await interleaved(held);
log(`held: tokens ${tk.tokens.map((r) => f(r.rate)).join(', ')}; identity ${tk.identity.map((r) => f(r.rate)).join(', ')}`);

// (3) Webhook deliveries: a receiver that verifies every signature, EVENTS events at once.
await startProcess(process.execPath, [join(here, 'integration-receiver.mjs'), String(ports.receiver)], { ready: 'listening' });
const webhook = await api('POST', '/v1/projects/bench/webhooks', { url: `http://127.0.0.1:${ports.receiver}/hook`, events: ['device.created'] });
const control = (text) => fetch(`http://127.0.0.1:${ports.receiver}/control`, { method: 'POST', body: text }).then((r) => r.json());
await control(JSON.stringify({ secret: webhook.secret }));
// A real event first: its audit row is the model the rest are copies of.
await api('POST', '/v1/projects/bench/devices', { name: 'model-device' });
for (let waited = 0; (await control('{}')).received < 1; waited += 100) {
  if (waited > 30_000) throw new Error('the first webhook delivery did not arrive');
  await sleep(100);
}
const db = new Database(join(dataDir, 'fleetpki.sqlite'));
db.pragma('busy_timeout = 10000');
const model = db.prepare(`SELECT * FROM audit_events WHERE action = 'device.create' ORDER BY id DESC LIMIT 1`).get();
const deliveryRounds = [];
for (let r = 0; r < ROUNDS; r++) {
  await control(JSON.stringify({ reset: true }));
  const insert = db.prepare('INSERT INTO audit_events (project_id, actor, action, target_type, target_id, details, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const at = new Date().toISOString();
  const ticks = treeCpuTicks(fleetpki.pid);
  const started = performance.now();
  db.transaction(() => {
    for (let i = 0; i < EVENTS; i++) insert.run(model.project_id, model.actor, model.action, model.target_type, `bench-${r}-${i}`, model.details, at);
  })();
  let state;
  for (;;) {
    state = await control('{}');
    if (state.received >= EVENTS) break;
    if (performance.now() - started > 300_000) throw new Error(`only ${state.received} of ${EVENTS} deliveries in 300 s`);
    await sleep(50);
  }
  const cpuMs = ((treeCpuTicks(fleetpki.pid) - ticks) * 1000) / CLK_TCK;
  if (state.badSignatures > 0) throw new Error(`${state.badSignatures} deliveries failed signature verification`);
  // From the events' commit to the receiver holding the last of them (it is polled every 50 ms).
  const seconds = (performance.now() - started) / 1000;
  deliveryRounds.push({ rate: state.received / seconds, cpuUs: (cpuMs * 1000) / state.received });
  log(`webhooks round ${r + 1}: ${f(state.received)} delivered (${state.duplicates} delivered twice) in ${f(seconds, 2)} s`);
}
db.close();

const rate = (rs) => median(rs.map((r) => r.rate));
const cpu = (rs) => median(rs.map((r) => r.cpuUs));
const hsRatios = hs.nginx.map((r, i) => r.rate / hs.gateway[i].rate);
const tkRatios = tk.tokens.map((r, i) => r.rate / tk.identity[i].rate);
const tfRatios = tf.tokens.map((r, i) => r.rate / tf.identity[i].rate);
const deliveries = rate(deliveryRounds);
console.log(`bench:integration — ${new Date().toISOString().slice(0, 10)}, Node ${process.versions.node}, ${ROUNDS} interleaved rounds of ${ROUND_MS} ms, ${LOAD_PROCESSES}×${CONCURRENCY} clients, fleetpki --workers ${WORKERS} on SQLite`);
console.log('');
console.log('| what | rate/s (median) | server CPU µs per request |');
console.log('|---|---|---|');
console.log(`| fresh handshakes through nginx + forward-auth | ${f(rate(hs.nginx))} | ${f(cpu(hs.nginx))} |`);
console.log(`| fresh handshakes, HTTPS gateway alone | ${f(rate(hs.gateway))} | ${f(cpu(hs.gateway))} |`);
console.log(`| tokens over mTLS, a fresh connection each | ${f(rate(tf.tokens))} | ${f(cpu(tf.tokens))} |`);
console.log(`| identity answers over mTLS, a fresh connection each | ${f(rate(tf.identity))} | ${f(cpu(tf.identity))} |`);
console.log(`| tokens over mTLS, held connections | ${f(rate(tk.tokens))} | ${f(cpu(tk.tokens))} |`);
console.log(`| identity answers over mTLS, held connections | ${f(rate(tk.identity))} | ${f(cpu(tk.identity))} |`);
console.log(`| signed webhook deliveries (${f(EVENTS)} events at once, every signature checked) | ${f(deliveries)} | ${f(cpu(deliveryRounds))} |`);
console.log('');
console.log(`nginx + forward-auth ÷ gateway alone: ${hsRatios.map((x) => f(x, 2)).join(', ')} (median ${f(median(hsRatios), 2)}; goal ≥ 1.0)`);
console.log(`tokens ÷ identity answers, fresh connections: ${tfRatios.map((x) => f(x, 2)).join(', ')} (median ${f(median(tfRatios), 2)}; goal ≥ 0.9)`);
console.log(`tokens ÷ identity answers, held connections: ${tkRatios.map((x) => f(x, 2)).join(', ')} (median ${f(median(tkRatios), 2)}; goal ≥ 0.9)`);
console.log(`webhook deliveries/s: ${deliveryRounds.map((r) => f(r.rate)).join(', ')} (median ${f(deliveries)}; goal ≥ 2,000)`);
process.exit(0);
