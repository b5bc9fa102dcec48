// Gateway benchmark (issue "Device gateway"): prints, in one run and with the same load
// generator, certificates and TLS settings,
//  1. full new mTLS handshakes per second (no resumption; each one a fresh connection, a client
//     certificate, one GET and close) against Node's bare HTTPS server that accepts any client
//     certificate, and against the gateway doing the whole identity check on an existing device;
//     their ratio, and the server CPU time per handshake of each;
//  2. the same with a certificate never seen before on every connection (first sightings: the
//     inventory records each, DESIGN §8), against the bare server driven the same way;
//  3. the resident memory per idle authenticated connection with 5,000 connections open, for
//     both and for the issue's own baseline, a bare Node `tls` server with Node's defaults.
// Both servers and the load generator are separate processes. Rounds are interleaved; medians.
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
const IDLE_CONNECTIONS = Number(process.env.BENCH_IDLE_CONNECTIONS ?? 5000);
const MEMORY_ROUNDS = Number(process.env.BENCH_MEMORY_ROUNDS ?? 3);
const WARM_UP_MS = 2000;
const CLK_TCK = 100; // Linux USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(join(tmpdir(), 'fleetpki-bench-gateway-'));
const children = [];
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a child and resolves with the first stdout JSON line `pick` accepts. */
function startChild(args, pick) {
  // stderr is kept, not shown: `serve` prints the admin key there, and the bench reads it from its file.
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stderr.resume();
  children.push(child);
  return new Promise((resolveStart, reject) => {
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const value = pick(JSON.parse(line));
        if (value) resolveStart({ child, ...value });
      } catch {
        /* not JSON */
      }
    });
  });
}

const cpuTicks = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
};
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

function runLoad(args) {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [join(here, 'gateway-load.mjs'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.once('exit', (code) => (code === 0 ? resolveRun(JSON.parse(out)) : reject(new Error(`load exited ${code}`))));
  });
}

// 1. The gateway: `fleetpki serve` on SQLite, a project, its CA, one existing device.
const GC_PRELOAD = ['--expose-gc', '--import', join(here, 'gc-on-signal.mjs')];
const startGateway = () => {
  let gatewayUrl;
  return startChild([...GC_PRELOAD, resolve(here, '../packages/cli/bin/fleetpki.js'), 'serve', '--data-dir', dir, '--http-port', '0', '--gateway-port', '0', '--mqtt-port', '0', '--coap-port', '0'], (l) => {
    if (l.msg === 'device gateway listening') gatewayUrl = l.url;
    return l.msg === 'management API listening' ? { api: l.url, url: gatewayUrl } : undefined;
  });
};
const gateway = await startGateway();
const adminKey = readFileSync(join(dir, 'admin-api-key'), 'utf8').trim();
const api = (method, path, body) =>
  fetch(`${gateway.api}${path}`, { method, headers: { 'x-api-key': adminKey, 'content-type': 'application/json' }, body: body && JSON.stringify(body) }).then((r) => r.json());
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
const first = await runLoad(['handshakes', gateway.url, files.cert, files.key, files.ca, '1', '200']);
if (first.completed === 0) throw new Error('the device cannot connect to the gateway');

// 2. The baseline: Node's bare HTTPS server with the same certificate and TLS settings.
const startBare = () => startChild([...GC_PRELOAD, join(here, 'gateway-bare-server.mjs'), join(dir, 'server.crt.pem'), join(dir, 'server.key.pem')], (l) => (l.url ? { url: l.url } : undefined));
const bare = await startBare();
const startStockTls = () => startChild([...GC_PRELOAD, join(here, 'gateway-stock-tls-server.mjs'), join(dir, 'server.crt.pem'), join(dir, 'server.key.pem')], (l) => (l.url ? { url: l.url } : undefined));

async function handshakeRound(target, durationMs = ROUND_MS) {
  const ticks = cpuTicks(target.child.pid);
  const results = await Promise.all(
    Array.from({ length: LOAD_PROCESSES }, () => runLoad(['handshakes', target.url, files.cert, files.key, files.ca, String(CONCURRENCY), String(durationMs)])),
  );
  const cpuMs = ((cpuTicks(target.child.pid) - ticks) * 1000) / CLK_TCK;
  const completed = results.reduce((n, r) => n + r.completed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  if (failed > 0) throw new Error(`${failed} handshakes failed`);
  const ms = Math.max(...results.map((r) => r.ms));
  return { rate: (completed * 1000) / ms, cpuUsPerHandshake: (cpuMs * 1000) / completed };
}

const rounds = { bare: [], gateway: [] };
await handshakeRound(bare); // warm-up
await handshakeRound(gateway);
for (let i = 0; i < ROUNDS; i++) {
  for (const [name, target] of i % 2 === 0 ? [['bare', bare], ['gateway', gateway]] : [['gateway', gateway], ['bare', bare]]) {
    rounds[name].push(await handshakeRound(target));
  }
}
// 2. First sightings: every connection a certificate the gateway has never seen, of one of
// FRESH_DEVICES existing devices (so the run measures the inventory's first sighting, not zero-
// touch creation, which is a durable write per device by design). Each round hands both servers
// the same slices of the pool: the bare server records nothing, so the gateway still sees each
// certificate for the first time.
const FRESH_DEVICES = 50;
const FRESH_PER_PROCESS = Number(process.env.BENCH_FRESH_PER_PROCESS ?? 1500);
const poolFile = join(dir, 'fresh-pool.jsonl');
{
  const issuer = pki.prepareIssuer(pki.parseCertificate(caDer), caKeys.privateKey);
  const lines = [];
  for (let i = 0; i < FRESH_DEVICES; i++) await api('POST', '/v1/projects/bench/devices', { name: `fresh-${i}`, certificateId: `fresh-${i}` });
  for (let i = 0; i < (ROUNDS + 1) * LOAD_PROCESSES * FRESH_PER_PROCESS; i++) {
    const keys = pki.generateEncodedKeyPair({ kind: 'ec', curve: 'P-256' });
    const der = pki.issueDeviceCertificate(issuer, pki.deviceSubject('bench', `fresh-${i % FRESH_DEVICES}`), keys.publicKey, pki.validityForDays(now, 30)).der;
    lines.push(JSON.stringify([pki.encodePem('CERTIFICATE', der), createPrivateKey({ key: keys.privateKeyDer, format: 'der', type: 'sec1' }).export({ type: 'sec1', format: 'pem' })]));
  }
  writeFileSync(poolFile, `${lines.join('\n')}\n`);
}
async function freshRound(target, start) {
  const ticks = cpuTicks(target.child.pid);
  const results = await Promise.all(
    Array.from({ length: LOAD_PROCESSES }, (_, p) =>
      runLoad(['fresh', target.url, poolFile, files.ca, String(CONCURRENCY), String(ROUND_MS), String(start + p * FRESH_PER_PROCESS), String(FRESH_PER_PROCESS)]),
    ),
  );
  const cpuMs = ((cpuTicks(target.child.pid) - ticks) * 1000) / CLK_TCK;
  const completed = results.reduce((n, r) => n + r.completed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  if (failed > 0) throw new Error(`${failed} first-sighting handshakes failed`);
  if (results.some((r) => r.exhausted)) console.error(`note: a load process used up its ${FRESH_PER_PROCESS} fresh certificates before the round ended (BENCH_FRESH_PER_PROCESS)`);
  return { rate: (completed * 1000) / Math.max(...results.map((r) => r.ms)), cpuUsPerHandshake: (cpuMs * 1000) / completed };
}
const freshRounds = { bare: [], gateway: [] };
for (let i = 0; i <= ROUNDS; i++) {
  const start = i * LOAD_PROCESSES * FRESH_PER_PROCESS;
  for (const [name, target] of i % 2 === 0 ? [['bare', bare], ['gateway', gateway]] : [['gateway', gateway], ['bare', bare]]) {
    const round = await freshRound(target, start);
    if (i > 0) freshRounds[name].push(round); // round 0 warms both up
  }
}
const inventoryRows = (await api('GET', '/v1/projects/bench/device-certificates?perPage=1')).total;
const freshRatios = freshRounds.gateway.map((g, i) => g.rate / freshRounds.bare[i].rate);

const rate = (name) => median(rounds[name].map((r) => r.rate));
const cpu = (name) => median(rounds[name].map((r) => r.cpuUsPerHandshake));
const ratios = rounds.gateway.map((g, i) => g.rate / rounds.bare[i].rate);

/** Resident memory after a full collection in the target (see gc-on-signal.mjs). */
async function settledRss(target) {
  target.child.kill('SIGUSR2');
  await sleep(1000);
  return rssKiB(target.child.pid);
}

/**
 * Resident memory per idle authenticated connection: a freshly started server (the same store
 * for the gateway), a short handshake load, then RSS with IDLE_CONNECTIONS open minus RSS before,
 * both after a memory-reducing collection. Fresh processes give both servers the same history:
 * a long-running one keeps whatever its last load grew (V8's young generation, malloc arenas)
 * or gave back while it idled, and that would be charged to, or credited against, the
 * connections of whichever server ran last.
 */
async function idleMemory(start) {
  const target = await start();
  try {
    // The same warm-up for both: what a server grows once, whatever its connection count (JIT
    // code for its hot path, the store's page cache), is in place before the first reading.
    const warm = await handshakeRound(target, WARM_UP_MS);
    if (warm.rate === 0) throw new Error('the device cannot connect');
    const before = await settledRss(target);
    const holder = spawn(process.execPath, [join(here, 'gateway-load.mjs'), 'hold', target.url, files.cert, files.key, files.ca, String(IDLE_CONNECTIONS)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const opened = await new Promise((resolveOpen) => createInterface({ input: holder.stdout }).once('line', (line) => resolveOpen(JSON.parse(line).open)));
    await sleep(1000);
    const after = await settledRss(target);
    holder.stdin.end();
    await new Promise((r) => holder.once('exit', r));
    if (opened !== IDLE_CONNECTIONS) throw new Error(`only ${opened} of ${IDLE_CONNECTIONS} connections opened`);
    if (process.env.BENCH_DEBUG) console.error(`pid ${target.child.pid}: rss ${before} -> ${after} KiB`);
    return (after - before) / IDLE_CONNECTIONS;
  } finally {
    await stopChild(target.child);
  }
}

async function stopChild(child) {
  if (child.exitCode !== null) return;
  child.removeAllListeners('exit');
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

await stopChild(gateway.child);
await stopChild(bare.child);
const memoryRounds = { stock: [], bare: [], gateway: [] };
const memoryTargets = [['stock', startStockTls], ['bare', startBare], ['gateway', startGateway]];
for (let i = 0; i < MEMORY_ROUNDS; i++) {
  for (const [name, start] of i % 2 === 0 ? memoryTargets : [...memoryTargets].reverse()) {
    memoryRounds[name].push(await idleMemory(start));
  }
}
const memory = { stock: median(memoryRounds.stock), bare: median(memoryRounds.bare), gateway: median(memoryRounds.gateway) };

const f = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
console.log(`gateway benchmark: ${ROUNDS} interleaved rounds of ${ROUND_MS} ms, ${LOAD_PROCESSES} load processes x ${CONCURRENCY} connections, P-256 device and server keys, medians`);
console.log(`  bare Node HTTPS server (any client certificate):  ${f(rate('bare'))} handshakes/s, ${f(cpu('bare'))} µs server CPU per handshake`);
console.log(`  fleetpki gateway (full identity check, existing device): ${f(rate('gateway'))} handshakes/s, ${f(cpu('gateway'))} µs server CPU per handshake`);
console.log(`  gateway / bare: ${f(median(ratios), 2)} (per round: ${ratios.map((r) => f(r, 2)).join(', ')}; goal >= 0.90)`);
const freshRate = (name) => median(freshRounds[name].map((r) => r.rate));
const freshCpu = (name) => median(freshRounds[name].map((r) => r.cpuUsPerHandshake));
console.log(`  first sightings, every connection a certificate never seen before (${f(FRESH_DEVICES)} existing devices; the inventory then held ${f(inventoryRows)} certificates):`);
console.log(`    bare Node HTTPS server: ${f(freshRate('bare'))} handshakes/s, ${f(freshCpu('bare'))} µs server CPU per handshake`);
console.log(`    fleetpki gateway:       ${f(freshRate('gateway'))} handshakes/s, ${f(freshCpu('gateway'))} µs server CPU per handshake`);
console.log(`    gateway / bare: ${f(median(freshRatios), 2)} (per round: ${freshRatios.map((r) => f(r, 2)).join(', ')}; goal >= 0.80)`);
const perRound = (name) => memoryRounds[name].map((m) => f(m, 1)).join(', ');
console.log(`  resident memory per idle authenticated connection, ${f(IDLE_CONNECTIONS)} open (median of ${MEMORY_ROUNDS} fresh-process rounds after the same ${WARM_UP_MS} ms handshake warm-up):`);
console.log(`    bare Node TLS server, Node's defaults (the issue's baseline): ${f(memory.stock, 1)} KiB (${perRound('stock')})`);
console.log(`    bare Node HTTPS server, the gateway's TLS settings:           ${f(memory.bare, 1)} KiB (${perRound('bare')})`);
console.log(`    fleetpki gateway:                                             ${f(memory.gateway, 1)} KiB (${perRound('gateway')})`);
console.log(`    gateway / bare Node TLS server: ${f(memory.gateway / memory.stock, 2)} (goal <= 1.00); gateway / same-settings HTTPS: ${f(memory.gateway / memory.bare, 2)}`);
process.exit(0);
