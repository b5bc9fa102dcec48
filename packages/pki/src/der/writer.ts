import { Oid } from '../oids.js';
import { Tag } from './tags.js';

/**
 * A minimal DER writer: every function returns the complete encoding of one element. Issuance
 * builds the TBSCertificate from these plus pre-encoded constant parts, which is what keeps it
 * close to the raw signing rate (see bench/issuance.mjs).
 */
export function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  if (length < 0x100) return Buffer.from([0x81, length]);
  if (length < 0x10000) return Buffer.from([0x82, length >> 8, length & 0xff]);
  if (length < 0x1000000) return Buffer.from([0x83, length >> 16, (length >> 8) & 0xff, length & 0xff]);
  return Buffer.from([0x84, (length >>> 24) & 0xff, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff]);
}

export function tlv(tag: number, contents: Buffer): Buffer {
  const length = contents.length;
  if (length < 0x80) {
    const out = Buffer.allocUnsafe(2 + length);
    out[0] = tag;
    out[1] = length;
    contents.copy(out, 2);
    return out;
  }
  return Buffer.concat([Buffer.from([tag]), encodeLength(length), contents]);
}

/** A constructed element from already-encoded children, concatenated once. */
export function constructed(tag: number, children: readonly Buffer[]): Buffer {
  let length = 0;
  for (const child of children) length += child.length;
  const header = encodeLength(length);
  const out = Buffer.allocUnsafe(1 + header.length + length);
  out[0] = tag;
  header.copy(out, 1);
  let offset = 1 + header.length;
  for (const child of children) {
    child.copy(out, offset);
    offset += child.length;
  }
  return out;
}

export function sequence(children: readonly Buffer[]): Buffer {
  return constructed(Tag.SEQUENCE, children);
}

/** SET OF with its elements sorted by encoding, as DER requires (X.690 §11.6). */
export function setOf(children: readonly Buffer[]): Buffer {
  return constructed(Tag.SET, [...children].sort(Buffer.compare));
}

export function explicit(n: number, inner: Buffer): Buffer {
  return constructed(0xa0 | n, [inner]);
}

/** An INTEGER from unsigned big-endian magnitude bytes, minimally encoded. */
export function unsignedInteger(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  if (trimmed.length === 0) return Buffer.from([Tag.INTEGER, 1, 0]);
  const pad = ((trimmed[0] as number) & 0x80) !== 0;
  return tlv(Tag.INTEGER, pad ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

export function smallInteger(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) throw new RangeError(`integer out of range: ${value}`);
  const bytes: number[] = [];
  let v = value;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if (((bytes[0] as number) & 0x80) !== 0) bytes.unshift(0);
  return tlv(Tag.INTEGER, Buffer.from(bytes));
}

export function booleanTrue(): Buffer {
  return Buffer.from([Tag.BOOLEAN, 1, 0xff]);
}

export function octetString(contents: Buffer): Buffer {
  return tlv(Tag.OCTET_STRING, contents);
}

export function bitStringOf(bytes: Buffer, unusedBits = 0): Buffer {
  return tlv(Tag.BIT_STRING, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

/**
 * A named-bit BIT STRING (KeyUsage) with bit 0 the most significant, trailing zero bits
 * removed as DER requires for named bit lists (X.690 §11.2.2).
 */
export function namedBits(bits: readonly number[]): Buffer {
  if (bits.length === 0) return Buffer.from([Tag.BIT_STRING, 1, 0]);
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc((highest >> 3) + 1);
  for (const bit of bits) bytes[bit >> 3] = (bytes[bit >> 3] as number) | (0x80 >> (bit & 7));
  const unused = 7 - (highest & 7);
  return bitStringOf(bytes, unused);
}

function encodeOid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((part) => {
    if (!/^[0-9]+$/.test(part)) throw new RangeError(`bad OID ${dotted}`);
    return Number(part);
  });
  if (arcs.length < 2) throw new RangeError(`bad OID ${dotted}`);
  const bytes: number[] = [];
  const pushArc = (value: number): void => {
    const chunk: number[] = [value & 0x7f];
    let v = Math.floor(value / 128);
    while (v > 0) {
      chunk.unshift((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    bytes.push(...chunk);
  };
  pushArc((arcs[0] as number) * 40 + (arcs[1] as number));
  for (const arc of arcs.slice(2)) pushArc(arc);
  return tlv(Tag.OID, Buffer.from(bytes));
}

/**
 * The encodings of the OIDs the core names, made once at load: issuance writes a dozen per
 * certificate. A constant table, not a cache: any other OID is encoded when asked, and nothing
 * a caller passes makes it grow.
 */
const KNOWN_OIDS: ReadonlyMap<string, Buffer> = new Map(Object.values(Oid).map((dotted) => [dotted, encodeOid(dotted)]));

export function oid(dotted: string): Buffer {
  return KNOWN_OIDS.get(dotted) ?? encodeOid(dotted);
}

export function nullValue(): Buffer {
  return Buffer.from([Tag.NULL, 0]);
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; seconds, no fraction,
 * always 'Z'. Milliseconds are truncated.
 */
export function time(date: Date): Buffer {
  const year = date.getUTCFullYear();
  const tail =
    pad2(date.getUTCMonth() + 1) + pad2(date.getUTCDate()) + pad2(date.getUTCHours()) +
    pad2(date.getUTCMinutes()) + pad2(date.getUTCSeconds()) + 'Z';
  if (year >= 1950 && year < 2050) {
    return tlv(Tag.UTC_TIME, Buffer.from(pad2(year % 100) + tail, 'latin1'));
  }
  if (year < 0 || year > 9999) throw new RangeError(`year out of range: ${year}`);
  return tlv(Tag.GENERALIZED_TIME, Buffer.from(String(year).padStart(4, '0') + tail, 'latin1'));
}

export function stringOf(tag: number, value: string): Buffer {
  const bytes = tag === Tag.UTF8_STRING ? Buffer.from(value, 'utf8') : Buffer.from(value, 'latin1');
  return tlv(tag, bytes);
}
