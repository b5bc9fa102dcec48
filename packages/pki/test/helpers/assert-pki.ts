import assert from 'node:assert/strict';
import { isPkiError, type PkiErrorCode } from '../../src/index.js';

/** Asserts that `fn` throws a PkiError with exactly this code (never looks at the message). */
export function assertPkiError(fn: () => unknown, code: PkiErrorCode): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isPkiError(err), `expected a PkiError with code ${code}, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

/** The PkiError code `fn` throws, or undefined when it returns normally; other errors propagate. */
export function pkiErrorCode(fn: () => unknown): PkiErrorCode | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (isPkiError(err)) return err.code;
    throw err;
  }
}

/**
 * Like assertPkiError for calls that may be synchronous or return a promise (signCsr and
 * verifyCsrSignature are async): a synchronous throw and a rejection count the same.
 */
export async function assertPkiRejects(fn: () => unknown, code: PkiErrorCode): Promise<void> {
  await assert.rejects(
    Promise.resolve().then(fn),
    (err: unknown) => {
      assert.ok(isPkiError(err), `expected a PkiError with code ${code}, got ${String(err)}`);
      assert.equal(err.code, code);
      return true;
    },
  );
}

/** Asserts that `fn` throws a PkiError whose code is one of `codes` (for an argument error either code names well). */
export function assertPkiErrorOneOf(fn: () => unknown, codes: readonly PkiErrorCode[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isPkiError(err), `expected a PkiError with one of ${codes.join(', ')}, got ${String(err)}`);
    assert.ok(codes.includes(err.code), `code ${err.code} is not one of ${codes.join(', ')}`);
    return true;
  });
}
