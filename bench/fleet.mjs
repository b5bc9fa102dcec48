// Fleet benchmark (issue 19): a reconnect storm and a fleet of idle connections, in one run.
//  (a) N distinct device certificates (a `fleetpki devices generate` run, imported with
//      `fleetpki devices import`; every device connected once before, so this is a REconnect)
//      connect as fast as the load generators can, each once: a fresh TLS connection, its own
//      certificate, GET /v1/device/identity, close. Through `serve --workers 2` on SQLite, on a
//      freshly started server (cold caches) and then again (warm), against Node's bare HTTPS
//      server with the gateway's TLS settings and 2 cluster workers, restarted the same way.
//      Sustained authentications/s, p50/p99 from TCP connect to identity answer, server CPU per
//      authentication (every process of the server), the journal's largest backlog.
//  (b) resident memory per idle authenticated MQTT connection with HELD connections open, every
//      one a different device, against a bare Node `tls` server (Node's defaults, 2 workers)
//      that answers CONNECT with CONNACK.
//  (c) the storm of (a) with PostgreSQL as the store, and its ratio to SQLite.
//  (d) the memory a remembered device chain costs (the validated-chain cache, README), and from
//      (a), (b) and (d) the nodes a fleet of 1,000,000 needs.
// Servers and load generators are separate processes; rounds are interleaved; medians.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort, median, percentile, processTree, treeCpuTicks, treeRssKiB, CLK_TCK } from './support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = resolve(here, '../packages/cli/bin/fleetpki.js');
const N = Number(process.env.BENCH_DEVICES ?? 20_000);
const HELD = Number(process.env.BENCH_HELD ?? N);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WORKERS = 2;
const LOAD_PROCESSES = 2;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
/** Which parts to run: storm for (a) and (c), memory for (b), chains for (d). */
const PHASES = new Set((process.env.BENCH_PHASES ?? 'storm,memory,chains').split(','));
const POSTGRES = process.env.FLEETPKI_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const GC_PRELOAD = ['--expose-gc', '--import', join(here, 'gc-on-signal.mjs')];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const f = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const log = (line) => process.stderr.write(`bench:fleet: ${line}\n`);

const dir = mkdtempSync(join(tmpdir(), 'fleetpki-bench-fleet-'));
const children = [];
const pgName = `fleetpki_bench_fleet_${process.pid}`;
let pgCreated = false;
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) for (const pid of processTree(child.pid).reverse()) killQuietly(pid);
  if (pgCreated) execFileSync('psql', [POSTGRES, '-qc', `DROP DATABASE IF EXISTS ${pgName} WITH (FORCE)`], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
});
function killQuietly(pid) {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}
const cli = (args, env = process.env) => execFileSync(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] }).toString();

// The factory run: a CA and N devices, as a fleet engineer makes them.
const devicesDir = join(dir, 'devices');
cli(['key', 'create', '--out', join(dir, 'ca.key.pem')]);
cli(['ca', 'create', '--key', join(dir, 'ca.key.pem'), '--subject', '/CN=Bench Fleet CA', '--days', '60', '--out', join(dir, 'ca.crt.pem')]);
let started = performance.now();
cli(['devices', 'generate', '--project', 'fleet', '--count', String(N), '--days', '30', '--ca-cert', join(dir, 'ca.crt.pem'), '--ca-key', join(dir, 'ca.key.pem'), '--out-dir', devicesDir]);
log(`generated ${f(N)} devices in ${f((performance.now() - started) / 1000, 1)} s`);

/** Starts a process and resolves once its stdout has said `ready` as many times as asked. */
function startProcess(args, { ready, times = 1, env = process.env }) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  children.push(child);
  let errors = '';
  child.stderr.on('data', (c) => (errors = (errors + c).slice(-4000)));
  return new Promise((resolveStart, reject) => {
    let seen = 0;
    child.once('exit', (code) => reject(new Error(`${args.slice(-6).join(' ')} exited ${code}: ${errors}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.includes(ready) && ++seen === times) resolveStart(child);
    });
  });
}

async function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.removeAllListeners('exit');
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000).then(() => child.kill('SIGKILL'))]);
  await exited;
}

/** The stores fleetpki runs on in this bench, each with its data directory and ports. */
const stores = { sqlite: { dataDir: join(dir, 'sqlite') }, postgres: { dataDir: join(dir, 'postgres') } };
execFileSync('psql', [POSTGRES, '-qc', `DROP DATABASE IF EXISTS ${pgName}`, '-c', `CREATE DATABASE ${pgName}`]);
pgCreated = true;
stores.postgres.database = Object.assign(new URL(POSTGRES), { pathname: `/${pgName}` }).href;
for (const store of Object.values(stores)) Object.assign(store, { http: await freePort(), gateway: await freePort(), mqtt: await freePort(), coap: await freePort(), metrics: await freePort() });

/** `fleetpki serve --workers WORKERS` on a store; resolves once every worker listens. */
async function startFleetpki(name, workers = WORKERS) {
  const s = stores[name];
  const args = [...GC_PRELOAD, CLI, 'serve', '--data-dir', s.dataDir, '--http-port', String(s.http), '--gateway-port', String(s.gateway), '--mqtt-port', String(s.mqtt), '--coap-port', String(s.coap)];
  args.push('--metrics-port', String(s.metrics), '--workers', String(workers), '--drain-seconds', '0', ...(s.database ? ['--database', s.database] : []));
  const child = await startProcess(args, { ready: 'device gateway listening', times: workers });
  return { name, child, url: `https://127.0.0.1:${s.gateway}`, mqttUrl: `https://127.0.0.1:${s.mqtt}`, api: `http://127.0.0.1:${s.http}`, metrics: `http://127.0.0.1:${s.metrics}/metrics`, ca: s.caFile };
}

// Each store: the project, its CA, the devices imported from the manifest, and one connection
// per device, so the storms below are devices coming back (their inventory rows exist).
const setup = {};
for (const name of Object.keys(stores)) {
  const server = await startFleetpki(name);
  const s = stores[name];
  const key = readFileSync(join(s.dataDir, 'admin-api-key'), 'utf8').trim();
  const env = { ...process.env, FLEETPKI_SERVER: server.api, FLEETPKI_API_KEY: key };
  s.caFile = join(dir, `server-ca-${name}.pem`);
  writeFileSync(s.caFile, await (await fetch(`${server.api}/v1/server-ca`)).text());
  server.ca = s.caFile;
  cli(['projects', 'create', '--name', 'Fleet', '--slug', 'fleet'], env);
  const uploaded = await fetch(`${server.api}/v1/projects/fleet/certificates`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    body: JSON.stringify({ certFile: readFileSync(join(dir, 'ca.crt.pem')).toString('base64') }),
  });
  if (uploaded.status !== 201) throw new Error(`CA upload (${name}): ${uploaded.status}`);
  started = performance.now();
  cli(['devices', 'import', join(devicesDir, 'manifest.csv'), '--project', 'fleet'], env);
  const importSeconds = (performance.now() - started) / 1000;
  const first = await storm(server);
  setup[name] = { importSeconds, first };
  log(`${name}: imported ${f(N)} devices in ${f(importSeconds, 1)} s; first connections ${f(first.rate)}/s`);
  await stopProcess(server.child);
}

/** The bare baselines, on a port of their own, with the SQLite server's certificate. */
const barePort = await freePort();
async function startBare(mode) {
  const child = await startProcess([...GC_PRELOAD, join(here, 'fleet-bare-server.mjs'), mode, join(stores.sqlite.dataDir, 'server.crt.pem'), join(stores.sqlite.dataDir, 'server.key.pem'), String(barePort), String(WORKERS)], { ready: '"url"' });
  return { name: `bare-${mode}`, child, url: `https://127.0.0.1:${barePort}`, mqttUrl: `https://127.0.0.1:${barePort}`, ca: stores.sqlite.caFile };
}

/** Load processes, each with its share of the devices; they build their TLS contexts, then start together. */
async function loadProcesses(mode, target, count, extra = []) {
  const share = Math.ceil(count / LOAD_PROCESSES);
  const procs = Array.from({ length: LOAD_PROCESSES }, (_, p) =>
    spawn(process.execPath, [join(here, 'fleet-load.mjs'), mode, mode === 'storm' ? target.url : target.mqttUrl, target.ca, devicesDir, String(p * share), String(Math.min(share, count - p * share)), ...extra], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  const lines = procs.map((proc) => {
    const reader = createInterface({ input: proc.stdout });
    const queue = [];
    const waiting = [];
    reader.on('line', (line) => (waiting.length > 0 ? waiting.shift()(line) : queue.push(line)));
    return () => (queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((r) => waiting.push(r)));
  });
  await Promise.all(lines.map((next) => next().then((line) => line === 'ready' || Promise.reject(new Error(`load: ${line}`)))));
  return { procs, lines };
}

/** One storm of `count` devices against a running target; the journal's backlog sampled meanwhile. */
async function storm(target, count = N) {
  const { procs, lines } = await loadProcesses('storm', target, count, [String(CONCURRENCY)]);
  let pendingMax = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling && target.metrics) {
      const text = await fetch(target.metrics).then((r) => r.text(), () => '');
      pendingMax = Math.max(pendingMax, Number(/^fleetpki_journal_pending_events (\d+)/m.exec(text)?.[1] ?? 0));
      // Once a second: under --workers a scrape has every worker serialize its registry for the
      // primary, CPU that would be charged to the server under test (the baseline has none).
      await sleep(1000);
    }
  })();
  const ticks = treeCpuTicks(target.child.pid);
  for (const proc of procs) proc.stdin.write('go\n');
  const results = await Promise.all(lines.map((next) => next().then((line) => JSON.parse(line))));
  const cpuMs = ((treeCpuTicks(target.child.pid) - ticks) * 1000) / CLK_TCK;
  sampling = false;
  await sampler;
  for (const proc of procs) proc.stdin.end();
  const completed = results.reduce((n, r) => n + r.completed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  if (failed > 0) throw new Error(`${target.name}: ${failed} of ${count} devices were not let in`);
  const latencies = results.flatMap((r) => r.latencies);
  let dropped = 0;
  if (target.metrics) dropped = Number(/^fleetpki_audit_events_dropped_total (\d+)/m.exec(await (await fetch(target.metrics)).text())?.[1] ?? 0);
  return { rate: (completed * 1000) / Math.max(...results.map((r) => r.ms)), p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), cpuUs: (cpuMs * 1000) / completed, pendingMax, dropped };
}

// (a) and (c): rounds of cold-then-warm storms, the three targets in a rotating order.
const targets = { sqlite: () => startFleetpki('sqlite'), postgres: () => startFleetpki('postgres'), bare: () => startBare('https') };
const results = Object.fromEntries(Object.keys(targets).map((k) => [k, { cold: [], warm: [] }]));
const order = Object.keys(targets);
for (let round = 0; round < (PHASES.has('storm') ? ROUNDS : 0); round++) {
  for (const name of [...order.slice(round % order.length), ...order.slice(0, round % order.length)]) {
    const target = await targets[name]();
    try {
      results[name].cold.push(await storm(target));
      results[name].warm.push(await storm(target));
    } finally {
      await stopProcess(target.child);
    }
    const last = (phase) => results[name][phase].at(-1);
    log(`round ${round + 1} ${name}: cold ${f(last('cold').rate)}/s, warm ${f(last('warm').rate)}/s`);
  }
}

// (b) Memory per idle MQTT connection: a fresh server, the same warm-up, then HELD connections.
async function settledRss(child) {
  for (const pid of processTree(child.pid)) process.kill(pid, 'SIGUSR2');
  await sleep(1500);
  return treeRssKiB(child.pid);
}
async function idleMemory(start) {
  const target = await start();
  try {
    const warm = await loadProcesses('hold-mqtt', target, 1000);
    for (const proc of warm.procs) proc.stdin.write('go\n');
    await Promise.all(warm.lines.map((next) => next()));
    for (const proc of warm.procs) proc.stdin.end();
    await sleep(1000);
    const before = await settledRss(target.child);
    const held = await loadProcesses('hold-mqtt', target, HELD);
    for (const proc of held.procs) proc.stdin.write('go\n');
    const open = (await Promise.all(held.lines.map((next) => next().then((line) => JSON.parse(line).open)))).reduce((a, b) => a + b, 0);
    await sleep(2000);
    const after = await settledRss(target.child);
    for (const proc of held.procs) proc.stdin.end();
    if (open !== HELD) throw new Error(`${target.name}: only ${open} of ${HELD} MQTT connections opened`);
    return (after - before) / HELD;
  } finally {
    await stopProcess(target.child);
  }
}
const memory = PHASES.has('memory') ? { bare: await idleMemory(() => startBare('mqtt')), fleetpki: await idleMemory(() => startFleetpki('sqlite')) } : undefined;

// (d) What a remembered chain costs: the heap of one process before and after every device
// reconnected once (connections closed, the journal written), both after a full collection.
async function heapUsed(target) {
  for (const pid of processTree(target.child.pid)) process.kill(pid, 'SIGUSR2');
  await sleep(1500);
  return Number(/^nodejs_heap_size_used_bytes (\d+)/m.exec(await (await fetch(target.metrics)).text())?.[1]);
}
let chainBytes;
if (PHASES.has('chains')) {
  const target = await startFleetpki('sqlite', 1);
  target.ca = stores.sqlite.caFile;
  try {
    await storm(target, 200); // the code paths compiled, the statements prepared
    const before = await heapUsed(target);
    await storm(target);
    await sleep(1000);
    chainBytes = ((await heapUsed(target)) - before) / N;
  } finally {
    await stopProcess(target.child);
  }
}

// The report.
const m = (name, phase, key) => median(results[name][phase].map((r) => r[key]));
const ratios = (name, base, phase) => results[name][phase].map((r, i) => r.rate / results[base][phase][i].rate);
console.log(`fleet benchmark: ${f(N)} distinct devices, --workers ${WORKERS}, ${LOAD_PROCESSES} load processes x ${CONCURRENCY} connections, ${ROUNDS} interleaved rounds, medians`);
console.log(`  setup: import of ${f(N)} devices ${f(setup.sqlite.importSeconds, 1)} s (SQLite), ${f(setup.postgres.importSeconds, 1)} s (PostgreSQL); first connections (inventory rows written) ${f(setup.sqlite.first.rate)}/s, ${f(setup.postgres.first.rate)}/s`);
if (PHASES.has('storm')) {
  console.log('  (a) reconnect storm: authentications/s, p50 / p99 ms from TCP connect to identity answer, server CPU µs per authentication (all processes)');
  for (const [name, label] of [['bare', 'bare Node HTTPS, same TLS settings, 2 workers'], ['sqlite', 'fleetpki, SQLite'], ['postgres', 'fleetpki, PostgreSQL']]) {
    for (const phase of ['cold', 'warm']) {
      const journal = name === 'bare' ? '' : `, journal backlog at most ${f(Math.max(...results[name][phase].map((r) => r.pendingMax)))} events, ${f(Math.max(...results[name][phase].map((r) => r.dropped)))} dropped`;
      console.log(`    ${label.padEnd(47)} ${phase}: ${f(m(name, phase, 'rate')).padStart(6)}/s  p50 ${f(m(name, phase, 'p50'), 1)} / p99 ${f(m(name, phase, 'p99'), 1)} ms  ${f(m(name, phase, 'cpuUs'))} µs${journal}`);
    }
  }
  for (const phase of ['cold', 'warm']) {
    const r = ratios('sqlite', 'bare', phase);
    console.log(`    fleetpki (SQLite) / bare, ${phase}: ${f(median(r), 2)} (per round: ${r.map((x) => f(x, 2)).join(', ')}; goal >= ${phase === 'cold' ? '0.85' : '0.90'})`);
  }
}
if (memory) {
  console.log(`  (b) resident memory per idle authenticated MQTT connection, ${f(HELD)} open, every one a different device:`);
  console.log(`    bare Node TLS server, Node's defaults, 2 workers: ${f(memory.bare, 1)} KiB`);
  console.log(`    fleetpki, SQLite, --workers 2:                     ${f(memory.fleetpki, 1)} KiB`);
  console.log(`    fleetpki / bare: ${f(memory.fleetpki / memory.bare, 2)} (goal <= 1.00)`);
}
if (PHASES.has('storm')) {
  for (const phase of ['cold', 'warm']) {
    const r = ratios('postgres', 'sqlite', phase);
    console.log(`  (c) PostgreSQL / SQLite, ${phase}: ${f(median(r), 2)} (per round: ${r.map((x) => f(x, 2)).join(', ')}; goal >= 0.80)`);
  }
}
if (chainBytes !== undefined) console.log(`  (d) heap per remembered device chain (validated-chain cache): ${f(chainBytes)} bytes; at the default 1,000,000 chains per worker, ${f((chainBytes * 1e6) / 2 ** 20)} MiB per worker`);
// The extrapolation: a full fleet of 1,000,000 reconnecting within 10 minutes, and held.
if (PHASES.has('storm') && memory && chainBytes !== undefined) {
  const fleet = 1_000_000;
  const perSecond = fleet / 600;
  const coldUs = Math.max(m('sqlite', 'cold', 'cpuUs'), m('postgres', 'cold', 'cpuUs'));
  console.log(`  1,000,000 devices: a full reconnect in 10 minutes is ${f(perSecond)} authentications/s x ${f(coldUs)} µs (cold, the dearer store) = ${f((perSecond * coldUs) / 1e6, 2)} cores;`);
  console.log(`    held: ${f(fleet)} x ${f(memory.fleetpki, 1)} KiB = ${f((fleet * memory.fleetpki) / 2 ** 20, 1)} GiB of connections, plus ${f((chainBytes * fleet) / 2 ** 30, 2)} GiB of remembered chains per worker that sees them all`);
}
process.exit(0);
