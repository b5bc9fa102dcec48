import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/**
 * The benchmark is not a test and nothing here is timed: this only keeps bench/issuance.mjs
 * runnable (a tiny configuration) so an API change cannot break it unnoticed.
 */
describe('the benchmarks still run', () => {
  it('prints every figure it promises, on a tiny configuration', () => {
    const result = spawnSync(process.execPath, ['bench/issuance.mjs'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, BENCH_ROUNDS: '1', BENCH_ROUND_MS: '50', BENCH_DEVICES: '20', BENCH_OPENSSL_DEVICES: '2' },
    });
    assert.equal(result.status, 0, result.stderr);
    for (const label of ['raw crypto.sign P-256', 'issuance from CSR', 'issuance / raw signing', 'devices generate --count 20 ', 'devices generate --count 20 --workers 1', 'openssl loop, 2 devices', 'per-device speed-up over openssl']) {
      assert.ok(result.stdout.includes(label), `missing "${label}" in:\n${result.stdout}`);
    }
    assert.match(result.stdout, /issuance \/ raw signing\s+\d+\.\d%/);
  });

  it('bench/cmp.mjs prints its figures, on a tiny configuration', () => {
    const result = spawnSync(process.execPath, ['bench/cmp.mjs'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, BENCH_ROUNDS: '1', BENCH_ROUND_MS: '200', BENCH_MESSAGES: '60' },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /POST …\/pki\/issue .* certificates\/s/);
    assert.match(result.stdout, /CMP p10cr .* enrollments\/s/);
    assert.match(result.stdout, /CMP \/ issue: \d+\.\d\d/);
  });

  it('bench/validate.mjs prints its figures, on a tiny configuration', () => {
    const result = spawnSync(process.execPath, ['bench/validate.mjs'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, BENCH_ROUNDS: '1', BENCH_ROUND_MS: '50' },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /raw crypto\.verify P-256 .* verifications\/s/);
    assert.match(result.stdout, /validateDeviceCertificate .* validations\/s/);
    assert.match(result.stdout, /validations \/ raw verifications\s+\d+\.\d%/);
  });

  it('bench/renewal.mjs prints its figures, on a tiny configuration', () => {
    const result = spawnSync(process.execPath, ['bench/renewal.mjs'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, BENCH_ROUNDS: '1', BENCH_ROUND_MS: '200' },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /POST …\/pki\/issue .* [\d,]+ certificates\/s/);
    assert.match(result.stdout, /POST \/v1\/csr .* [\d,]+ rotations\/s/);
    assert.match(result.stdout, /rotation \/ issue: \d+\.\d\d/);
  });

  it('bench/integration.mjs prints its figures and ratios, on a tiny configuration', () => {
    const result = spawnSync(process.execPath, ['bench/integration.mjs'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 180_000,
      env: { ...process.env, BENCH_ROUNDS: '1', BENCH_ROUND_MS: '300', BENCH_EVENTS: '200' },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /nginx \+ forward-auth ÷ gateway alone: \d+\.\d\d/);
    assert.match(result.stdout, /tokens ÷ identity answers, fresh connections: \d+\.\d\d/);
    assert.match(result.stdout, /tokens ÷ identity answers, held connections: \d+\.\d\d/);
    assert.match(result.stdout, /webhook deliveries\/s: [\d,]+ \(median/);
    assert.match(result.stderr, /webhooks round 1: 200 delivered/);
  });
});
