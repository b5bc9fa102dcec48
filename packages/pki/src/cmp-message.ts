import type { DerReader} from './der/reader.js';
import { bitString, integerSigned, integerSmall, oidString, readerOver, readSingle, timeValue, type DerElement } from './der/reader.js';
import { contextConstructed, Tag } from './der/tags.js';
import { sequence } from './der/writer.js';
import { derMalformed } from './der/reader.js';
import { parseAlgorithmIdentifier, type AlgorithmIdentifier } from './algorithm-identifier.js';
import { parseCertReqMessages, type CertRequestMessage } from './crmf.js';

/**
 * CMP messages as a server reads them (RFC 4210 §5.1, as updated by RFC 9480; the Lightweight CMP
 * Profile, RFC 9483). The PKIXCMP module uses EXPLICIT tags: every `[n]` of the header and the
 * body wraps its element whole. The parser keeps the exact bytes of the header and the body, since
 * the protection covers their DER as sent (ProtectedPart, §5.1.3).
 */

/** The body types of PKIBody (RFC 4210 §5.1.2), by their context tag number. */
export const CMP_BODY_TYPES = {
  ir: 0,
  ip: 1,
  cr: 2,
  cp: 3,
  p10cr: 4,
  kur: 7,
  kup: 8,
  rr: 11,
  rp: 12,
  pkiconf: 19,
  genm: 21,
  genp: 22,
  error: 23,
  certConf: 24,
  pollReq: 25,
  pollRep: 26,
} as const;
export type CmpBodyType = keyof typeof CMP_BODY_TYPES;

/** Bound on a CMP message a server reads: an RSA-4096 request with a chain of three in extraCerts is under 10 KiB. */
export const MAX_CMP_MESSAGE_BYTES = 64 * 1024;
/** Bound on the certificates of extraCerts and the requests of one body: the profile asks for one request per message. */
const MAX_LIST_ITEMS = 16;

export interface CmpHeader {
  readonly pvno: number;
  /** GeneralName, as encoded (the answer names it as its recipient). */
  readonly sender: Buffer;
  readonly recipient: Buffer;
  readonly messageTime: Date | undefined;
  readonly protectionAlg: AlgorithmIdentifier | undefined;
  readonly senderKID: Buffer | undefined;
  readonly transactionID: Buffer | undefined;
  readonly senderNonce: Buffer | undefined;
  readonly recipNonce: Buffer | undefined;
  /** id-it-implicitConfirm (RFC 4210 §5.1.1.1) asked for in generalInfo. */
  readonly implicitConfirm: boolean;
}

export interface CertStatus {
  readonly certHash: Buffer;
  readonly certReqId: number;
  /** The PKIStatus the client reports; absent means accepted (RFC 4210 §5.3.18). */
  readonly status: number;
}

export type CmpBody =
  | { readonly type: 'ir' | 'cr' | 'kur'; readonly requests: readonly CertRequestMessage[] }
  | { readonly type: 'p10cr'; readonly csrDer: Buffer }
  | { readonly type: 'certConf'; readonly statuses: readonly CertStatus[] }
  | { readonly type: 'rr'; readonly issuer: Buffer | undefined; readonly serialNumber: Buffer | undefined }
  | { readonly type: 'genm'; readonly infoTypes: readonly string[] }
  /** An error message (a server's answer; read by clients and tests). */
  | { readonly type: 'error'; readonly status: number; readonly failInfo: readonly number[]; readonly text: readonly string[] }
  | { readonly type: 'other'; readonly tagNumber: number };

export interface CmpMessage {
  readonly header: CmpHeader;
  readonly body: CmpBody;
  /** DER of ProtectedPart ::= SEQUENCE { header, body }, the bytes the protection covers. */
  readonly protectedPart: Buffer;
  readonly protection: Buffer | undefined;
  /** extraCerts, as DER: the signer's certificate first when the message is signed (RFC 9483 §3.1). */
  readonly extraCerts: readonly Buffer[];
}

/** id-it-implicitConfirm (RFC 4210 §5.3.19.8) and the two genm info types the profile serves (RFC 9483 §4.3). */
export const CMP_INFO_TYPES = {
  implicitConfirm: '1.3.6.1.5.5.7.4.13',
  caCerts: '1.3.6.1.5.5.7.4.17',
  rootCaCert: '1.3.6.1.5.5.7.4.20',
} as const;

function octets(el: DerElement, what: string): Buffer {
  const inner = readSingle(el.contents, what);
  if (inner.tag !== Tag.OCTET_STRING) throw derMalformed(what, 'expected OCTET STRING');
  return inner.contents;
}

function parseHeader(el: DerElement): CmpHeader {
  const r = readerOver(el, 'PKIHeader');
  const pvno = integerSmall(r.expect(Tag.INTEGER, 'pvno'), 'pvno');
  const sender = r.read().encoded;
  const recipient = r.read().encoded;
  let messageTime: Date | undefined;
  let protectionAlg: AlgorithmIdentifier | undefined;
  let senderKID: Buffer | undefined;
  let transactionID: Buffer | undefined;
  let senderNonce: Buffer | undefined;
  let recipNonce: Buffer | undefined;
  let implicitConfirm = false;
  let last = -1;
  while (!r.atEnd()) {
    const field = r.read();
    const n = field.tag - 0xa0;
    // Each optional field at most once, in the module's order.
    if (n < 0 || n > 8 || n <= last) throw derMalformed('PKIHeader', `unexpected field tag 0x${field.tag.toString(16)}`);
    last = n;
    if (n === 0) messageTime = timeValue(readSingle(field.contents, 'messageTime'), 'messageTime');
    else if (n === 1) protectionAlg = parseAlgorithmIdentifier(readSingle(field.contents, 'protectionAlg'), 'protectionAlg');
    else if (n === 2) senderKID = octets(field, 'senderKID');
    else if (n === 4) transactionID = octets(field, 'transactionID');
    else if (n === 5) senderNonce = octets(field, 'senderNonce');
    else if (n === 6) recipNonce = octets(field, 'recipNonce');
    else if (n === 8) {
      const list = readerOver(readSingle(field.contents, 'generalInfo'), 'generalInfo');
      while (!list.atEnd()) {
        const itav = readerOver(list.expect(Tag.SEQUENCE, 'InfoTypeAndValue'), 'InfoTypeAndValue');
        if (oidString(itav.read(), 'infoType') === CMP_INFO_TYPES.implicitConfirm) implicitConfirm = true;
      }
    }
    // [3] recipKID and [7] freeText are read past: the server has no use for them.
  }
  return { pvno, sender, recipient, messageTime, protectionAlg, senderKID, transactionID, senderNonce, recipNonce, implicitConfirm };
}

function parseCertConf(content: DerElement): CertStatus[] {
  const list = readerOver(content, 'CertConfirmContent');
  const statuses: CertStatus[] = [];
  while (!list.atEnd()) {
    if (statuses.length >= MAX_LIST_ITEMS) throw derMalformed('CertConfirmContent', 'too many entries');
    const r = readerOver(list.expect(Tag.SEQUENCE, 'CertStatus'), 'CertStatus');
    const certHash = r.expect(Tag.OCTET_STRING, 'certHash').contents;
    const certReqId = integerSigned(r.expect(Tag.INTEGER, 'certReqId'), 'certReqId');
    let status = 0;
    const info = r.optional(Tag.SEQUENCE);
    if (info) status = integerSmall(readerOver(info, 'PKIStatusInfo').expect(Tag.INTEGER, 'status'), 'status');
    // [0] hashAlg (RFC 9480) may follow; the hash is checked against the algorithms we accept.
    statuses.push({ certHash, certReqId, status });
  }
  return statuses;
}

function parseRevocation(content: DerElement): CmpBody {
  // RevReqContent ::= SEQUENCE OF RevDetails; RevDetails ::= SEQUENCE { certDetails CertTemplate, crlEntryDetails Extensions OPTIONAL }
  const list = readerOver(content, 'RevReqContent');
  const details = readerOver(list.expect(Tag.SEQUENCE, 'RevDetails'), 'RevDetails');
  if (!list.atEnd()) throw derMalformed('RevReqContent', 'the profile revokes one certificate per message (RFC 9483 §4.2)');
  const template = readerOver(details.expect(Tag.SEQUENCE, 'certDetails'), 'CertTemplate');
  let issuer: Buffer | undefined;
  let serialNumber: Buffer | undefined;
  while (!template.atEnd()) {
    const field = template.read();
    // CRMF uses IMPLICIT tags: [1] serialNumber INTEGER, [3] issuer Name (a CHOICE, so explicit).
    if (field.tag === 0x81) serialNumber = field.contents;
    else if (field.tag === contextConstructed(3)) issuer = readSingle(field.contents, 'issuer').encoded;
  }
  return { type: 'rr', issuer, serialNumber };
}

function parseGenm(content: DerElement): CmpBody {
  const list = readerOver(content, 'GenMsgContent');
  const infoTypes: string[] = [];
  while (!list.atEnd()) {
    if (infoTypes.length >= MAX_LIST_ITEMS) throw derMalformed('GenMsgContent', 'too many entries');
    infoTypes.push(oidString(readerOver(list.expect(Tag.SEQUENCE, 'InfoTypeAndValue'), 'InfoTypeAndValue').read(), 'infoType'));
  }
  return { type: 'genm', infoTypes };
}

/** ErrorMsgContent's PKIStatusInfo (RFC 4210 §5.3.21): status, its text, the failure bits set. */
function parseError(content: DerElement): CmpBody {
  const info = readerOver(readerOver(content, 'ErrorMsgContent').expect(Tag.SEQUENCE, 'pKIStatusInfo'), 'PKIStatusInfo');
  const status = integerSmall(info.expect(Tag.INTEGER, 'status'), 'status');
  const text: string[] = [];
  const strings = info.optional(Tag.SEQUENCE);
  if (strings) {
    const list = readerOver(strings, 'statusString');
    while (!list.atEnd()) text.push(list.expect(Tag.UTF8_STRING, 'PKIFreeText').contents.toString('utf8'));
  }
  const failInfo: number[] = [];
  const bits = info.optional(Tag.BIT_STRING);
  if (bits) {
    const { bytes } = bitString(bits, 'failInfo');
    for (let bit = 0; bit < bytes.length * 8; bit++) if (((bytes[bit >> 3] as number) & (0x80 >> (bit & 7))) !== 0) failInfo.push(bit);
  }
  return { type: 'error', status, failInfo, text };
}

function parseBody(el: DerElement): CmpBody {
  const n = el.tag - 0xa0;
  if (n < 0 || n > 30) throw derMalformed('PKIBody', `not a PKIBody choice (tag 0x${el.tag.toString(16)})`);
  const content = readSingle(el.contents, 'PKIBody');
  switch (n) {
    case CMP_BODY_TYPES.ir:
    case CMP_BODY_TYPES.cr:
    case CMP_BODY_TYPES.kur: {
      const type = n === CMP_BODY_TYPES.ir ? 'ir' : n === CMP_BODY_TYPES.cr ? 'cr' : 'kur';
      return { type, requests: parseCertReqMessages(content, MAX_LIST_ITEMS) };
    }
    case CMP_BODY_TYPES.p10cr:
      if (content.tag !== Tag.SEQUENCE) throw derMalformed('p10cr', 'expected CertificationRequest');
      return { type: 'p10cr', csrDer: content.encoded };
    case CMP_BODY_TYPES.certConf:
      return { type: 'certConf', statuses: parseCertConf(content) };
    case CMP_BODY_TYPES.rr:
      return parseRevocation(content);
    case CMP_BODY_TYPES.genm:
      return parseGenm(content);
    case CMP_BODY_TYPES.error:
      return parseError(content);
    default:
      return { type: 'other', tagNumber: n };
  }
}

/**
 * Reads a PKIMessage (RFC 4210 §5.1): strict DER, every bound checked. The header's fields are
 * returned for the server to judge; nothing here decides whether the message is acceptable.
 */
export function parseCmpMessage(der: Buffer): CmpMessage {
  if (der.length > MAX_CMP_MESSAGE_BYTES) throw derMalformed('PKIMessage', `larger than ${MAX_CMP_MESSAGE_BYTES} bytes`);
  const outer = readSingle(der, 'PKIMessage');
  if (outer.tag !== Tag.SEQUENCE) throw derMalformed('PKIMessage', 'expected SEQUENCE');
  const r: DerReader = readerOver(outer, 'PKIMessage');
  const headerEl = r.expect(Tag.SEQUENCE, 'header');
  const bodyEl = r.read();
  const header = parseHeader(headerEl);
  const body = parseBody(bodyEl);
  let protection: Buffer | undefined;
  const protectionEl = r.optional(contextConstructed(0));
  if (protectionEl) {
    const bits = bitString(readSingle(protectionEl.contents, 'protection'), 'protection');
    if (bits.unusedBits !== 0) throw derMalformed('protection', 'not a whole number of octets');
    protection = bits.bytes;
  }
  const extraCerts: Buffer[] = [];
  const extraEl = r.optional(contextConstructed(1));
  if (extraEl) {
    const list = readerOver(readSingle(extraEl.contents, 'extraCerts'), 'extraCerts');
    while (!list.atEnd()) {
      if (extraCerts.length >= MAX_LIST_ITEMS) throw derMalformed('extraCerts', 'too many certificates');
      extraCerts.push(list.expect(Tag.SEQUENCE, 'CMPCertificate').encoded);
    }
  }
  r.expectEnd('extraCerts');
  return { header, body, protectedPart: sequence([headerEl.encoded, bodyEl.encoded]), protection, extraCerts };
}
