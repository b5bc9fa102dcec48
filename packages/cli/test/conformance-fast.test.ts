import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/**
 * The fast part of the conformance set runs with every test run: x509-limbo's 208 core cases,
 * every Wycheproof vector and NIST PKITS. `npm run conformance` adds limbo's BetterTLS cases and the
 * BetterTLS export.
 */
describe('conformance, fast part', () => {
  it('no case fails, hangs or drifts from its listed divergence', () => {
    const result = spawnSync(process.execPath, ['conformance/x509-limbo.mjs', '--core', '--out', resolve(root, 'conformance/out/x509-limbo-core.json')], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    const summary = /^(\d+) passed, (\d+) failed, (\d+) skipped$/m.exec(result.stdout);
    assert.ok(summary, result.stdout);
    assert.equal(Number(summary[2]), 0);
    assert.ok(Number(summary[1]) >= 187, `passed ${summary[1]}`);
    assert.match(result.stdout, /; 0 hangs;/);
  });
});

describe('Wycheproof', () => {
  it('every vector of the 13 files is answered right through our parser and signature path', () => {
    const result = spawnSync(process.execPath, ['conformance/wycheproof.mjs'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    const summary = /^(\d+) passed, (\d+) failed, (\d+) skipped$/m.exec(result.stdout);
    assert.ok(summary, result.stdout);
    assert.equal(Number(summary[1]), 5238);
    assert.equal(Number(summary[2]), 0);
  });
});

describe('NIST PKITS', () => {
  it('every entry right or listed with its reason in conformance/nist-pkits-exceptions.json', () => {
    const result = spawnSync(process.execPath, ['conformance/nist-pkits.mjs'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    const summary = /^(\d+) passed, (\d+) failed, (\d+) skipped$/m.exec(result.stdout);
    assert.ok(summary, result.stdout);
    assert.equal(Number(summary[2]), 0);
    assert.ok(Number(summary[1]) >= 244, `passed ${summary[1]}`);
  });
});
