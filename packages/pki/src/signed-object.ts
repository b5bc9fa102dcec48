import { parseAlgorithmIdentifier, type AlgorithmIdentifier } from './algorithm-identifier.js';
import { bitString, derMalformed, readerOver, readSingle, type DerElement } from './der/reader.js';
import { Tag } from './der/tags.js';

/**
 * The envelope every signed X.509 object shares: SEQUENCE { tbs, AlgorithmIdentifier,
 * BIT STRING signature } (RFC 5280 §4.1, §5.1; RFC 2986 §4). The signature is whole octets.
 */
export interface SignedObject {
  readonly outer: DerElement;
  readonly tbs: DerElement;
  readonly signatureAlgorithm: AlgorithmIdentifier;
  readonly signature: Buffer;
}

export function parseSignedObject(der: Buffer, what: string, tbsField: string): SignedObject {
  const outer = readSingle(der, what);
  if (outer.tag !== Tag.SEQUENCE) throw derMalformed(what, 'expected SEQUENCE');
  const top = readerOver(outer, what);
  const tbs = top.expect(Tag.SEQUENCE, tbsField);
  const signatureAlgorithm = parseAlgorithmIdentifier(top.expect(Tag.SEQUENCE, 'signatureAlgorithm'), what);
  const signature = bitString(top.expect(Tag.BIT_STRING, 'signatureValue'), 'signatureValue');
  top.expectEnd('signatureValue');
  if (signature.unusedBits !== 0) throw derMalformed(what, 'the signature has unused bits');
  return { outer, tbs, signatureAlgorithm, signature: signature.bytes };
}

/** RFC 5280 §4.1.1.2 / §5.1.1.2: the algorithm inside the signed part must be the same bytes. */
export function checkInnerAlgorithm(inner: AlgorithmIdentifier, outer: AlgorithmIdentifier, what: string, field: string): void {
  if (!inner.der.equals(outer.der)) throw derMalformed(what, `signatureAlgorithm differs from ${field}`);
}
