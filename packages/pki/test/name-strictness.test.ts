import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { constructed, oid, sequence, tlv } from '../src/der/writer.js';
import { ACCEPT_ASTERISK_AND_AMPERSAND_IN_PRINTABLE_STRING, isPkiError, Oid, parseName, readSingle, Tag, type PkiErrorCode } from '../src/index.js';

/** A Name from raw RDN SETs, members kept in the order given (the writer would sort them). */
function nameOf(...rdns: Buffer[][]): Buffer {
  return sequence(rdns.map((members) => constructed(Tag.SET, members)));
}

function atv(type: string, tag: number, value: Buffer | string): Buffer {
  return sequence([oid(type), tlv(tag, Buffer.isBuffer(value) ? value : Buffer.from(value, 'latin1'))]);
}

const parse = (der: Buffer): ReturnType<typeof parseName> => parseName(readSingle(der, 'name'), 'name');

describe('parseName strictness', () => {
  const cn = atv(Oid.commonName, Tag.UTF8_STRING, 'b');
  const o = atv(Oid.organizationName, Tag.UTF8_STRING, 'a');
  const [first, second] = [cn, o].sort(Buffer.compare) as [Buffer, Buffer];

  const refusals: readonly { name: string; der: Buffer; code: PkiErrorCode }[] = [
    { name: 'a multi-valued RDN out of DER order', der: nameOf([second, first]), code: 'DER_MALFORMED' },
    { name: 'an empty RDN', der: nameOf([]), code: 'DER_MALFORMED' },
    { name: 'PrintableString with "@"', der: nameOf([atv(Oid.commonName, Tag.PRINTABLE_STRING, 'a@b')]), code: 'DER_MALFORMED' },
    { name: 'PrintableString with "_"', der: nameOf([atv(Oid.commonName, Tag.PRINTABLE_STRING, 'a_b')]), code: 'DER_MALFORMED' },
    { name: 'IA5String with a non-ASCII octet', der: nameOf([atv(Oid.emailAddress, Tag.IA5_STRING, Buffer.from([0x61, 0xff]))]), code: 'DER_MALFORMED' },
    { name: 'VisibleString with a control character', der: nameOf([atv(Oid.commonName, Tag.VISIBLE_STRING, Buffer.from([0x61, 0x0a]))]), code: 'DER_MALFORMED' },
    { name: 'UTF8String that is not UTF-8', der: nameOf([atv(Oid.commonName, Tag.UTF8_STRING, Buffer.from([0xc3, 0x28]))]), code: 'DER_MALFORMED' },
    // Found by parser-fuzz.test.ts: String.fromCodePoint threw a RangeError past U+10FFFF.
    { name: 'UniversalString past U+10FFFF (0x54657374)', der: nameOf([atv(Oid.commonName, Tag.UNIVERSAL_STRING, Buffer.from('Test', 'latin1'))]), code: 'DER_MALFORMED' },
    { name: 'UniversalString with a surrogate code point', der: nameOf([atv(Oid.commonName, Tag.UNIVERSAL_STRING, Buffer.from([0, 0, 0xd8, 0x00]))]), code: 'DER_MALFORMED' },
  ];
  for (const refusal of refusals) {
    it(`refuses ${refusal.name}`, () => {
      assert.throws(() => parse(refusal.der), (err: unknown) => isPkiError(err) && err.code === refusal.code);
    });
  }

  it('accepts a multi-valued RDN in DER order', () => {
    const name = parse(nameOf([first, second]));
    assert.equal(name.rdns[0]?.length, 2);
  });

  it('accepts "*" and "&" in PrintableString, the named leniency Go also has', () => {
    assert.equal(ACCEPT_ASTERISK_AND_AMPERSAND_IN_PRINTABLE_STRING, true);
    const name = parse(nameOf([atv(Oid.commonName, Tag.PRINTABLE_STRING, '*.example.com')], [atv(Oid.organizationName, Tag.PRINTABLE_STRING, 'A & B')]));
    assert.deepEqual(name.rdns.map((rdn) => rdn[0]?.value), ['*.example.com', 'A & B']);
  });

  it('keeps a value that is no directory string as RFC 4514 hex instead of refusing the name', () => {
    const uniqueId = tlv(Tag.BIT_STRING, Buffer.from([0x00, 0xab, 0xcd]));
    const numeric = tlv(0x12, Buffer.from('12345', 'latin1'));
    const der = nameOf([sequence([oid('2.5.4.45'), uniqueId])], [sequence([oid('2.5.4.99'), numeric])], [atv(Oid.commonName, Tag.UTF8_STRING, 'x')]);
    const name = parse(der);
    assert.deepEqual(
      name.rdns.map((rdn) => [rdn[0]?.type, rdn[0]?.valueTag, rdn[0]?.value]),
      [
        ['2.5.4.45', Tag.BIT_STRING, `#${uniqueId.toString('hex')}`],
        ['2.5.4.99', 0x12, `#${numeric.toString('hex')}`],
        [Oid.commonName, Tag.UTF8_STRING, 'x'],
      ],
    );
    assert.ok(name.der.equals(der), 'the exact DER is kept for comparisons');
  });
});
