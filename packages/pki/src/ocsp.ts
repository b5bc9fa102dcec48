import { parseAlgorithmIdentifier } from './algorithm-identifier.js';
import { DerReader, integerBytes, readSingle, type DerElement } from './der/reader.js';
import { Tag } from './der/tags.js';
import { bitStringOf, explicit, octetString, oid, sequence, tlv } from './der/writer.js';
import { PkiError } from './errors.js';
import { parseTaggedExtensions } from './extensions.js';
import type { Signer } from './signer.js';

/**
 * OCSP (RFC 6960) as a responder needs it, on the core's strict DER: a request read into the
 * certificates it asks about (and its nonce), and a BasicOCSPResponse built and signed. The
 * responder decides the statuses; this only reads and writes the protocol.
 */

export const OCSP_OIDS = {
  basicResponse: '1.3.6.1.5.5.7.48.1.1',
  nonce: '1.3.6.1.5.5.7.48.1.2',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

/** Bound on certificates asked about in one request: clients ask about one. */
export const MAX_OCSP_REQUESTS = 16;

/** One certificate asked about (CertID, RFC 6960 §4.1.1). */
export interface OcspCertId {
  /** The CertID's whole DER, echoed in the response. */
  readonly der: Buffer;
  readonly hashAlgorithm: string;
  readonly issuerNameHash: Buffer;
  readonly issuerKeyHash: Buffer;
  /** INTEGER content octets. */
  readonly serialNumber: Buffer;
}

export interface OcspRequest {
  readonly certIds: readonly OcspCertId[];
  /** The nonce extension's value (extnValue), when the client sent one: echoed as sent (RFC 8954). */
  readonly nonce: Buffer | undefined;
}

function parseCertId(el: DerElement): OcspCertId {
  if (el.tag !== Tag.SEQUENCE) throw new PkiError('DER_MALFORMED', 'OCSP request: CertID must be a SEQUENCE', { what: 'CertID' });
  const reader = new DerReader(el.contents, 'CertID');
  const algorithm = parseAlgorithmIdentifier(reader.read(), 'CertID hashAlgorithm');
  const issuerNameHash = reader.expect(Tag.OCTET_STRING, 'issuerNameHash').contents;
  const issuerKeyHash = reader.expect(Tag.OCTET_STRING, 'issuerKeyHash').contents;
  const serialNumber = integerBytes(reader.read(), 'serialNumber');
  reader.expectEnd('CertID');
  return { der: el.encoded, hashAlgorithm: algorithm.oid, issuerNameHash, issuerKeyHash, serialNumber };
}

/** RFC 6960 §4.1.1 OCSPRequest; a signed request's signature is not checked (none is required here). */
export function parseOcspRequest(der: Buffer): OcspRequest {
  const outer = readSingle(der, 'OCSPRequest');
  if (outer.tag !== Tag.SEQUENCE) throw new PkiError('DER_MALFORMED', 'OCSPRequest: expected a SEQUENCE', { what: 'OCSPRequest' });
  const request = new DerReader(outer.contents, 'OCSPRequest');
  const tbs = request.enter(Tag.SEQUENCE, 'tbsRequest');
  request.optional(0xa0); // optionalSignature
  request.expectEnd('OCSPRequest');
  const version = tbs.optional(0xa0);
  if (version && !readSingle(version.contents, 'version').contents.equals(Buffer.from([0]))) throw new PkiError('DER_MALFORMED', 'OCSPRequest: unsupported version', { what: 'version' });
  tbs.optional(0xa1); // requestorName
  const list = tbs.enter(Tag.SEQUENCE, 'requestList');
  const certIds: OcspCertId[] = [];
  while (!list.atEnd()) {
    if (certIds.length >= MAX_OCSP_REQUESTS) throw new PkiError('INPUT_TOO_LARGE', `an OCSP request asks about at most ${MAX_OCSP_REQUESTS} certificates here`, { limit: MAX_OCSP_REQUESTS });
    const one = list.enter(Tag.SEQUENCE, 'Request');
    certIds.push(parseCertId(one.read()));
    one.optional(0xa0); // singleRequestExtensions
    one.expectEnd('Request');
  }
  if (certIds.length === 0) throw new PkiError('DER_MALFORMED', 'OCSPRequest: an empty requestList', { what: 'requestList' });
  const extensions = tbs.optional(0xa2);
  tbs.expectEnd('tbsRequest');
  const nonce = extensions ? parseTaggedExtensions(extensions, 'requestExtensions').find((e) => e.oid === OCSP_OIDS.nonce)?.value : undefined;
  return { certIds, nonce };
}

/** What the responder says of one certificate (RFC 6960 §4.2.1 CertStatus). */
export type OcspCertStatus = { readonly status: 'good' } | { readonly status: 'revoked'; readonly revokedAt: Date; readonly reason?: number | undefined } | { readonly status: 'unknown' };

export interface OcspSingleResponse {
  readonly certId: OcspCertId;
  readonly certStatus: OcspCertStatus;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
}

/** RFC 6960 §4.2.1: OCSP times are GeneralizedTime, whole seconds, Z. */
function generalizedTime(date: Date): Buffer {
  const text = date.toISOString().replace(/[-:T]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return tlv(Tag.GENERALIZED_TIME, Buffer.from(text, 'latin1'));
}

function certStatusDer(status: OcspCertStatus): Buffer {
  if (status.status === 'good') return tlv(0x80, Buffer.alloc(0));
  if (status.status === 'unknown') return tlv(0x82, Buffer.alloc(0));
  const fields = [generalizedTime(status.revokedAt)];
  if (status.reason !== undefined) fields.push(explicit(0, tlv(Tag.ENUMERATED, Buffer.from([status.reason]))));
  return tlv(0xa1, Buffer.concat(fields));
}

/**
 * A successful OCSPResponse carrying a BasicOCSPResponse signed by `signer`, whose responder is
 * named by key (the SHA-1 of its public key bits, `responderKeyHash`), with the nonce echoed.
 */
export function buildOcspResponse(options: {
  readonly signer: Signer;
  readonly responderKeyHash: Buffer;
  readonly producedAt: Date;
  readonly responses: readonly OcspSingleResponse[];
  readonly nonce?: Buffer | undefined;
  /** Certificates for the client to verify a delegated responder with (none when the CA signs). */
  readonly certificates?: readonly Buffer[];
}): Buffer {
  const single = options.responses.map((r) =>
    sequence([r.certId.der, certStatusDer(r.certStatus), generalizedTime(r.thisUpdate), explicit(0, generalizedTime(r.nextUpdate))]),
  );
  const extensions = options.nonce ? [explicit(1, sequence([sequence([oid(OCSP_OIDS.nonce), octetString(options.nonce)])]))] : [];
  const tbs = sequence([explicit(2, octetString(options.responderKeyHash)), generalizedTime(options.producedAt), sequence(single), ...extensions]);
  const { algorithm } = options.signer;
  const certs = options.certificates && options.certificates.length > 0 ? [explicit(0, sequence([...options.certificates]))] : [];
  const basic = sequence([tbs, algorithm.identifier, bitStringOf(options.signer.sign(tbs)), ...certs]);
  return sequence([tlv(Tag.ENUMERATED, Buffer.from([0])), explicit(0, sequence([oid(OCSP_OIDS.basicResponse), octetString(basic)]))]);
}

/** RFC 6960 §4.2.1 OCSPResponseStatus values a responder answers without a signature. */
export type OcspErrorStatus = 'malformedRequest' | 'internalError' | 'tryLater' | 'unauthorized';
const ERROR_STATUS: Readonly<Record<OcspErrorStatus, number>> = { malformedRequest: 1, internalError: 2, tryLater: 3, unauthorized: 6 };

export function ocspErrorResponse(status: OcspErrorStatus): Buffer {
  return sequence([tlv(Tag.ENUMERATED, Buffer.from([ERROR_STATUS[status]]))]);
}

