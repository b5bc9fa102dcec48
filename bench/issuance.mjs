// Issuance benchmark (issue "Foundation and offline PKI"): prints, in one run,
//   1. raw crypto.sign P-256 signatures/s (the baseline),
//   2. in-process device-certificate issuance from a CSR per second
//      (parse + verify the CSR, apply the identity policy, build, sign, encode),
//   3. their ratio,
//   4. `fleetpki devices generate --count 10000` wall time (default worker threads, and one
//      thread) against an openssl command loop (ecparam -genkey + req -new + x509 -req per
//      device) over 200 devices, per device.
// Rates are medians of interleaved rounds: the machines are small and noisy.
import { execFileSync, spawnSync } from 'node:child_process';
import { sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as pki from '../packages/pki/dist/src/index.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 1000);
const DEVICES = Number(process.env.BENCH_DEVICES ?? 10_000);
const OPENSSL_DEVICES = Number(process.env.BENCH_OPENSSL_DEVICES ?? 200);
const CSR_POOL = 256;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'packages/cli/bin/fleetpki.js');
const work = mkdtempSync(join(tmpdir(), 'fleetpki-bench-'));

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Calls fn repeatedly for ms milliseconds; returns operations per second. */
function rate(fn, ms) {
  let count = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 16; i++) fn(count++);
    now = performance.now();
  }
  return (count * 1000) / (now - start);
}

/** The same for a function returning a promise, awaited one at a time (no parallelism). */
async function rateAsync(fn, ms) {
  let count = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 16; i++) await fn(count++);
    now = performance.now();
  }
  return (count * 1000) / (now - start);
}

try {
  // --- in-process issuance against raw signing --------------------------------------------
  const now = new Date();
  const caKeys = pki.generateKeyPair({ kind: 'ec', curve: 'P-256' });
  const caDer = pki.createSelfSignedCa({ subject: pki.parseSubjectString('/CN=Bench Root'), privateKey: caKeys.privateKey, validity: pki.validityForDays(now, 3650) }).der;
  const issuer = pki.prepareIssuer(pki.parseCertificate(caDer), caKeys.privateKey);
  const csrs = Array.from({ length: CSR_POOL }, (_, i) => {
    const { privateKey } = pki.generateKeyPair({ kind: 'ec', curve: 'P-256' });
    return pki.createCsr(pki.deviceSubject('bench', `device-${i}`), privateKey);
  });
  const validity = pki.validityForDays(now, 365);
  // A TBSCertificate-sized message, so the baseline hashes what issuance hashes.
  const sample = await pki.signCsr(issuer, csrs[0], { validity, devicePolicy: { project: 'bench' } });
  const tbsLength = pki.parseCertificate(sample.der).tbsDer.length;
  const message = Buffer.alloc(tbsLength, 0x5a);

  const issue = (i) => pki.signCsr(issuer, csrs[i % CSR_POOL], { validity, devicePolicy: { project: 'bench' } });
  const rawSign = () => sign('sha256', message, caKeys.privateKey);
  await rateAsync(issue, 300); // warm-up
  rate(rawSign, 300);
  const rawRates = [];
  const issueRates = [];
  for (let r = 0; r < ROUNDS; r++) {
    rawRates.push(rate(rawSign, ROUND_MS));
    issueRates.push(await rateAsync(issue, ROUND_MS));
  }
  const raw = median(rawRates);
  const issued = median(issueRates);

  // --- devices generate against an openssl loop -------------------------------------------
  const caKeyPath = join(work, 'ca.key.pem');
  const caCertPath = join(work, 'ca.crt.pem');
  execFileSync(process.execPath, [cli, 'key', 'create', '--out', caKeyPath]);
  execFileSync(process.execPath, [cli, 'ca', 'create', '--key', caKeyPath, '--subject', '/CN=Factory CA', '--days', '3650', '--out', caCertPath]);

  // Batches are removed at the end: deleting 20,000 files right before a timed run slows its file creation.
  const timeGenerate = (workers, run) => {
    const outDir = join(work, `batch-${workers}-${run}`);
    const args = [cli, 'devices', 'generate', '--project', 'bench', '--count', String(DEVICES), '--ca-cert', caCertPath, '--ca-key', caKeyPath, '--out-dir', outDir];
    if (workers !== undefined) args.push('--workers', String(workers));
    // Each timed run starts with earlier batches flushed to disk, so it does not pay for their writeback.
    execFileSync('sync');
    const started = performance.now();
    const result = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    if (result.status !== 0) throw new Error(`devices generate failed: ${result.stderr}`);
    return (performance.now() - started) / 1000;
  };
  const generateSeconds = [];
  const generateOneThreadSeconds = [];
  for (let r = 0; r < 3; r++) {
    generateSeconds.push(timeGenerate(undefined, r));
    generateOneThreadSeconds.push(timeGenerate(1, r));
  }

  const opensslSeconds = [];
  for (let r = 0; r < 3; r++) {
    const outDir = mkdtempSync(join(work, 'openssl-'));
    execFileSync('sync');
    const started = performance.now();
    for (let i = 0; i < OPENSSL_DEVICES; i++) {
      const key = join(outDir, `d${i}.key.pem`);
      const csr = join(outDir, `d${i}.csr.pem`);
      execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
      execFileSync('openssl', ['req', '-new', '-key', key, '-subj', `/O=bench/CN=device-${i}`, '-out', csr]);
      execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', caCertPath, '-CAkey', caKeyPath, '-CAcreateserial', '-out', join(outDir, `d${i}.crt.pem`), '-days', '365', '-sha256'], { stdio: ['ignore', 'ignore', 'ignore'] });
    }
    opensslSeconds.push((performance.now() - started) / 1000);
  }

  const generatePerDevice = median(generateSeconds) / DEVICES;
  const generateOneThreadPerDevice = median(generateOneThreadSeconds) / DEVICES;
  const opensslPerDevice = median(opensslSeconds) / OPENSSL_DEVICES;
  const ratio = issued / raw;
  const speedup = opensslPerDevice / generatePerDevice;
  const fmt = (n) => Math.round(n).toLocaleString('en-US');

  console.log(`fleetpki issuance benchmark — node ${process.version}, ${ROUNDS} rounds × ${ROUND_MS} ms, medians`);
  console.log(`  raw crypto.sign P-256 (${tbsLength}-byte message)   ${fmt(raw)} signatures/s   [rounds: ${rawRates.map(fmt).join(', ')}]`);
  console.log(`  issuance from CSR (parse, verify, policy, sign)    ${fmt(issued)} certificates/s [rounds: ${issueRates.map(fmt).join(', ')}]`);
  console.log(`  issuance / raw signing                             ${(ratio * 100).toFixed(1)}%  (goal ≥ 12%) ${ratio >= 0.12 ? 'MET' : 'NOT MET'}`);
  console.log(`  devices generate --count ${DEVICES}                   ${median(generateSeconds).toFixed(2)} s  (${(generatePerDevice * 1e6).toFixed(0)} µs/device) [runs: ${generateSeconds.map((s) => s.toFixed(2)).join(', ')}]`);
  console.log(`  devices generate --count ${DEVICES} --workers 1         ${median(generateOneThreadSeconds).toFixed(2)} s  (${(generateOneThreadPerDevice * 1e6).toFixed(0)} µs/device) [runs: ${generateOneThreadSeconds.map((s) => s.toFixed(2)).join(', ')}]`);
  console.log(`  openssl loop, ${OPENSSL_DEVICES} devices (ecparam+req+x509)          ${median(opensslSeconds).toFixed(2)} s  (${(opensslPerDevice * 1e3).toFixed(2)} ms/device) [runs: ${opensslSeconds.map((s) => s.toFixed(2)).join(', ')}]`);
  console.log(`  per-device speed-up over openssl                   ${speedup.toFixed(0)}×  (goal ≥ 50×) ${speedup >= 50 ? 'MET' : 'NOT MET'}; one thread: ${(opensslPerDevice / generateOneThreadPerDevice).toFixed(0)}×`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
