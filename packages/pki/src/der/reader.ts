import { PkiError } from '../errors.js';
import { Tag } from './tags.js';

/** One TLV as located in its buffer; the bytes are never copied. */
export interface DerElement {
  readonly tag: number;
  /** The whole encoding, header included. */
  readonly encoded: Buffer;
  /** The content octets. */
  readonly contents: Buffer;
}

/** The one way the parsers report bytes that are not the DER they should be. */
export function derMalformed(what: string, reason: string): PkiError {
  return new PkiError('DER_MALFORMED', `${what}: ${reason}`, { what, reason });
}

const malformed = derMalformed;

/**
 * A strict X.690 DER reader. It refuses what BER allows and DER forbids: indefinite lengths,
 * non-minimal lengths, high tag numbers (X.509 never uses them), elements that run past their
 * parent. Readers over sub-structures share the same buffer.
 */
export class DerReader {
  private offset: number;

  constructor(
    private readonly buffer: Buffer,
    private readonly what: string,
    start = 0,
    private readonly end = buffer.length,
  ) {
    this.offset = start;
  }

  atEnd(): boolean {
    return this.offset >= this.end;
  }

  peekTag(): number | undefined {
    return this.atEnd() ? undefined : this.buffer[this.offset];
  }

  read(): DerElement {
    const buf = this.buffer;
    const start = this.offset;
    if (start >= this.end) throw malformed(this.what, 'unexpected end of data');
    const tag = buf[start] as number;
    if ((tag & 0x1f) === 0x1f) throw malformed(this.what, 'high-tag-number form is not used in X.509');
    if (start + 1 >= this.end) throw malformed(this.what, 'missing length');
    const first = buf[start + 1] as number;
    let length: number;
    let header: number;
    if (first < 0x80) {
      length = first;
      header = 2;
    } else if (first === 0x80) {
      throw malformed(this.what, 'indefinite length is not DER');
    } else {
      const count = first & 0x7f;
      // 4 length octets cover 4 GiB; anything longer cannot be a certificate.
      if (count > 4) throw malformed(this.what, 'length field too long');
      if (start + 2 + count > this.end) throw malformed(this.what, 'truncated length');
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + (buf[start + 2 + i] as number);
      if (buf[start + 2] === 0 || length < 0x80) throw malformed(this.what, 'non-minimal length encoding');
      header = 2 + count;
    }
    const contentStart = start + header;
    const contentEnd = contentStart + length;
    if (contentEnd > this.end) throw malformed(this.what, 'element runs past the end of its container');
    this.offset = contentEnd;
    return {
      tag,
      encoded: buf.subarray(start, contentEnd),
      contents: buf.subarray(contentStart, contentEnd),
    };
  }

  /** Reads one element and insists on its tag. */
  expect(tag: number, field: string): DerElement {
    const next = this.peekTag();
    if (next !== tag) {
      throw malformed(
        this.what,
        next === undefined
          ? `missing ${field}`
          : `${field}: expected tag 0x${tag.toString(16)}, found 0x${next.toString(16)}`,
      );
    }
    return this.read();
  }

  optional(tag: number): DerElement | undefined {
    return this.peekTag() === tag ? this.read() : undefined;
  }

  /** Reads a constructed element and returns a reader over its contents. */
  enter(tag: number, field: string): DerReader {
    const el = this.expect(tag, field);
    return readerOver(el, `${this.what} ${field}`);
  }

  expectEnd(field: string): void {
    if (!this.atEnd()) throw malformed(this.what, `unexpected data after ${field}`);
  }
}

export function readerOver(el: DerElement, what: string): DerReader {
  const base = el.contents;
  return new DerReader(base, what, 0, base.length);
}

/** Parses exactly one element filling the whole buffer. */
export function readSingle(buffer: Buffer, what: string): DerElement {
  const reader = new DerReader(buffer, what);
  const el = reader.read();
  if (!reader.atEnd()) {
    throw new PkiError('DER_TRAILING_DATA', `${what}: trailing data after the DER structure`, { what });
  }
  return el;
}

/** A reader over the contents of `der`, which must be exactly one SEQUENCE (an extension value, say). */
export function sequenceReader(der: Buffer, what: string): DerReader {
  const seq = readSingle(der, what);
  if (seq.tag !== Tag.SEQUENCE) throw malformed(what, 'expected SEQUENCE');
  return readerOver(seq, what);
}

/** INTEGER content, checked for minimal two's-complement encoding (X.690 §8.3.2). */
export function integerBytes(el: DerElement, what: string): Buffer {
  if (el.tag !== Tag.INTEGER) throw malformed(what, 'expected INTEGER');
  const c = el.contents;
  if (c.length === 0) throw malformed(what, 'empty INTEGER');
  if (c.length > 1) {
    const a = c[0] as number;
    const b = c[1] as number;
    if ((a === 0x00 && b < 0x80) || (a === 0xff && b >= 0x80)) throw malformed(what, 'non-minimal INTEGER');
  }
  return c;
}

/** A small non-negative INTEGER such as a version or pathLenConstraint. */
export function integerSmall(el: DerElement, what: string): number {
  const c = integerBytes(el, what);
  if (((c[0] as number) & 0x80) !== 0) throw malformed(what, 'negative value');
  if (c.length > 4) throw malformed(what, 'value too large');
  let value = 0;
  for (const byte of c) value = value * 256 + byte;
  return value;
}

/** A small INTEGER that may be negative (CMP's certReqId is -1 for p10cr, RFC 9483 §4.1.4). */
export function integerSigned(el: DerElement, what: string): number {
  const c = integerBytes(el, what);
  if (c.length > 4) throw malformed(what, 'value too large');
  return c.readIntBE(0, c.length);
}

export function booleanValue(el: DerElement, what: string): boolean {
  if (el.tag !== Tag.BOOLEAN || el.contents.length !== 1) throw malformed(what, 'expected BOOLEAN');
  const v = el.contents[0];
  // DER allows only 0x00 and 0xFF (X.690 §11.1).
  if (v === 0x00) return false;
  if (v === 0xff) return true;
  throw malformed(what, 'BOOLEAN must be 0x00 or 0xFF in DER');
}

export interface BitString {
  readonly unusedBits: number;
  readonly bytes: Buffer;
}

export function bitString(el: DerElement, what: string): BitString {
  if (el.tag !== Tag.BIT_STRING) throw malformed(what, 'expected BIT STRING');
  const c = el.contents;
  if (c.length === 0) throw malformed(what, 'empty BIT STRING');
  const unusedBits = c[0] as number;
  if (unusedBits > 7 || (c.length === 1 && unusedBits !== 0)) throw malformed(what, 'bad unused-bits count');
  // DER: the unused bits are zero (X.690 §11.2.1).
  if (unusedBits > 0 && ((c[c.length - 1] as number) & ((1 << unusedBits) - 1)) !== 0) {
    throw malformed(what, 'unused bits are not zero');
  }
  return { unusedBits, bytes: c.subarray(1) };
}

export function oidString(el: DerElement, what: string): string {
  if (el.tag !== Tag.OID) throw malformed(what, 'expected OBJECT IDENTIFIER');
  return decodeOid(el.contents, what);
}

export function decodeOid(c: Buffer, what: string): string {
  if (c.length === 0) throw malformed(what, 'empty OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let value = 0;
  let fresh = true;
  for (let i = 0; i < c.length; i++) {
    const byte = c[i] as number;
    if (fresh && byte === 0x80) throw malformed(what, 'non-minimal OID arc');
    // Arcs beyond 2^53 cannot be represented; no real OID comes near.
    if (value > 2 ** 45) throw malformed(what, 'OID arc too large');
    value = value * 128 + (byte & 0x7f);
    fresh = false;
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0;
      fresh = true;
    }
  }
  if (!fresh) throw malformed(what, 'truncated OID');
  const first = arcs[0] as number;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

const DIGITS = /^[0-9]+$/;

/**
 * Named leniency: GeneralizedTime for years before 2050, where RFC 5280 §4.1.2.5 asks for
 * UTCTime. Both encode the same instant unambiguously, and Go's crypto/x509 and rustls-webpki
 * accept it too; refusing would turn away working certificates for no safety gain.
 */
export const ACCEPT_GENERALIZED_TIME_BEFORE_2050 = true;

/** UTCTime and GeneralizedTime in the only forms RFC 5280 §4.1.2.5 allows: seconds, 'Z'. */
export function timeValue(el: DerElement, what: string): Date {
  const text = el.contents.toString('latin1');
  let year: number;
  let rest: string;
  if (el.tag === Tag.UTC_TIME) {
    if (text.length !== 13 || text[12] !== 'Z' || !DIGITS.test(text.slice(0, 12))) {
      throw malformed(what, `UTCTime must be YYMMDDHHMMSSZ, got "${text}"`);
    }
    const yy = Number(text.slice(0, 2));
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    rest = text.slice(2, 12);
  } else if (el.tag === Tag.GENERALIZED_TIME) {
    if (text.length !== 15 || text[14] !== 'Z' || !DIGITS.test(text.slice(0, 14))) {
      throw malformed(what, `GeneralizedTime must be YYYYMMDDHHMMSSZ, got "${text}"`);
    }
    year = Number(text.slice(0, 4));
    rest = text.slice(4, 14);
    if (!ACCEPT_GENERALIZED_TIME_BEFORE_2050 && year >= 1950 && year < 2050) {
      throw malformed(what, 'GeneralizedTime for a year UTCTime covers (RFC 5280 §4.1.2.5)');
    }
  } else {
    throw malformed(what, 'expected UTCTime or GeneralizedTime');
  }
  const month = Number(rest.slice(0, 2));
  const day = Number(rest.slice(2, 4));
  const hour = Number(rest.slice(4, 6));
  const minute = Number(rest.slice(6, 8));
  const second = Number(rest.slice(8, 10));
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const date = new Date(ms);
  if (
    month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59 ||
    date.getUTCDate() !== day || date.getUTCMonth() !== month - 1
  ) {
    throw malformed(what, `invalid date "${text}"`);
  }
  if (year < 100) date.setUTCFullYear(year);
  return date;
}

/**
 * Named leniency: PrintableString values with '*' or '&'. Both are outside X.680's
 * PrintableString alphabet, but CAs have long written wildcard names and company names with
 * them there, and Go's crypto/x509 accepts exactly these two for that reason.
 */
export const ACCEPT_ASTERISK_AND_AMPERSAND_IN_PRINTABLE_STRING = true;

const PRINTABLE_STRING = ACCEPT_ASTERISK_AND_AMPERSAND_IN_PRINTABLE_STRING
  ? /^[A-Za-z0-9 '()+,\-./:=?*&]*$/
  : /^[A-Za-z0-9 '()+,\-./:=?]*$/;
const IA5_STRING = /^\p{ASCII}*$/u;
const VISIBLE_STRING = /^[\x20-\x7e]*$/;

/** Decodes the directory-string types X.509 names use, checking each type's alphabet. */
export function stringValue(el: DerElement, what: string): string {
  const c = el.contents;
  switch (el.tag) {
    case Tag.UTF8_STRING: {
      const text = c.toString('utf8');
      if (!Buffer.from(text, 'utf8').equals(c)) throw malformed(what, 'invalid UTF-8');
      return text;
    }
    case Tag.PRINTABLE_STRING:
    case Tag.IA5_STRING:
    case Tag.VISIBLE_STRING: {
      const text = c.toString('latin1');
      const alphabet = el.tag === Tag.PRINTABLE_STRING ? PRINTABLE_STRING : el.tag === Tag.IA5_STRING ? IA5_STRING : VISIBLE_STRING;
      if (!alphabet.test(text)) throw malformed(what, `characters outside the alphabet of string type 0x${el.tag.toString(16)}`);
      return text;
    }
    case Tag.T61_STRING:
      // T.61 has no faithful Unicode mapping; every verifier we follow reads it as Latin-1.
      return c.toString('latin1');
    case Tag.BMP_STRING: {
      if (c.length % 2 !== 0) throw malformed(what, 'odd-length BMPString');
      const swapped = Buffer.from(c);
      swapped.swap16();
      return swapped.toString('utf16le');
    }
    case Tag.UNIVERSAL_STRING: {
      if (c.length % 4 !== 0) throw malformed(what, 'bad UniversalString length');
      let out = '';
      for (let i = 0; i < c.length; i += 4) {
        const codePoint = c.readUInt32BE(i);
        // UCS-4 past Unicode's last code point, or a surrogate, is no character (ITU-T X.680 §41).
        if (codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) throw malformed(what, `UniversalString code point 0x${codePoint.toString(16)} is not a character`);
        out += String.fromCodePoint(codePoint);
      }
      return out;
    }
    default:
      throw malformed(what, `unexpected string tag 0x${el.tag.toString(16)}`);
  }
}
