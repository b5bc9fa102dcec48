import { integerSigned, readerOver, readSingle, bitString, type DerElement } from './der/reader.js';
import { derMalformed } from './der/reader.js';
import { contextConstructed, Tag } from './der/tags.js';
import { parseAlgorithmIdentifier, type AlgorithmIdentifier } from './algorithm-identifier.js';
import { parseName, type DistinguishedName } from './name.js';
import { parseSubjectPublicKeyInfo, type PublicKeyInfo } from './public-key.js';
import { tlv } from './der/writer.js';
import { verifySignature } from './signature.js';
import { PkiError } from './errors.js';

/**
 * Certificate Request Message Format (RFC 4211) as CMP carries it in ir, cr and kur. The CRMF
 * module uses IMPLICIT tags: `[5] subject` wraps the Name (a CHOICE, so it stays explicit),
 * `[6] publicKey` replaces the SubjectPublicKeyInfo's SEQUENCE tag.
 */

/** The proof of possession a request carries (RFC 4211 §4). */
export type ProofOfPossession =
  | { readonly kind: 'signature'; readonly algorithm: AlgorithmIdentifier; readonly signature: Buffer; readonly withInput: boolean }
  | { readonly kind: 'raVerified' }
  | { readonly kind: 'other'; readonly tagNumber: number }
  | { readonly kind: 'none' };

export interface CertRequestMessage {
  readonly certReqId: number;
  readonly subject: DistinguishedName | undefined;
  readonly publicKey: PublicKeyInfo | undefined;
  /** The requested extensions' DER (Extensions), if any: the server decides what a device certificate carries. */
  readonly extensions: Buffer | undefined;
  readonly popo: ProofOfPossession;
  /** DER of the CertRequest, which a signature POP without poposkInput signs (RFC 4211 §4.1). */
  readonly certRequestDer: Buffer;
}

function parseTemplate(el: DerElement): Pick<CertRequestMessage, 'subject' | 'publicKey' | 'extensions'> {
  const r = readerOver(el, 'CertTemplate');
  let subject: DistinguishedName | undefined;
  let publicKey: PublicKeyInfo | undefined;
  let extensions: Buffer | undefined;
  let last = -1;
  while (!r.atEnd()) {
    const field = r.read();
    const n = field.tag & 0x1f;
    if ((field.tag & 0xc0) !== 0x80 || n > 9 || n <= last) throw derMalformed('CertTemplate', `unexpected field tag 0x${field.tag.toString(16)}`);
    last = n;
    if (n === 5) subject = parseName(readSingle(field.contents, 'subject'), 'CertTemplate subject');
    else if (n === 6) publicKey = parseSubjectPublicKeyInfo(tlv(Tag.SEQUENCE, field.contents), 'CertTemplate publicKey');
    else if (n === 9) extensions = tlv(Tag.SEQUENCE, field.contents);
    // version, serialNumber, signingAlg, issuer, validity, UIDs: a device certificate's are the CA's to set.
  }
  return { subject, publicKey, extensions };
}

function parsePopo(el: DerElement | undefined): ProofOfPossession {
  if (!el) return { kind: 'none' };
  if (el.tag === 0x80) return { kind: 'raVerified' };
  if (el.tag !== contextConstructed(1)) return { kind: 'other', tagNumber: el.tag & 0x1f };
  const r = readerOver(el, 'POPOSigningKey');
  const input = r.optional(contextConstructed(0));
  const algorithm = parseAlgorithmIdentifier(r.expect(Tag.SEQUENCE, 'algorithmIdentifier'), 'POPOSigningKey algorithm');
  const bits = bitString(r.expect(Tag.BIT_STRING, 'signature'), 'POPOSigningKey signature');
  r.expectEnd('signature');
  if (bits.unusedBits !== 0) throw derMalformed('POPOSigningKey', 'signature is not a whole number of octets');
  return { kind: 'signature', algorithm, signature: bits.bytes, withInput: input !== undefined };
}

/** Reads CertReqMessages ::= SEQUENCE SIZE (1..MAX) OF CertReqMsg, at most `max` of them. */
export function parseCertReqMessages(el: DerElement, max: number): CertRequestMessage[] {
  if (el.tag !== Tag.SEQUENCE) throw derMalformed('CertReqMessages', 'expected SEQUENCE');
  const list = readerOver(el, 'CertReqMessages');
  const requests: CertRequestMessage[] = [];
  while (!list.atEnd()) {
    if (requests.length >= max) throw derMalformed('CertReqMessages', 'too many requests');
    const msg = readerOver(list.expect(Tag.SEQUENCE, 'CertReqMsg'), 'CertReqMsg');
    const certRequestEl = msg.expect(Tag.SEQUENCE, 'certReq');
    const certRequest = readerOver(certRequestEl, 'CertRequest');
    const certReqId = integerSigned(certRequest.expect(Tag.INTEGER, 'certReqId'), 'certReqId');
    const template = parseTemplate(certRequest.expect(Tag.SEQUENCE, 'certTemplate'));
    // controls (regToken, oldCertID, …) may follow; the server reads none of them.
    const popo = parsePopo(msg.atEnd() ? undefined : msg.read());
    requests.push({ certReqId, ...template, popo, certRequestDer: certRequestEl.encoded });
  }
  if (requests.length === 0) throw derMalformed('CertReqMessages', 'no request');
  return requests;
}

/**
 * Whether the request proves possession of its key by a signature over its CertRequest (RFC 4211
 * §4.1, the case where poposkInput is absent because subject and publicKey are in the template).
 */
export function verifyCertRequestSignature(request: CertRequestMessage): boolean {
  if (request.popo.kind !== 'signature' || request.popo.withInput || !request.publicKey) return false;
  try {
    return verifySignature(request.certRequestDer, request.popo.signature, request.popo.algorithm, request.publicKey);
  } catch (error) {
    if (error instanceof PkiError) return false;
    throw error;
  }
}
