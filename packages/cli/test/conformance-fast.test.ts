import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

interface HarnessRun {
  readonly stdout: string;
  readonly passed: number;
  readonly failed: number;
}

/** Runs a conformance harness and reads its closing `N passed, N failed, N skipped` line. */
function runHarness(script: string, args: readonly string[] = []): HarnessRun {
  const result = spawnSync(process.execPath, [script, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  const summary = /^(\d+) passed, (\d+) failed, (\d+) skipped$/m.exec(result.stdout);
  assert.ok(summary, result.stdout);
  return { stdout: result.stdout, passed: Number(summary[1]), failed: Number(summary[2]) };
}

/**
 * The fast part of the conformance set runs with every test run: x509-limbo's 208 core cases,
 * every Wycheproof vector and NIST PKITS. `npm run conformance` adds limbo's BetterTLS cases and
 * the BetterTLS export.
 */
describe('conformance, fast part', () => {
  it('x509-limbo core: no case fails, hangs or drifts from its listed divergence', () => {
    const run = runHarness('conformance/x509-limbo.mjs', ['--core', '--out', resolve(root, 'conformance/out/x509-limbo-core.json')]);
    assert.equal(run.failed, 0);
    assert.ok(run.passed >= 188, `passed ${run.passed}`);
    assert.match(run.stdout, /; 0 hangs;/);
  });

  it('Wycheproof: every vector of the 13 files right through our parser and signature path', () => {
    const run = runHarness('conformance/wycheproof.mjs');
    assert.equal(run.passed, 5238);
    assert.equal(run.failed, 0);
  });

  it('NIST PKITS: every entry right or listed with its reason in conformance/nist-pkits-exceptions.json', () => {
    const run = runHarness('conformance/nist-pkits.mjs');
    assert.equal(run.failed, 0);
    assert.ok(run.passed >= 244, `passed ${run.passed}`);
  });
});
