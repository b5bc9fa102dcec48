import { randomBytes } from 'node:crypto';
import { constructed, explicit, namedBits, nullValue, octetString, oid, sequence, smallInteger, stringOf, tlv } from './der/writer.js';
import { contextConstructed, Tag } from './der/tags.js';

/**
 * The CMP messages a server answers with (RFC 4210 §5, RFC 9483 §4): built from DER pieces the
 * caller decided; protection is computed by the caller over `protectedPart`.
 */

/** PKIStatus (RFC 4210 §5.2.3). */
export const PkiStatus = { accepted: 0, grantedWithMods: 1, rejection: 2, waiting: 3 } as const;

/** PKIFailureInfo bit numbers (RFC 4210 §5.2.3, RFC 9480). */
export const PkiFailureInfo = {
  badAlg: 0,
  badMessageCheck: 1,
  badRequest: 2,
  badTime: 3,
  badCertId: 4,
  badDataFormat: 5,
  wrongAuthority: 6,
  incorrectData: 7,
  missingTimeStamp: 8,
  badPOP: 9,
  certRevoked: 10,
  certConfirmed: 11,
  wrongIntegrity: 12,
  badRecipientNonce: 13,
  timeNotAvailable: 14,
  unacceptedPolicy: 15,
  unacceptedExtension: 16,
  addInfoNotAvailable: 17,
  badSenderNonce: 18,
  badCertTemplate: 19,
  signerNotTrusted: 20,
  transactionIdInUse: 21,
  unsupportedVersion: 22,
  notAuthorized: 23,
  systemUnavail: 24,
  systemFailure: 25,
  duplicateCertReq: 26,
} as const;
export type PkiFailureInfoName = keyof typeof PkiFailureInfo;

/** An INTEGER from -2^31 to 2^31 - 1 (certReqId: -1 answers a p10cr). */
function signedInteger(value: number): Buffer {
  if (value >= 0) return smallInteger(value);
  if (!Number.isInteger(value) || value < -0x80000000) throw new RangeError(`integer out of range: ${value}`);
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(value);
  let start = 0;
  // Minimal two's complement: drop leading 0xff octets while the next keeps the sign (X.690 §8.3.2).
  while (start < 3 && bytes[start] === 0xff && ((bytes[start + 1] as number) & 0x80) !== 0) start++;
  return tlv(Tag.INTEGER, bytes.subarray(start));
}

/** PKIStatusInfo ::= SEQUENCE { status, statusString PKIFreeText OPTIONAL, failInfo OPTIONAL }. */
export function pkiStatusInfo(status: number, failInfo?: PkiFailureInfoName, text?: string): Buffer {
  return sequence([
    smallInteger(status),
    ...(text !== undefined ? [sequence([stringOf(Tag.UTF8_STRING, text)])] : []),
    ...(failInfo !== undefined ? [namedBits([PkiFailureInfo[failInfo]])] : []),
  ]);
}

/** GeneralizedTime without fractions (RFC 4210 messageTime; UTCTime is not allowed there). */
function generalizedTime(date: Date): Buffer {
  const text = date.toISOString().replace(/[-:T]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return tlv(Tag.GENERALIZED_TIME, Buffer.from(text, 'ascii'));
}

export interface AnswerHeaderFields {
  readonly pvno: number;
  /** GeneralName DER: directoryName [4] of the CA's subject, say. */
  readonly sender: Buffer;
  /** The request's sender GeneralName, as encoded. */
  readonly recipient: Buffer;
  readonly messageTime: Date;
  /** protectionAlg AlgorithmIdentifier DER, when the answer is protected. */
  readonly protectionAlg?: Buffer | undefined;
  readonly senderKID?: Buffer | undefined;
  readonly transactionID?: Buffer | undefined;
  /** The request's senderNonce, returned as recipNonce (RFC 4210 §5.1.1). */
  readonly recipNonce?: Buffer | undefined;
  /** Grants implicit confirmation (id-it-implicitConfirm in generalInfo). */
  readonly implicitConfirm?: boolean | undefined;
}

/** PKIHeader (EXPLICIT tags), with a fresh 128-bit senderNonce. */
export function answerHeader(fields: AnswerHeaderFields): Buffer {
  return sequence([
    smallInteger(fields.pvno),
    fields.sender,
    fields.recipient,
    explicit(0, generalizedTime(fields.messageTime)),
    ...(fields.protectionAlg ? [explicit(1, fields.protectionAlg)] : []),
    ...(fields.senderKID ? [explicit(2, octetString(fields.senderKID))] : []),
    ...(fields.transactionID ? [explicit(4, octetString(fields.transactionID))] : []),
    explicit(5, octetString(randomBytes(16))),
    ...(fields.recipNonce ? [explicit(6, octetString(fields.recipNonce))] : []),
    ...(fields.implicitConfirm ? [explicit(8, sequence([sequence([oid('1.3.6.1.5.5.7.4.13'), nullValue()])]))] : []),
  ]);
}

/** GeneralName directoryName [4] (EXPLICIT, Name being a CHOICE). */
export function directoryName(nameDer: Buffer): Buffer {
  return explicit(4, nameDer);
}

/** The NULL-DN directoryName a sender without a name uses (RFC 9483 §3.1). */
export const NULL_DIRECTORY_NAME: Buffer = directoryName(sequence([]));

/** SEQUENCE OF CMPCertificate (genp's id-it-caCerts value). */
export function certificateSequence(certificates: readonly Buffer[]): Buffer {
  return sequence([...certificates]);
}

/** PKIBody: [n] EXPLICIT around the content. */
export function cmpBody(tagNumber: number, content: Buffer): Buffer {
  return constructed(contextConstructed(tagNumber), [content]);
}

export interface CertResponseInput {
  readonly certReqId: number;
  readonly status: Buffer;
  readonly certificateDer?: Buffer | undefined;
}

/** CertRepMessage ::= SEQUENCE { caPubs [1] OPTIONAL, response SEQUENCE OF CertResponse }. */
export function certRepContent(responses: readonly CertResponseInput[], caPubs: readonly Buffer[] = []): Buffer {
  return sequence([
    ...(caPubs.length > 0 ? [explicit(1, sequence([...caPubs]))] : []),
    sequence(
      responses.map((r) =>
        sequence([
          signedInteger(r.certReqId),
          r.status,
          // CertifiedKeyPair { certOrEncCert CHOICE { certificate [0] CMPCertificate } }
          ...(r.certificateDer ? [sequence([explicit(0, r.certificateDer)])] : []),
        ]),
      ),
    ),
  ]);
}

/** ErrorMsgContent ::= SEQUENCE { pKIStatusInfo, errorCode INTEGER OPTIONAL, errorDetails OPTIONAL }. */
export function errorContent(status: Buffer, details?: string): Buffer {
  return sequence([status, ...(details !== undefined ? [sequence([stringOf(Tag.UTF8_STRING, details)])] : [])]);
}

/** RevRepContent ::= SEQUENCE { status SEQUENCE OF PKIStatusInfo, … }. */
export function revRepContent(status: Buffer): Buffer {
  return sequence([sequence([status])]);
}

/** PKIConfirmContent ::= NULL. */
export function pkiConfContent(): Buffer {
  return nullValue();
}

/** GenRepContent ::= SEQUENCE OF InfoTypeAndValue; a value absent means "none" (RFC 9483 §4.3). */
export function genRepContent(values: readonly { readonly infoType: string; readonly value?: Buffer | undefined }[]): Buffer {
  return sequence(values.map((v) => sequence([oid(v.infoType), ...(v.value ? [v.value] : [])])));
}

/** PKIMessage ::= SEQUENCE { header, body, protection [0] BIT STRING OPTIONAL, extraCerts [1] OPTIONAL }. */
export function cmpMessage(header: Buffer, body: Buffer, protection?: Buffer, extraCerts: readonly Buffer[] = []): Buffer {
  return sequence([
    header,
    body,
    ...(protection ? [explicit(0, tlv(Tag.BIT_STRING, Buffer.concat([Buffer.from([0]), protection])))] : []),
    ...(extraCerts.length > 0 ? [explicit(1, sequence([...extraCerts]))] : []),
  ]);
}

/** ProtectedPart ::= SEQUENCE { header, body }: what the protection covers. */
export function protectedPartOf(header: Buffer, body: Buffer): Buffer {
  return sequence([header, body]);
}
