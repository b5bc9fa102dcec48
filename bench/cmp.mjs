// CMP benchmark (issue 21): prints, in one run against one `fleetpki serve` (SQLite, a generated
// managed CA),
//   1. p10cr enrollments/s over CMP's HTTP transfer (POST /.well-known/cmp/p/bench): messages
//      shaped as `openssl cmp -cmd p10cr -ref … -secret pass:… -implicit_confirm` sends them
//      (PasswordBasedMac: SHA-256 one-way function, 500 iterations, HMAC-SHA256; a fresh
//      transactionID and senderNonce each), prepared and protected before the clock, each with a
//      one-time enrollment token of its own; the server checks the MAC, consumes the token,
//      issues through the pipeline and answers a MAC-protected cp;
//   2. certificates/s through the management API's POST …/pki/issue with CSRs made the same way
//      (the same key type and subject form; another certificate ID, since a batch token enrolls
//      only an identity the project does not have yet) and the admin key (the baseline: the same
//      pipeline without CMP's protection);
//   3. their ratio (goal >= 0.8), and the server CPU per certificate of each.
// Load generators are separate processes; rounds are interleaved; medians. Every request body is
// sent once (a CMP message replayed is refused), so each round has its own prepared messages.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as pki from '../packages/pki/dist/src/index.js';
import { CLK_TCK, median, treeCpuTicks } from './support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 2000);
/** Prepared requests per load process and round: more than a round can send on these machines. */
const PER_PROCESS = Number(process.env.BENCH_MESSAGES ?? 2500);
const LOAD_PROCESSES = 2;
const CONCURRENCY = 16;
const PBM = { owf: 'sha256', owfOid: '2.16.840.1.101.3.4.2.1', iterationCount: 500, mac: 'sha256', macOid: '1.2.840.113549.2.9' };
const f = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const log = (line) => process.stderr.write(`bench:cmp: ${line}\n`);

const dir = mkdtempSync(join(tmpdir(), 'fleetpki-bench-cmp-'));
let serve;
process.on('exit', () => {
  serve?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

// BENCH_CPU_PROF=DIR writes the server's CPU profile there (node --cpu-prof), to see where a request's time goes.
const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
serve = spawn(process.execPath, [...profile, resolve(here, '../packages/cli/bin/fleetpki.js'), 'serve', '--data-dir', dir, '--http-port', '0', '--gateway-port', '0', '--mqtt-port', '0', '--coap-port', '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
const apiUrl = await new Promise((resolveUrl, reject) => {
  serve.once('exit', (code) => reject(new Error(`fleetpki serve exited ${code}`)));
  createInterface({ input: serve.stdout }).on('line', (line) => {
    try {
      const l = JSON.parse(line);
      if (l.msg === 'management API listening') resolveUrl(l.url);
    } catch {
      /* not JSON */
    }
  });
});
serve.stdout.resume();
const adminKey = readFileSync(join(dir, 'admin-api-key'), 'utf8').trim();
const api = async (method, path, body) => {
  const r = await fetch(`${apiUrl}${path}`, { method, headers: { 'x-api-key': adminKey, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
};
await api('POST', '/v1/projects', { name: 'Bench', slug: 'bench' });
await api('POST', '/v1/projects/bench/pki/cas', { mode: 'generate', profile: { defaultDays: 30, maxDays: 90 } });

/** A p10cr as openssl cmp builds it: NULL-DN sender and recipient, the token's id as senderKID. */
function p10cr(token, csrDer) {
  const params = { ...PBM, salt: randomBytes(16) };
  const header = pki.answerHeader({
    pvno: 2,
    sender: pki.NULL_DIRECTORY_NAME,
    recipient: pki.NULL_DIRECTORY_NAME,
    messageTime: new Date(),
    protectionAlg: pki.passwordBasedMacAlgorithm(params),
    senderKID: Buffer.from(token.id, 'utf8'),
    transactionID: randomBytes(16),
    implicitConfirm: true,
  });
  const body = pki.cmpBody(pki.CMP_BODY_TYPES.p10cr, csrDer);
  return pki.cmpMessage(header, body, pki.passwordBasedMac(Buffer.from(token.token, 'utf8'), params, pki.protectedPartOf(header, body)));
}

async function tokensFor() {
  const tokens = [];
  for (let made = 0; made < PER_PROCESS; made += 1000) tokens.push(...(await api('POST', '/v1/projects/bench/pki/enrollment-tokens', { count: Math.min(1000, PER_PROCESS - made), validHours: 24 })).tokens);
  return tokens;
}

/** One round's requests for one load process: CSRs made alike for both, as CMP messages and as issue bodies. */
function prepare(label, tokens) {
  const cmp = [];
  const issue = [];
  const csrFor = (certificateId) => pki.createCsr(pki.deviceSubject('bench', certificateId), pki.generateKeyPair({ kind: 'ec', curve: 'P-256' }).privateKey);
  tokens.forEach((token, i) => {
    cmp.push(p10cr(token, csrFor(`${label}-cmp-${i}`)).toString('base64'));
    issue.push(Buffer.from(JSON.stringify({ csr: Buffer.from(pki.encodePem('CERTIFICATE REQUEST', csrFor(`${label}-api-${i}`))).toString('base64') })).toString('base64'));
  });
  writeFileSync(join(dir, `${label}.cmp`), `${cmp.join('\n')}\n`);
  writeFileSync(join(dir, `${label}.issue`), `${issue.join('\n')}\n`);
  return { cmp: join(dir, `${label}.cmp`), issue: join(dir, `${label}.issue`) };
}

function runLoad(args, ms) {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [join(here, 'cmp-load.mjs'), ...args, String(CONCURRENCY), String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.once('exit', (code) => (code === 0 ? done(JSON.parse(out)) : reject(new Error(`load exited ${code}`))));
  });
}
const targets = {
  cmp: (file) => [`${apiUrl}/.well-known/cmp/p/bench`, file, 'application/pkixcmp', '{}'],
  issue: (file) => [`${apiUrl}/v1/projects/bench/pki/issue`, file, 'application/json', JSON.stringify({ 'x-api-key': adminKey })],
};
async function round(name, files, ms = ROUND_MS) {
  const ticks = treeCpuTicks(serve.pid);
  const results = await Promise.all(files.map((file) => runLoad(targets[name](file[name]), ms)));
  const cpuMs = ((treeCpuTicks(serve.pid) - ticks) * 1000) / CLK_TCK;
  const completed = results.reduce((n, r) => n + r.completed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  if (failed > 0) throw new Error(`${name}: ${failed} requests failed, e.g. ${results.find((r) => r.firstError)?.firstError}`);
  if (results.some((r) => r.exhausted)) log(`${name}: a load process sent every prepared request before the round ended; raise BENCH_MESSAGES`);
  return { rate: (completed * 1000) / Math.max(...results.map((r) => r.ms)), cpuUs: (cpuMs * 1000) / completed };
}

log(`preparing ${f((ROUNDS + 1) * LOAD_PROCESSES * PER_PROCESS)} CSRs, tokens and protected messages`);
// Every token first: the API calls come together, before the long CPU-bound preparation (an idle
// keep-alive connection would be closed by the server meanwhile).
const tokenSets = [];
for (let r = 0; r <= ROUNDS; r++) for (let p = 0; p < LOAD_PROCESSES; p++) tokenSets.push(await tokensFor());
const prepared = [];
for (let r = 0; r <= ROUNDS; r++) prepared.push(Array.from({ length: LOAD_PROCESSES }, (_, p) => prepare(`r${r}p${p}`, tokenSets[r * LOAD_PROCESSES + p])));
await round('issue', prepared[0], 700); // warm-up, on the first round's files (the CMP half next)
await round('cmp', prepared[0], 700);
const rounds = { issue: [], cmp: [] };
for (let i = 0; i < ROUNDS; i++) {
  for (const name of i % 2 === 0 ? ['issue', 'cmp'] : ['cmp', 'issue']) rounds[name].push(await round(name, prepared[i + 1]));
}
const ratios = rounds.cmp.map((r, i) => r.rate / rounds.issue[i].rate);
const rate = (name) => median(rounds[name].map((r) => r.rate));
const cpu = (name) => median(rounds[name].map((r) => r.cpuUs));
console.log(`CMP benchmark: ${ROUNDS} interleaved rounds of ${ROUND_MS} ms, ${LOAD_PROCESSES} load processes x ${CONCURRENCY} keep-alive connections, P-256 CSRs, one fleetpki serve (SQLite), medians`);
console.log(`  POST …/pki/issue (management API, admin key):       ${f(rate('issue'))} certificates/s, ${f(cpu('issue'))} µs server CPU per certificate`);
console.log(`  CMP p10cr (PasswordBasedMac, one token each):       ${f(rate('cmp'))} enrollments/s, ${f(cpu('cmp'))} µs server CPU per enrollment`);
console.log(`  CMP / issue: ${f(median(ratios), 2)} (per round: ${ratios.map((r) => f(r, 2)).join(', ')}; goal >= 0.80)`);
if (profile.length > 0) {
  serve.kill('SIGINT'); // the profile is written on a clean exit
  await new Promise((done) => serve.once('exit', done));
}
process.exit(0);
