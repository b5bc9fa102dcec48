import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_SIGNATURE_CHECKS } from '../src/verify-chain.js';
import { DAY_MS, makeDevice, makeForbiddenIntermediate, makeIntermediate, makeRoot, T0, type Issued } from '@fleetpki/test-support';
import { PkiError, verifyChain, type ChainVerificationResult } from '../src/index.js';

/**
 * Chain failures carry their facts typed by code (PKI_ERROR_FACTS), with the place in the path of
 * the certificate concerned; running out of budget is a fatal outcome of its own.
 */

const root = makeRoot('/CN=Facts Root', { from: T0 });
const shortIntermediate = makeIntermediate(root, '/CN=Facts Short CA', { from: T0, days: 10 });
const leaf = makeDevice(shortIntermediate, '/O=acme/CN=facts-1', { from: T0, days: 5 });
const flatLeaf = makeDevice(root, '/O=acme/CN=facts-2', { from: T0, days: 30 });

const verify = (device: Issued, time: Date, intermediates: readonly Issued[] = [shortIntermediate]): ChainVerificationResult =>
  verifyChain({ leaf: device.cert, anchors: [root.cert], intermediates: intermediates.map((i) => i.cert), time, options: { purpose: 'client' } });

describe('chain failures: facts by code', () => {
  it('CERT_EXPIRED says when the leaf expired, the time judged at, and certIndex 0', () => {
    const time = new Date(T0.getTime() + 7 * DAY_MS);
    const result = verify(leaf, time);
    assert.equal(result.ok, false);
    if (result.ok || result.code !== 'CERT_EXPIRED') return assert.fail(`expected CERT_EXPIRED, got ${JSON.stringify(result)}`);
    assert.deepEqual(result.context, { notAfter: leaf.cert.notAfter.toISOString(), at: time.toISOString(), certIndex: 0 });
  });

  it('PATH_LEN_EXCEEDED names the CA (certIndex 2), its pathLen and the intermediates below it', () => {
    const root0 = makeRoot('/CN=Facts Root pathLen 0', { from: T0, pathLen: 0 });
    const forbidden = makeForbiddenIntermediate(root0, '/CN=Facts Forbidden CA', { from: T0 });
    const deep = makeDevice(forbidden, '/O=acme/CN=facts-deep', { from: T0 });
    const result = verifyChain({ leaf: deep.cert, anchors: [root0.cert], intermediates: [forbidden.cert], time: new Date(T0.getTime() + DAY_MS), options: { purpose: 'client' } });
    if (result.ok || result.code !== 'PATH_LEN_EXCEEDED') return assert.fail(`expected PATH_LEN_EXCEEDED, got ${JSON.stringify(result)}`);
    assert.deepEqual(result.context, { pathLen: 0, intermediatesBelow: 1, certIndex: 2 });
    const underRoot = verify(flatLeaf, new Date(T0.getTime() + 31 * DAY_MS), []);
    if (underRoot.ok || underRoot.code !== 'CERT_EXPIRED') return assert.fail('expected CERT_EXPIRED');
    assert.equal(underRoot.context.notAfter, flatLeaf.cert.notAfter.toISOString());
  });

  it('CERT_NOT_YET_VALID says notBefore and the time', () => {
    const time = new Date(T0.getTime() - DAY_MS);
    const result = verify(flatLeaf, time, []);
    if (result.ok || result.code !== 'CERT_NOT_YET_VALID') return assert.fail(`expected CERT_NOT_YET_VALID, got ${JSON.stringify(result)}`);
    assert.equal(result.context.notBefore, flatLeaf.cert.notBefore.toISOString());
    assert.equal(result.context.at, time.toISOString());
  });

  it('UNKNOWN_ISSUER and CERT_SIGNATURE_INVALID name their place in the path', () => {
    const stranger = makeRoot('/CN=Stranger Root', { from: T0 });
    const orphan = makeDevice(stranger, '/O=acme/CN=orphan', { from: T0 });
    const unknown = verify(orphan, new Date(T0.getTime() + DAY_MS), []);
    if (unknown.ok || unknown.code !== 'UNKNOWN_ISSUER') return assert.fail('expected UNKNOWN_ISSUER');
    assert.deepEqual(unknown.context, { certIndex: 0 });
    const twin = makeRoot('/CN=Facts Root', { from: T0 });
    const forged = makeDevice(twin, '/O=acme/CN=forged', { from: T0 });
    const bad = verify(forged, new Date(T0.getTime() + DAY_MS), []);
    if (bad.ok || bad.code !== 'CERT_SIGNATURE_INVALID') return assert.fail(`expected CERT_SIGNATURE_INVALID, got ${JSON.stringify(bad)}`);
    assert.deepEqual(bad.context, { certIndex: 0 });
  });

  it('a pool of look-alike issuers ends in VALIDATION_BUDGET_EXHAUSTED, not in the signature failures before it', () => {
    // More issuers named like the leaf's than the signature budget allows, none with its key.
    const pool = Array.from({ length: MAX_SIGNATURE_CHECKS + 6 }, () => makeIntermediate(root, '/CN=Pool CA', { from: T0 }));
    const realIssuer = makeIntermediate(root, '/CN=Pool CA', { from: T0 });
    const pooled = makeDevice(realIssuer, '/O=acme/CN=pooled', { from: T0 });
    const result = verify(pooled, new Date(T0.getTime() + DAY_MS), pool);
    if (result.ok || result.code !== 'VALIDATION_BUDGET_EXHAUSTED') return assert.fail(`expected VALIDATION_BUDGET_EXHAUSTED, got ${result.ok ? 'ok' : result.code}`);
    assert.equal(result.context.signatureChecks, MAX_SIGNATURE_CHECKS);
    assert.equal(result.context.certIndex, 0);
    assert.equal(typeof result.context.pathsChecked, 'number');
    // With the real issuer among the first candidates the same pool is no obstacle.
    const found = verify(pooled, new Date(T0.getTime() + DAY_MS), [realIssuer, ...pool]);
    assert.equal(found.ok, true);
  });
});

describe('PkiError: context typed by code', () => {
  it('carries the facts it was given, and the compiler asks for the required ones', () => {
    const error = new PkiError('SUBJECT_O_MISMATCH', 'x', { found: 'beta', expected: 'acme' });
    assert.deepEqual(error.context, { found: 'beta', expected: 'acme' });
    // @ts-expect-error SUBJECT_O_MISMATCH has required facts
    const missing = new PkiError('SUBJECT_O_MISMATCH', 'x');
    assert.deepEqual(missing.context, {});
    // @ts-expect-error a fact the code does not have
    const extra = new PkiError('PEM_MALFORMED', 'x', { certIndex: 1 });
    assert.equal(extra.code, 'PEM_MALFORMED');
  });
});
