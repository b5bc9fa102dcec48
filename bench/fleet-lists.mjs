// Fleet-size lists (issue 19, acceptance 1): a store of BENCH_DEVICES devices (1,000,000 by
// default) imported through the API with `fleetpki devices import`, on SQLite and on PostgreSQL;
// then the device list's first page, the page at the 500,000th device and the last page (reached
// by cursor), a name search, and the console's device list and device page rendered in chromium.
// Medians of 21 requests (5 renders); the goal for each is < 50 ms (< 1 s for a render). The
// baseline in the same run is `GET /healthz` on the same server: what any request costs.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { freePort, median } from './support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = resolve(here, '../packages/cli/bin/fleetpki.js');
const DEVICES = Number(process.env.BENCH_DEVICES ?? 1_000_000);
const STORES = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',');
const POSTGRES = process.env.FLEETPKI_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REPEATS = 21;
const f = (n, d = 1) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });


const dir = mkdtempSync(join(tmpdir(), 'fleetpki-bench-lists-'));
const children = [];
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

// The factory manifest, as `devices generate` writes it (its certificate_id column names each device).
const manifest = join(dir, 'manifest.csv');
{
  const fd = openSync(manifest, 'w');
  writeSync(fd, 'certificate_id,serial,sha256_fingerprint,not_after,key_file,cert_file\n');
  let chunk = '';
  for (let i = 0; i < DEVICES; i++) {
    chunk += `dev-${String(i).padStart(7, '0')},${i.toString(16)},00,2027-01-01T00:00:00Z,k.pem,c.pem\n`;
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk);
      chunk = '';
    }
  }
  writeSync(fd, chunk);
  closeSync(fd);
}

async function timeRequest(url, headers) {
  const times = [];
  for (let i = 0; i < REPEATS; i++) {
    const started = performance.now();
    const r = await fetch(url, { headers });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
    times.push(performance.now() - started);
  }
  return median(times);
}

async function measure(store) {
  const data = join(dir, `data-${store}`);
  let database;
  if (store === 'postgres') {
    const name = `fleetpki_bench_${process.pid}`;
    execFileSync('psql', [POSTGRES, '-qc', `DROP DATABASE IF EXISTS ${name}`, '-c', `CREATE DATABASE ${name}`]);
    database = Object.assign(new URL(POSTGRES), { pathname: `/${name}` }).href;
  }
  const port = await freePort();
  const log = join(dir, `serve-${store}.log`);
  const serve = spawn(process.execPath, [CLI, 'serve', '--data-dir', data, '--http-port', String(port), '--gateway-port', String(await freePort()), '--mqtt-port', String(await freePort()), '--coap-port', String(await freePort()), '--drain-seconds', '0', ...(database ? ['--database', database] : [])], {
    stdio: ['ignore', openSync(log, 'w'), 'inherit'],
  });
  children.push(serve);
  for (let i = 0; !readFileSync(log, 'utf8').includes('management API listening'); i++) {
    if (i > 300) throw new Error(`serve (${store}) did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const url = `http://127.0.0.1:${port}`;
  const key = readFileSync(join(data, 'admin-api-key'), 'utf8').trim();
  const headers = { 'x-api-key': key };
  const env = { ...process.env, FLEETPKI_SERVER: url, FLEETPKI_API_KEY: key };
  execFileSync(process.execPath, [CLI, 'projects', 'create', '--name', 'Fleet', '--slug', 'fleet'], { env, stdio: 'ignore' });
  let started = performance.now();
  execFileSync(process.execPath, [CLI, 'devices', 'import', manifest, '--project', 'fleet'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const importSeconds = (performance.now() - started) / 1000;

  const list = `${url}/v1/projects/fleet/devices`;
  const result = { store, importSeconds, healthz: await timeRequest(`${url}/healthz`, {}) };
  result.first = await timeRequest(`${list}?perPage=50`, headers);
  // To the 500,000th device and to the end by cursor, 500 at a time, as a client pages.
  let cursor = null;
  let seen = 0;
  started = performance.now();
  let middle;
  for (;;) {
    const page = await (await fetch(`${list}?perPage=500${cursor ? `&cursor=${cursor}` : ''}`, { headers })).json();
    seen += page.list.length;
    if (middle === undefined && seen >= DEVICES / 2) middle = page.nextCursor;
    if (page.nextCursor === null) break;
    cursor = page.nextCursor;
  }
  result.walkSeconds = (performance.now() - started) / 1000;
  if (seen !== DEVICES) throw new Error(`walked ${seen} devices, imported ${DEVICES}`);
  result.middle = await timeRequest(`${list}?perPage=50&cursor=${middle}`, headers);
  result.last = await timeRequest(`${list}?perPage=50&cursor=${cursor}`, headers);
  result.search = await timeRequest(`${list}?perPage=50&namePrefix=dev-05`, headers);
  result.searchOne = await timeRequest(`${list}?perPage=50&namePrefix=dev-${String(DEVICES - 1).padStart(7, '0')}`, headers);
  result.counted = await timeRequest(`${list}?perPage=1&count=true`, headers);

  // The console: signed in once, then the device list and a device page, each rendered 5 times.
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(url);
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
    const device = (await (await fetch(`${list}?perPage=1&namePrefix=dev-${String(Math.floor(DEVICES / 2)).padStart(7, '0')}`, { headers })).json()).list[0];
    const render = async (path, ready) => {
      const times = [];
      for (let i = 0; i < 5; i++) {
        await page.goto('about:blank');
        const begun = performance.now();
        await page.goto(`${url}${path}`);
        await ready();
        times.push(performance.now() - begun);
      }
      return median(times);
    };
    result.consoleList = await render('/projects/fleet/devices', () => page.locator('tr[data-device]').nth(49).waitFor());
    result.consoleDevice = await render(`/projects/fleet/devices/${device.id}`, () => page.getByRole('heading', { name: device.name }).waitFor());
  } finally {
    await browser.close();
  }
  serve.kill('SIGTERM');
  await new Promise((r) => serve.once('exit', r));
  if (database) execFileSync('psql', [POSTGRES, '-qc', `DROP DATABASE IF EXISTS ${new URL(database).pathname.slice(1)} WITH (FORCE)`]);
  return result;
}

const results = [];
for (const store of STORES) results.push(await measure(store));
console.log(`device lists at fleet size: ${f(DEVICES, 0)} devices imported through the API (fleetpki devices import); medians of ${REPEATS} requests, 5 renders; Node ${process.versions.node}`);
console.log('| measure | goal | ' + results.map((r) => r.store).join(' | ') + ' |');
console.log('|---|---|' + results.map(() => '---').join('|') + '|');
const row = (label, goal, pick) => console.log(`| ${label} | ${goal} | ${results.map(pick).join(' | ')} |`);
row('import (s)', '< 60 (SQLite)', (r) => f(r.importSeconds));
row('GET /healthz, the baseline (ms)', '', (r) => f(r.healthz, 2));
row('first page, 50 devices (ms)', '< 50', (r) => f(r.first, 2));
row('page at the middle device, by cursor (ms)', '< 50', (r) => f(r.middle, 2));
row('last page, by cursor (ms)', '< 50', (r) => f(r.last, 2));
row('name search, namePrefix=dev-05 (a tenth of a million match) (ms)', '< 50', (r) => f(r.search, 2));
row('name search, one match (ms)', '< 50', (r) => f(r.searchOne, 2));
row('count=true, every device (ms)', '', (r) => f(r.counted, 2));
row('walk every page of 500 by cursor (s)', '', (r) => f(r.walkSeconds));
row('console device list rendered, 50 rows (ms)', '< 1,000', (r) => f(r.consoleList, 0));
row('console device page rendered (ms)', '< 1,000', (r) => f(r.consoleDevice, 0));
