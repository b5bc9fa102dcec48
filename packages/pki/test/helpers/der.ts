/**
 * A tiny DER toolkit for building and mutating test vectors. It is deliberately independent of
 * the reader under test, so a reader bug cannot hide inside the fixtures.
 */

export interface Tlv {
  readonly tag: number;
  readonly contents: Buffer;
  readonly encoded: Buffer;
}

export function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let v = length; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, contents: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(contents.length), contents]);
}

export function seq(...children: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(children));
}

/** Splits a run of well-formed TLVs (the fixtures are our own, valid DER). */
export function children(contents: Buffer): Tlv[] {
  const out: Tlv[] = [];
  let offset = 0;
  while (offset < contents.length) {
    const tag = contents[offset] as number;
    const first = contents[offset + 1] as number;
    let length = first;
    let header = 2;
    if (first >= 0x80) {
      const count = first & 0x7f;
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + (contents[offset + 2 + i] as number);
      header = 2 + count;
    }
    const end = offset + header + length;
    if (end > contents.length) throw new Error('fixture DER is truncated');
    out.push({ tag, contents: contents.subarray(offset + header, end), encoded: contents.subarray(offset, end) });
    offset = end;
  }
  return out;
}

/** The single TLV a buffer holds. */
export function single(der: Buffer): Tlv {
  const [el, ...rest] = children(der);
  if (!el || rest.length > 0) throw new Error('fixture is not exactly one TLV');
  return el;
}

/** A signed object (certificate, CRL, CSR) as its TBS fields and its two outer fields. */
export interface SignedParts {
  readonly tbsFields: Buffer[];
  readonly signatureAlgorithm: Buffer;
  readonly signatureValue: Buffer;
}

export function splitSigned(der: Buffer): SignedParts {
  const [tbs, alg, sig] = children(single(der).contents);
  if (!tbs || !alg || !sig) throw new Error('fixture is not a signed object');
  return {
    tbsFields: children(tbs.contents).map((c) => Buffer.from(c.encoded)),
    signatureAlgorithm: Buffer.from(alg.encoded),
    signatureValue: Buffer.from(sig.encoded),
  };
}

export function joinSigned(parts: SignedParts): Buffer {
  return seq(seq(...parts.tbsFields), parts.signatureAlgorithm, parts.signatureValue);
}

/** Index of the [3] extensions field of a certificate's TBS fields. */
function extensionsIndex(parts: SignedParts): number {
  const index = parts.tbsFields.findIndex((f) => f[0] === 0xa3);
  if (index < 0) throw new Error('fixture certificate has no extensions');
  return index;
}

/** Each Extension SEQUENCE of a certificate, encoded. */
export function certificateExtensions(der: Buffer): Buffer[] {
  const parts = splitSigned(der);
  const field = parts.tbsFields[extensionsIndex(parts)] as Buffer;
  return children(single(single(field).contents).contents).map((c) => Buffer.from(c.encoded));
}

/** Rebuilds a certificate with its extension list replaced (signature left as it was). */
export function withExtensions(der: Buffer, extensions: readonly Buffer[]): Buffer {
  const parts = splitSigned(der);
  const tbsFields = [...parts.tbsFields];
  tbsFields[extensionsIndex(parts)] = tlv(0xa3, seq(...extensions));
  return joinSigned({ ...parts, tbsFields });
}

/** The OID TLV of an Extension SEQUENCE. */
export function extensionOid(extension: Buffer): Buffer {
  const [oid] = children(single(extension).contents);
  if (!oid) throw new Error('empty extension');
  return Buffer.from(oid.encoded);
}

/** Encoded OBJECT IDENTIFIERs of the extensions the mutations touch. */
export const EXT_OID = {
  subjectKeyIdentifier: Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0e]),
  keyUsage: Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0f]),
  basicConstraints: Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x13]),
} as const;

/** Replaces the one extension with this OID using `fn`. */
export function mapExtension(der: Buffer, oid: Buffer, fn: (extension: Buffer) => Buffer[]): Buffer {
  const out: Buffer[] = [];
  let found = false;
  for (const ext of certificateExtensions(der)) {
    if (extensionOid(ext).equals(oid)) {
      found = true;
      out.push(...fn(ext));
    } else {
      out.push(ext);
    }
  }
  if (!found) throw new Error('fixture certificate lacks the extension to mutate');
  return withExtensions(der, out);
}

/** Rebuilds one certificate TBS field. */
export function mapTbsField(der: Buffer, index: number, fn: (field: Buffer) => Buffer): Buffer {
  const parts = splitSigned(der);
  const tbsFields = [...parts.tbsFields];
  tbsFields[index] = fn(tbsFields[index] as Buffer);
  return joinSigned({ ...parts, tbsFields });
}

/** Offset of `needle` in `haystack`, failing loudly when absent. */
export function offsetOf(haystack: Buffer, needle: Buffer | string, from = 0): number {
  const at = haystack.indexOf(needle, from);
  if (at < 0) throw new Error('fixture bytes not found');
  return at;
}

/** A copy of `der` with byte `offset` XORed with `mask`. */
export function flipByte(der: Buffer, offset: number, mask = 0x01): Buffer {
  const copy = Buffer.from(der);
  copy[offset] = (copy[offset] as number) ^ mask;
  return copy;
}
