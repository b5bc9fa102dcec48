// Metrics benchmark (issue 18): how long `GET /metrics` takes on a large store — 100 projects,
// 10,000 CA certificates, 1,000,000 devices (goal: under 100 ms) — against `GET /healthz` on the
// same server in the same run (the baseline: a request that reads nothing). One `fleetpki
// serve` (SQLite); the store is filled directly (a bulk insert, not the API) after its first start.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const BetterSqlite3 = createRequire(resolve(here, '../packages/server/package.json'))('better-sqlite3');
const PROJECTS = Number(process.env.BENCH_PROJECTS ?? 100);
const CAS = Number(process.env.BENCH_CAS ?? 10_000);
const DEVICES = Number(process.env.BENCH_DEVICES ?? 1_000_000);
const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 21);
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

const dir = mkdtempSync(join(tmpdir(), 'fleetpki-bench-metrics-'));
let child;
process.on('exit', () => {
  child?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function serve() {
  child = spawn(process.execPath, [resolve(here, '../packages/cli/bin/fleetpki.js'), 'serve', '--data-dir', dir, '--http-port', '0', '--gateway-port', '0', '--mqtt-port', '0', '--coap-port', '0', '--drain-seconds', '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolveUrl, reject) => {
    child.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'management API listening') resolveUrl(entry.url);
      } catch {
        /* not JSON */
      }
    });
  });
}
async function stop() {
  child.removeAllListeners('exit');
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

await serve(); // migrations, platform keys, the admin key
await stop();
const fillStarted = performance.now();
const db = new BetterSqlite3(join(dir, 'fleetpki.sqlite'));
db.pragma('journal_mode = WAL');
const now = new Date().toISOString();
const insertProject = db.prepare("INSERT INTO projects (id, slug, name, created_at, updated_at, settings) VALUES (?, ?, ?, ?, ?, '{}')");
const insertCa = db.prepare("INSERT INTO ca_certificates (id, project_id, cert_type, enabled, der, fingerprint_sha256, subject, not_after, content, created_at, updated_at, purpose) VALUES (?, ?, 'root', 1, x'00', ?, ?, ?, '{}', ?, ?, 'device')");
const insertDevice = db.prepare("INSERT INTO devices (id, project_id, name, certificate_id, enabled, provisioning, created_at, updated_at) VALUES (?, ?, ?, ?, 1, 'pre-provisioned', ?, ?)");
db.transaction(() => {
  const projects = Array.from({ length: PROJECTS }, (_, p) => {
    const id = randomUUID();
    insertProject.run(id, `bench-${p}`, `Bench ${p}`, now, now);
    return id;
  });
  for (let c = 0; c < CAS; c++) insertCa.run(randomUUID(), projects[c % PROJECTS], randomUUID().replaceAll('-', '') + randomUUID().replaceAll('-', ''), `/CN=Bench CA ${c}`, new Date(Date.now() + (c + 1) * 3_600_000).toISOString(), now, now);
  for (let d = 0; d < DEVICES; d++) insertDevice.run(randomUUID(), projects[d % PROJECTS], `device-${d}`, `device-${d}`, now, now);
})();
db.close();
const fillMs = performance.now() - fillStarted;

const url = await serve();
const key = readFileSync(join(dir, 'admin-api-key'), 'utf8').trim();
async function timed(path, headers = {}) {
  const started = performance.now();
  const response = await fetch(`${url}${path}`, { headers });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${body.slice(0, 200)}`);
  return { ms: performance.now() - started, bytes: body.length, body };
}
await timed('/metrics', { 'x-api-key': key }); // warm-up
const scrapes = [];
const health = [];
for (let i = 0; i < SCRAPES; i++) {
  scrapes.push(await timed('/metrics', { 'x-api-key': key }));
  health.push((await timed('/healthz')).ms);
}
const last = scrapes.at(-1);
const caSeries = last.body.split('\n').filter((l) => l.startsWith('fleetpki_ca_certificate_expiry_timestamp_seconds{')).length;
await stop();
const f = (n, d = 1) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
console.log(`metrics benchmark: ${PROJECTS} projects, ${CAS.toLocaleString('en-US')} CA certificates, ${DEVICES.toLocaleString('en-US')} devices in the store (filled in ${f(fillMs / 1000)} s), ${SCRAPES} scrapes, medians`);
console.log(`  GET /healthz (baseline):  ${f(median(health), 2)} ms`);
console.log(`  GET /metrics:             ${f(median(scrapes.map((s) => s.ms)), 1)} ms (${f(last.bytes / 1024, 0)} KiB, ${caSeries.toLocaleString('en-US')} CA expiry series; goal < 100 ms)`);
console.log(`  /metrics / /healthz: ${f(median(scrapes.map((s) => s.ms)) / median(health), 1)}`);
process.exit(0);
