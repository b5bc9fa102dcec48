import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DerReader, readSingle, Tag, type PkiErrorCode } from '../src/index.js';
import { assertPkiError } from './helpers/assert-pki.js';

const bytes = (...values: number[]): Buffer => Buffer.from(values);
const filled = (length: number): number[] => Array.from({ length }, (_, i) => i & 0xff);

interface ReadSingleCase {
  readonly name: string;
  readonly input: Buffer;
  readonly expected: { readonly tag: number; readonly contentLength: number } | { readonly code: PkiErrorCode };
}

const READ_SINGLE_CASES: readonly ReadSingleCase[] = [
  { name: 'NULL', input: bytes(0x05, 0x00), expected: { tag: Tag.NULL, contentLength: 0 } },
  { name: 'short-form length 127', input: bytes(0x04, 0x7f, ...filled(127)), expected: { tag: Tag.OCTET_STRING, contentLength: 127 } },
  { name: 'long-form length 128 (0x81 0x80)', input: bytes(0x04, 0x81, 0x80, ...filled(128)), expected: { tag: Tag.OCTET_STRING, contentLength: 128 } },
  { name: 'long-form length 256 (0x82 0x01 0x00)', input: bytes(0x04, 0x82, 0x01, 0x00, ...filled(256)), expected: { tag: Tag.OCTET_STRING, contentLength: 256 } },
  { name: 'constructed SEQUENCE', input: bytes(0x30, 0x03, 0x02, 0x01, 0x05), expected: { tag: Tag.SEQUENCE, contentLength: 3 } },
  { name: 'empty input', input: bytes(), expected: { code: 'DER_MALFORMED' } },
  { name: 'tag without length', input: bytes(0x30), expected: { code: 'DER_MALFORMED' } },
  { name: 'indefinite length (0x80)', input: bytes(0x30, 0x80, 0x05, 0x00, 0x00, 0x00), expected: { code: 'DER_MALFORMED' } },
  { name: 'non-minimal long form for a short length (0x81 0x05)', input: bytes(0x04, 0x81, 0x05, 1, 2, 3, 4, 5), expected: { code: 'DER_MALFORMED' } },
  { name: 'non-minimal long form with a leading zero octet (0x82 0x00 0x80)', input: bytes(0x04, 0x82, 0x00, 0x80, ...filled(128)), expected: { code: 'DER_MALFORMED' } },
  { name: 'length field longer than 4 octets', input: bytes(0x04, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00), expected: { code: 'DER_MALFORMED' } },
  { name: 'long-form length octets cut off', input: bytes(0x04, 0x82, 0x01), expected: { code: 'DER_MALFORMED' } },
  { name: 'length running past the buffer', input: bytes(0x04, 0x05, 1, 2), expected: { code: 'DER_MALFORMED' } },
  { name: 'long-form length running past the buffer', input: bytes(0x04, 0x81, 0x90, ...filled(0x8f)), expected: { code: 'DER_MALFORMED' } },
  { name: 'high tag number form (0x1f)', input: bytes(0x1f, 0x22, 0x00), expected: { code: 'DER_MALFORMED' } },
  { name: 'high tag number form, context class (0xbf)', input: bytes(0xbf, 0x81, 0x00, 0x00), expected: { code: 'DER_MALFORMED' } },
  { name: 'trailing data after the element', input: bytes(0x05, 0x00, 0x00), expected: { code: 'DER_TRAILING_DATA' } },
  { name: 'second element after the first', input: bytes(0x02, 0x01, 0x01, 0x02, 0x01, 0x02), expected: { code: 'DER_TRAILING_DATA' } },
];

describe('readSingle', () => {
  for (const c of READ_SINGLE_CASES) {
    it(c.name, () => {
      if ('code' in c.expected) {
        assertPkiError(() => readSingle(c.input, 'test'), c.expected.code);
        return;
      }
      const el = readSingle(c.input, 'test');
      assert.equal(el.tag, c.expected.tag);
      assert.equal(el.contents.length, c.expected.contentLength);
      assert.ok(el.encoded.equals(c.input));
      assert.ok(el.contents.equals(c.input.subarray(c.input.length - c.expected.contentLength)));
    });
  }
});

describe('DerReader', () => {
  // SEQUENCE { INTEGER 5, OCTET STRING 'ab', BOOLEAN TRUE }
  const structure = bytes(0x30, 0x0a, 0x02, 0x01, 0x05, 0x04, 0x02, 0x61, 0x62, 0x01, 0x01, 0xff);

  it('walks a SEQUENCE with enter/expect/optional/expectEnd', () => {
    const top = new DerReader(structure, 'test');
    const inner = top.enter(Tag.SEQUENCE, 'outer');
    assert.equal(top.atEnd(), true);
    assert.equal(inner.peekTag(), Tag.INTEGER);
    assert.deepEqual([...inner.expect(Tag.INTEGER, 'n').contents], [0x05]);
    assert.equal(inner.optional(Tag.NULL), undefined);
    assert.equal(inner.optional(Tag.OCTET_STRING)?.contents.toString('latin1'), 'ab');
    assert.deepEqual([...inner.read().contents], [0xff]);
    assert.equal(inner.atEnd(), true);
    assert.equal(inner.peekTag(), undefined);
    inner.expectEnd('last');
  });

  interface ReaderCase {
    readonly name: string;
    readonly run: () => unknown;
    readonly code: PkiErrorCode;
  }
  const FAILURES: readonly ReaderCase[] = [
    { name: 'expect with the wrong tag', run: () => new DerReader(structure, 'test').expect(Tag.SET, 'x'), code: 'DER_MALFORMED' },
    { name: 'expect at the end of data', run: () => new DerReader(bytes(), 'test').expect(Tag.SEQUENCE, 'x'), code: 'DER_MALFORMED' },
    { name: 'read at the end of data', run: () => new DerReader(bytes(), 'test').read(), code: 'DER_MALFORMED' },
    {
      name: 'expectEnd with data left over',
      run: () => {
        const inner = new DerReader(structure, 'test').enter(Tag.SEQUENCE, 'outer');
        inner.read();
        inner.expectEnd('first');
      },
      code: 'DER_MALFORMED',
    },
    {
      // The outer SEQUENCE holds 2 octets; its child claims 5, which exist only outside it.
      name: 'a child cannot run past its parent even when the buffer goes on',
      run: () => {
        const top = new DerReader(bytes(0x30, 0x02, 0x04, 0x05, 0x01, 0x02, 0x03, 0x04, 0x05), 'test');
        top.enter(Tag.SEQUENCE, 'outer').read();
      },
      code: 'DER_MALFORMED',
    },
    {
      name: 'a reader bounded by start/end stops at its end',
      run: () => new DerReader(bytes(0x05, 0x00, 0x04, 0x02, 0x61, 0x62), 'test', 2, 4).read(),
      code: 'DER_MALFORMED',
    },
    { name: 'indefinite length inside a SEQUENCE', run: () => new DerReader(bytes(0x30, 0x04, 0x30, 0x80, 0x00, 0x00), 'test').enter(Tag.SEQUENCE, 'o').read(), code: 'DER_MALFORMED' },
    { name: 'high tag number inside a SEQUENCE', run: () => new DerReader(bytes(0x30, 0x02, 0x3f, 0x00), 'test').enter(Tag.SEQUENCE, 'o').read(), code: 'DER_MALFORMED' },
  ];
  for (const c of FAILURES) {
    it(c.name, () => assertPkiError(c.run, c.code));
  }

  it('start/end bound a reader to a window of the buffer', () => {
    const reader = new DerReader(bytes(0x05, 0x00, 0x04, 0x02, 0x61, 0x62, 0x05, 0x00), 'test', 2, 6);
    assert.equal(reader.read().contents.toString('latin1'), 'ab');
    assert.equal(reader.atEnd(), true);
  });
});
