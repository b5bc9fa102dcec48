import { createHash } from 'node:crypto';
import {
  CMP_BODY_TYPES,
  CMP_INFO_TYPES,
  PASSWORD_BASED_MAC_OID,
  PkiStatus,
  answerHeader,
  certRepContent,
  certificateSequence,
  cmpBody,
  cmpMessage,
  directoryName,
  errorContent,
  genRepContent,
  isPkiError,
  NULL_DIRECTORY_NAME,
  parseCertificate,
  parseCmpMessage,
  parsePasswordBasedMac,
  macWithKey,
  passwordBasedKey,
  passwordBasedMacAlgorithm,
  pkiConfContent,
  pkiStatusInfo,
  protectedPartOf,
  verifyCertRequestSignature,
  verifyMacWithKey,
  fingerprintSha256,
  revRepContent,
  verifySignature,
  type AlgorithmIdentifier,
  type CertRequestMessage,
  type CmpMessage,
  type PasswordBasedMacParameters,
  type PublicKeyInfo,
  type PkiFailureInfoName,
} from '@fleetpki/pki';
import { isServiceError, ServiceError, type ServiceErrorCode } from '../../service-error.js';
import type { CmpTransactionsTable, EnrollmentTokensTable, ProjectRow } from '../../store/schema.js';
import type { IssuanceClaims } from './issuance-record-sink.js';
import type { CertificateAuthenticatedDevice, DeviceAuthFailureCode } from '../identity/index.js';
import { isUniqueViolation } from '../../store/constraint-violations.js';
import { recordAudit } from '../shared/audit-log.js';
import { revokeCertificates } from '../revocation/index.js';
import { assertTokenUsable, issueWithToken } from './enrollment-tokens.js';
import { issueDeviceCertificateFor, type CertificateRequestInput, type IssuedDeviceCertificate } from './issuance-pipeline.js';
import { manufacturerIdentity, type ManufacturerIdentity } from './manufacturer-enrollment.js';
import type { PkiDeps } from './pki-deps.js';

/**
 * How long an issued certificate waits for the client's certConf (RFC 9483 §4.1.1). One not
 * confirmed in time is revoked (cessationOfOperation): the client never said it has it, and a
 * certificate nobody acknowledged must not stay valid for its whole lifetime.
 */
export const CMP_CONFIRM_WINDOW_SECONDS = 300;

/** The PKIFailureInfo bit a refusal carries (RFC 4210 §5.2.3): the client reports it by name. */
function failureInfoOf(code: ServiceErrorCode | DeviceAuthFailureCode): PkiFailureInfoName {
  switch (code) {
    // The identity service's refusals of a signer's certificate (kur, rr).
    case 'CERT_REVOKED':
      return 'certRevoked';
    case 'CERT_SUPERSEDED':
    case 'CRL_STALE':
      return 'notAuthorized';
    case 'MANUFACTURER_CERT_INVALID':
    case 'UNKNOWN_ISSUER':
    case 'CERT_EXPIRED':
    case 'CERT_NOT_YET_VALID':
    case 'CERT_SIGNATURE_INVALID':
      return 'signerNotTrusted';
    case 'CMP_MESSAGE_MALFORMED':
    case 'CSR_UNPARSABLE':
      return 'badDataFormat';
    case 'CMP_PROTECTION_INVALID':
      return 'badMessageCheck';
    case 'CMP_PROTECTION_UNSUPPORTED':
      return 'badAlg';
    case 'CMP_TRANSACTION_ID_IN_USE':
      return 'transactionIdInUse';
    case 'CMP_POP_INVALID':
    case 'CSR_SIGNATURE_INVALID':
      return 'badPOP';
    case 'CMP_CONFIRMATION_INVALID':
      return 'badCertId';
    case 'CMP_REQUEST_INVALID':
    case 'CMP_BODY_UNSUPPORTED':
      return 'badRequest';
    case 'ENROLLMENT_TOKEN_INVALID':
    case 'ENROLLMENT_TOKEN_USED':
    case 'ENROLLMENT_TOKEN_EXPIRED':
    case 'ENROLLMENT_TOKEN_NOT_FOR_CMP':
    case 'DEVICE_DISABLED':
    case 'DEVICE_NOT_FOUND':
    case 'DEVICE_IDENTITY_CHANGED':
    case 'MANAGED_CA_DISABLED':
      return 'notAuthorized';
    case 'CSR_SUBJECT_INVALID':
    case 'CERTIFICATE_ID_INVALID':
    case 'CERTIFICATE_ID_TAKEN':
    case 'WEAK_KEY':
    case 'KEY_TYPE_NOT_ALLOWED':
    case 'VALIDITY_EXCEEDS_CA':
      return 'badCertTemplate';
    case 'SIGNER_UNAVAILABLE':
      return 'systemUnavail';
    default:
      return 'systemFailure';
  }
}

/** What the HTTP transfer sends back (RFC 6712: a PKIMessage, 200, even for an error message). */
export interface CmpAnswer {
  readonly der: Buffer;
  /** The refusal's code, when the answer is an error (for the log and the metrics). */
  readonly code?: ServiceErrorCode;
}

/**
 * The request as far as the server trusts it: MAC checked with a token's secret, or signature
 * checked with the certificate in extraCerts[0] — a device's current certificate (kur, rr, and
 * their certConf), which the identity service then admitted as it would a connection.
 */
type Authenticated =
  | {
      readonly kind: 'mac';
      readonly message: CmpMessage;
      readonly token: EnrollmentTokensTable;
      /** The MAC key the token and the request's PBM parameters make, derived once for the request and its answer. */
      readonly macKey: Buffer;
      readonly pbm: PasswordBasedMacParameters;
      readonly project: ProjectRow;
    }
  | {
      readonly kind: 'signature';
      readonly message: CmpMessage;
      readonly signerFingerprint: string;
      readonly signer: Signer;
      readonly project: ProjectRow;
    };

/**
 * Who signed: a device by its current certificate (kur, rr), a manufacturer certificate under one
 * of the project's manufacturer CAs (ir, cr, p10cr: an IDevID, RFC 9483 §4.1.1), or the
 * certificate that started the transaction a certConf confirms.
 */
type Signer = { readonly kind: 'device'; readonly device: CertificateAuthenticatedDevice } | ({ readonly kind: 'manufacturer' } & ManufacturerIdentity) | { readonly kind: 'transaction' };

/** Who asked, as cmp_transactions keeps it: the token, or the certificate that signed. */
function requesterOf(request: Authenticated): string {
  return request.kind === 'mac' ? `token:${request.token.id}` : `certificate:${request.signerFingerprint}`;
}

function refusal(code: ServiceErrorCode, message: string, facts: Record<string, unknown> = {}): ServiceError {
  return new ServiceError(code, message, facts as never);
}

/** The header of an answer to `message` (or to bytes that did not parse). */
function headerFor(message: CmpMessage | undefined, sender: Buffer, protection?: { readonly alg: Buffer; readonly kid?: Buffer }, implicitConfirm = false): Buffer {
  return answerHeader({
    pvno: message?.header.pvno === 3 ? 3 : 2,
    sender,
    // The request's sender; a NULL-DN directoryName when it did not parse.
    recipient: message?.header.sender ?? NULL_DIRECTORY_NAME,
    messageTime: new Date(),
    protectionAlg: protection?.alg,
    senderKID: protection?.kid,
    transactionID: message?.header.transactionID,
    recipNonce: message?.header.senderNonce,
    implicitConfirm,
  });
}

/**
 * The CMP server (RFC 9483, Lightweight CMP Profile) over the integrated PKI's one pipeline:
 * ir, cr and p10cr protected with a one-time enrollment token's MAC (its ID the senderKID) or
 * signed with a manufacturer certificate; kur and rr signed with the device's current
 * certificate; certConf/pkiConf; genm for the CA certificates. Every refusal is an error message
 * with its PKIFailureInfo and an audit event with its code; nothing is issued or recorded on a
 * refusal. `projectSlug` is the path's `/p/{projectId}`, when the client named one.
 */
export async function answerCmp(deps: PkiDeps, der: Buffer, projectSlug: string | undefined): Promise<CmpAnswer> {
  let message: CmpMessage | undefined;
  let authenticated: Authenticated | undefined;
  // The answer's sender: the project's issuing CA once known, else a NULL-DN.
  let sender = NULL_DIRECTORY_NAME;
  try {
    try {
      message = parseCmpMessage(der);
    } catch (error) {
      if (isPkiError(error)) throw refusal('CMP_MESSAGE_MALFORMED', `not a PKIMessage: ${error.message}`, { reason: error.message });
      throw error;
    }
    authenticated = await authenticate(deps, message, projectSlug);
    // Past the MAC, refusals are protected: the client can trust them.
    if (projectSlug !== undefined && authenticated.project.slug !== projectSlug) throw refusal('ENROLLMENT_TOKEN_INVALID', 'the enrollment token is not known in this project');
    if (authenticated.kind === 'mac') {
      const ca = await deps.issuingCas.forProject(authenticated.project);
      sender = directoryName(ca.signer.caCertificate.subject.der);
    } else {
      sender = deps.cmp.responderName;
    }
    return await answerAuthenticated(deps, authenticated, sender);
  } catch (error) {
    if (!isServiceError(error)) throw error;
    await auditRefusal(deps, authenticated?.project ?? null, message, error);
    const status = pkiStatusInfo(PkiStatus.rejection, failureInfoOf(error.code), `${error.code}: ${error.message}`);
    const body = cmpBody(CMP_BODY_TYPES.error, errorContent(status, error.code));
    // Protected with the token when its MAC verified; otherwise the server cannot (RFC 9483 §3.6.4).
    return { der: protect(deps, message, sender, body, authenticated), code: error.code };
  }
}

/**
 * The answer, protected as the request was (RFC 9483 §3.2): with the token's MAC, or signed with
 * the server's key (its certificate chain in extraCerts, after `extraCerts` the caller adds).
 */
function protect(deps: PkiDeps, message: CmpMessage | undefined, sender: Buffer, body: Buffer, authenticated: Authenticated | undefined, implicitConfirm = false, extraCerts: readonly Buffer[] = []): Buffer {
  if (!authenticated) return cmpMessage(headerFor(message, sender), body);
  if (authenticated.kind === 'mac') {
    // The request's PBM parameters, salt included, and so the key already derived: RFC 4211 §4.4
    // asks a salt per secret against precomputation, and iterating the OWF again would double
    // the cost of every answer for nothing (the secret is the same).
    const header = headerFor(message, sender, { alg: passwordBasedMacAlgorithm(authenticated.pbm), kid: Buffer.from(authenticated.token.id, 'utf8') }, implicitConfirm);
    return cmpMessage(header, body, macWithKey(authenticated.macKey, authenticated.pbm, protectedPartOf(header, body)), extraCerts);
  }
  const algorithm = deps.cmp.signatureAlgorithm;
  const header = headerFor(message, sender, { alg: algorithm }, implicitConfirm);
  const { signature } = deps.cmp.sign(protectedPartOf(header, body));
  return cmpMessage(header, body, signature, [...deps.cmp.responderChain, ...extraCerts.filter((der) => !deps.cmp.responderChain.some((own) => own.equals(der)))]);
}

async function auditRefusal(deps: PkiDeps, project: ProjectRow | null, message: CmpMessage | undefined, error: ServiceError): Promise<void> {
  // The pipeline audits its own refusals (pki.certificate.refuse); the protocol's are here.
  try {
    await recordAudit(deps.db, deps.now(), {
      actor: 'cmp',
      action: 'pki.cmp.refuse',
      targetType: 'project',
      targetId: project?.slug ?? '',
      projectId: project?.id ?? null,
      details: { code: error.code, bodyType: message?.body.type ?? null, transactionId: message?.header.transactionID?.toString('hex') ?? null },
    });
  } catch {
    // The refusal stands whether or not the store took its audit event.
  }
}

/** The header's rules (RFC 9483 §3.1) and the MAC (§3.2): the token named by senderKID keys it. */
async function authenticate(deps: PkiDeps, message: CmpMessage, projectSlug: string | undefined): Promise<Authenticated> {
  const { header } = message;
  if (header.pvno !== 2 && header.pvno !== 3) throw refusal('CMP_REQUEST_INVALID', `pvno ${header.pvno} is not cmp2000 (2) or cmp2021 (3)`, { reason: 'pvno' });
  if (!header.transactionID || header.transactionID.length < 16 || header.transactionID.length > 64) {
    throw refusal('CMP_REQUEST_INVALID', 'a transactionID of 16 to 64 bytes is required (RFC 9483 §3.1)', { reason: 'transactionID' });
  }
  if (!header.senderNonce || header.senderNonce.length < 16) throw refusal('CMP_REQUEST_INVALID', 'a senderNonce of at least 128 bits is required (RFC 9483 §3.1)', { reason: 'senderNonce' });
  if (!header.protectionAlg || !message.protection) throw refusal('CMP_PROTECTION_INVALID', 'the message is not protected (RFC 9483 §3.2)');
  if (header.protectionAlg.oid !== PASSWORD_BASED_MAC_OID) return authenticateSignature(deps, message, header.protectionAlg, message.protection, projectSlug);
  let pbm: PasswordBasedMacParameters;
  try {
    pbm = parsePasswordBasedMac(header.protectionAlg);
  } catch (error) {
    if (isPkiError(error)) throw refusal('CMP_PROTECTION_UNSUPPORTED', error.message, { reason: error.message });
    throw error;
  }
  const reference = header.senderKID?.toString('utf8') ?? '';
  // Token IDs are UUIDs: anything else is not one, and is not looked up.
  const token = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(reference)
    ? await deps.db.selectFrom('enrollment_tokens').selectAll().where('id', '=', reference).executeTakeFirst()
    : undefined;
  if (!token) throw refusal('ENROLLMENT_TOKEN_INVALID', 'the senderKID names no enrollment token (openssl cmp -ref takes the token’s id)');
  const secret = deps.enrollmentSecrets.open(token);
  if (!secret) throw refusal('ENROLLMENT_TOKEN_NOT_FOR_CMP', 'this token was made before CMP and serves EST only; make a new one', { tokenId: token.id });
  const macKey = passwordBasedKey(secret, pbm);
  if (!verifyMacWithKey(macKey, pbm, message.protectedPart, message.protection)) throw refusal('CMP_PROTECTION_INVALID', 'the MAC does not verify: wrong secret, or the message was changed');
  // The token's row is deleted with its project, so its project is there.
  const project = await deps.db.selectFrom('projects').selectAll().where('id', '=', token.project_id).executeTakeFirstOrThrow();
  return { kind: 'mac', message, token, macKey, pbm, project };
}

/**
 * Signature protection (RFC 9483 §3.2): extraCerts[0] signed the ProtectedPart. For kur and rr
 * it is a device's current certificate that the identity service admits (valid chain to the
 * project's CA, not revoked, superseded or disabled), as it would a TLS connection; for ir, cr and
 * p10cr a manufacturer certificate under one of the project's manufacturer CAs (the path names the
 * project); a certConf is signed by the certificate that started its transaction.
 */
async function authenticateSignature(deps: PkiDeps, message: CmpMessage, algorithm: AlgorithmIdentifier, signature: Buffer, projectSlug: string | undefined): Promise<Authenticated> {
  const [leafDer] = message.extraCerts;
  if (!leafDer) throw refusal('CMP_PROTECTION_INVALID', 'a signed message carries its signer’s certificate first in extraCerts (RFC 9483 §3.3)');
  let verified: boolean;
  try {
    verified = verifySignature(message.protectedPart, signature, algorithm, parseCertificate(leafDer).publicKey);
  } catch (error) {
    if (isPkiError(error) && error.code === 'UNSUPPORTED_ALGORITHM') throw refusal('CMP_PROTECTION_UNSUPPORTED', error.message, { reason: algorithm.oid });
    if (isPkiError(error)) throw refusal('CMP_PROTECTION_INVALID', `the signer’s certificate does not parse: ${error.message}`);
    throw error;
  }
  if (!verified) throw refusal('CMP_PROTECTION_INVALID', 'the signature does not verify with the certificate in extraCerts: the message was changed, or signed with another key');
  const signerFingerprint = fingerprintSha256(leafDer);
  const { type } = message.body;
  if (type === 'certConf') {
    const row = await deps.db
      .selectFrom('cmp_transactions as t')
      .innerJoin('projects as p', 'p.id', 't.project_id')
      .selectAll('p')
      .where('t.transaction_id', '=', (message.header.transactionID as Buffer).toString('hex'))
      .where('t.requester', '=', `certificate:${signerFingerprint}`)
      .executeTakeFirst();
    if (!row || (projectSlug !== undefined && row.slug !== projectSlug)) throw refusal('CMP_CONFIRMATION_INVALID', 'no transaction of this signer waits for confirmation', { reason: 'unknown transaction' });
    return { kind: 'signature', message, signerFingerprint, signer: { kind: 'transaction' }, project: row };
  }
  if (type === 'ir' || type === 'cr' || type === 'p10cr') {
    if (projectSlug === undefined) throw refusal('CMP_REQUEST_INVALID', 'an enrollment signed with a manufacturer certificate names its project: /.well-known/cmp/p/{projectId}', { reason: 'path' });
    const project = await deps.db.selectFrom('projects').selectAll().where('slug', '=', projectSlug).executeTakeFirst();
    if (!project) throw new ServiceError('PROJECT_NOT_FOUND', `no project ${JSON.stringify(projectSlug)}`, { projectId: projectSlug });
    const vouched = await manufacturerIdentity(deps, project, message.extraCerts);
    return { kind: 'signature', message, signerFingerprint, signer: { kind: 'manufacturer', ...vouched }, project };
  }
  const result = await deps.cmp.authenticateDevice(message.extraCerts);
  if (!result.ok) throw new ServiceError(result.code as never, `the signer’s certificate is not admitted: ${result.message}`, (result.context ?? {}) as never);
  if (result.device.credential !== 'certificate') throw refusal('CMP_PROTECTION_INVALID', 'the signer is not a device certificate');
  const project = await deps.db.selectFrom('projects').selectAll().where('id', '=', result.device.projectKey).executeTakeFirstOrThrow();
  return { kind: 'signature', message, signerFingerprint, signer: { kind: 'device', device: result.device }, project };
}

async function answerAuthenticated(deps: PkiDeps, request: Authenticated, sender: Buffer): Promise<CmpAnswer> {
  const { message } = request;
  const { body } = message;
  switch (body.type) {
    case 'ir':
    case 'cr':
    case 'p10cr':
      return enroll(deps, request, sender);
    case 'kur':
      if (request.kind !== 'signature' || request.signer.kind !== 'device') throw refusal('CMP_PROTECTION_INVALID', 'kur is signed with the device’s current certificate (RFC 9483 §4.1.3)');
      return updateKey(deps, request, request.signer.device, sender);
    case 'rr':
      if (request.kind !== 'signature' || request.signer.kind !== 'device') throw refusal('CMP_PROTECTION_INVALID', 'rr is signed with the certificate it revokes (RFC 9483 §4.2)');
      return revokeOwn(deps, request, request.signer.device, sender);
    case 'certConf':
      return confirm(deps, request, sender);
    case 'genm':
      return generalMessage(deps, request, sender);
    default:
      throw refusal('CMP_BODY_UNSUPPORTED', `${body.type === 'other' ? `body [${body.tagNumber}]` : body.type} is not served`, { bodyType: body.type });
  }
}

type SignatureAuthenticated = Extract<Authenticated, { kind: 'signature' }>;

/** A transactionID a project saw before is refused (a replayed message, RFC 4210 §5.1.1). */
async function refuseSeenTransaction(deps: PkiDeps, project: ProjectRow, transactionId: string): Promise<void> {
  const seen = await deps.db.selectFrom('cmp_transactions').select('state').where('project_id', '=', project.id).where('transaction_id', '=', transactionId).executeTakeFirst();
  if (seen) throw refusal('CMP_TRANSACTION_ID_IN_USE', 'this transactionID was used before (a replayed message?)', { transactionId });
}

/** The CMP transaction row an issuance commits with (its ID is then taken, whoever raced for it). */
function transactionRow(deps: PkiDeps, request: Authenticated, requestType: string, implicitConfirm: boolean, issued?: IssuedDeviceCertificate): CmpTransactionsTable {
  return {
    project_id: request.project.id,
    transaction_id: (request.message.header.transactionID as Buffer).toString('hex'),
    requester: requesterOf(request),
    request_type: requestType,
    state: issued === undefined ? 'done' : implicitConfirm ? 'confirmed' : 'awaiting-confirmation',
    certificate_fingerprint: issued?.fingerprintSha256 ?? null,
    certificate_der: issued?.der.toString('base64') ?? null,
    created_at: deps.now().toISOString(),
    confirm_by: issued === undefined || implicitConfirm ? null : new Date(deps.now().getTime() + CMP_CONFIRM_WINDOW_SECONDS * 1000).toISOString(),
  };
}

/** The one CRMF request of an ir/cr/kur, its template and proof of possession checked. */
function singleRequest(body: CmpMessage['body']): CertRequestMessage & { readonly publicKey: PublicKeyInfo } {
  if (body.type !== 'ir' && body.type !== 'cr' && body.type !== 'kur') throw refusal('CMP_BODY_UNSUPPORTED', `${body.type} carries no CRMF request`, { bodyType: body.type });
  if (body.requests.length !== 1) throw refusal('CMP_REQUEST_INVALID', 'one certificate per request (RFC 9483 §4.1.1)', { reason: 'requests' });
  const certRequest = body.requests[0] as CertRequestMessage;
  if (certRequest.certReqId !== 0) throw refusal('CMP_REQUEST_INVALID', 'certReqId must be 0 (RFC 9483 §4.1.1)', { reason: 'certReqId' });
  if (!certRequest.publicKey) throw refusal('CMP_REQUEST_INVALID', 'the certTemplate needs a publicKey', { reason: 'certTemplate' });
  if (certRequest.popo.kind !== 'signature' || !verifyCertRequestSignature(certRequest)) throw refusal('CMP_POP_INVALID', 'the request does not prove possession of its key with a signature (RFC 4211 §4.1)');
  return certRequest as CertRequestMessage & { readonly publicKey: PublicKeyInfo };
}

/**
 * ir, cr, p10cr: a new device's certificate, entitled by a one-time token (MAC) or by a
 * manufacturer certificate (signature): the token's rules (one use, a batch token only for new
 * identities), or the manufacturer certificate's CN as the certificate ID.
 */
async function enroll(deps: PkiDeps, request: Authenticated, sender: Buffer): Promise<CmpAnswer> {
  const { message, project } = request;
  const { body, header } = message;
  await refuseSeenTransaction(deps, project, (header.transactionID as Buffer).toString('hex'));
  if (request.kind === 'mac') assertTokenUsable(deps, request.token);
  else if (request.signer.kind !== 'manufacturer') throw refusal('CMP_PROTECTION_INVALID', 'an enrollment is protected with a token or signed with a manufacturer certificate');
  const implicitConfirm = header.implicitConfirm;
  const claims = (issued: IssuedDeviceCertificate): IssuanceClaims => ({ cmpTransaction: transactionRow(deps, request, body.type, implicitConfirm, issued) });
  const issue = (input: CertificateRequestInput): Promise<IssuedDeviceCertificate> => {
    if (request.kind === 'mac') return issueWithToken(deps, request.token, project, input, 'cmp', claims);
    const vouched = request.signer as Extract<Signer, { kind: 'manufacturer' }>;
    return issueDeviceCertificateFor(deps, { project, request: input, channel: 'cmp', actor: vouched.actor, entitlement: { kind: 'identity', certificateId: vouched.certificateId }, claims });
  };
  let certReqId: number;
  let issued: IssuedDeviceCertificate;
  if (body.type === 'p10cr') {
    certReqId = -1;
    issued = await issue({ kind: 'csr', der: body.csrDer });
  } else {
    const certRequest = singleRequest(body);
    certReqId = certRequest.certReqId;
    if (!certRequest.subject) throw refusal('CMP_REQUEST_INVALID', 'the certTemplate needs a subject', { reason: 'certTemplate' });
    issued = await issue({ kind: 'crmf', subject: certRequest.subject, publicKey: certRequest.publicKey });
  }
  const chain = await caChain(deps, project);
  const root = chain[chain.length - 1];
  // caPubs: the root, for a client that enrolled with a MAC and so has no trust anchor yet (RFC 9483 §4.1.1).
  const content = certRepContent([{ certReqId, status: pkiStatusInfo(PkiStatus.accepted), certificateDer: issued.der }], body.type === 'ir' && root ? [root] : []);
  return { der: protect(deps, message, sender, cmpBody(body.type === 'ir' ? CMP_BODY_TYPES.ip : CMP_BODY_TYPES.cp, content), request, implicitConfirm, chain) };
}

/**
 * kur (RFC 9483 §4.1.3): a device, signing with its current certificate, gets one for a new key
 * under the same identity. The old certificate is superseded once the new one is used (as any
 * rotation, certificate-lifecycle rules), not at issuance: a device that loses the answer keeps working.
 */
async function updateKey(deps: PkiDeps, request: SignatureAuthenticated, device: CertificateAuthenticatedDevice, sender: Buffer): Promise<CmpAnswer> {
  const { message, project } = request;
  await refuseSeenTransaction(deps, project, (message.header.transactionID as Buffer).toString('hex'));
  const certRequest = singleRequest(message.body);
  const current = parseCertificate(message.extraCerts[0] as Buffer);
  if (certRequest.publicKey.der.equals(current.publicKey.der)) throw refusal('CMP_REQUEST_INVALID', 'a key update certifies a new key, not the current one', { reason: 'publicKey' });
  const implicitConfirm = message.header.implicitConfirm;
  const issued = await issueDeviceCertificateFor(deps, {
    project,
    request: { kind: 'crmf', subject: current.subject, publicKey: certRequest.publicKey },
    channel: 'cmp',
    actor: `device:${device.deviceId}`,
    entitlement: { kind: 'device', deviceId: device.deviceId, certificateId: device.certificateId },
    claims: (done) => ({ cmpTransaction: transactionRow(deps, request, 'kur', implicitConfirm, done) }),
  });
  const chain = await caChain(deps, project);
  const content = certRepContent([{ certReqId: certRequest.certReqId, status: pkiStatusInfo(PkiStatus.accepted), certificateDer: issued.der }]);
  return { der: protect(deps, message, sender, cmpBody(CMP_BODY_TYPES.kup, content), request, implicitConfirm, chain) };
}

/** rr (RFC 9483 §4.2): a device revokes the certificate it signs with, through the revocation path. */
async function revokeOwn(deps: PkiDeps, request: SignatureAuthenticated, device: CertificateAuthenticatedDevice, sender: Buffer): Promise<CmpAnswer> {
  const { message, project } = request;
  if (message.body.type !== 'rr') throw refusal('CMP_BODY_UNSUPPORTED', 'not an rr', { bodyType: message.body.type });
  const transactionId = (message.header.transactionID as Buffer).toString('hex');
  await refuseSeenTransaction(deps, project, transactionId);
  const current = parseCertificate(message.extraCerts[0] as Buffer);
  const { serialNumber, issuer } = message.body;
  if (!serialNumber || !issuer || !serialNumber.equals(current.serialNumber) || !issuer.equals(current.issuer.der)) {
    throw refusal('CMP_REQUEST_INVALID', 'rr revokes the certificate that signs it: its issuer and serialNumber are the signer’s', { reason: 'certDetails' });
  }
  await deps.db
    .insertInto('cmp_transactions')
    .values(transactionRow(deps, request, 'rr', false))
    .execute()
    .catch((error: unknown) => {
      throw isUniqueViolation(error) ? refusal('CMP_TRANSACTION_ID_IN_USE', 'this transactionID was used before', { transactionId }) : error;
    });
  await revokeCertificates(deps, { actor: `device:${device.deviceId}` }, project, { certificates: [{ fingerprintSha256: request.signerFingerprint }], reason: 'unspecified' });
  return { der: protect(deps, message, sender, cmpBody(CMP_BODY_TYPES.rp, revRepContent(pkiStatusInfo(PkiStatus.accepted))), request) };
}

/** The issuing CA and the rest of its chain, leaf-most first (extraCerts, caPubs). */
async function caChain(deps: PkiDeps, project: ProjectRow): Promise<Buffer[]> {
  const ca = await deps.issuingCas.forProject(project);
  const own = ca.signer.caCertificate.der;
  return [own, ...ca.chainAbove.filter((der) => !der.equals(own))];
}

/** certConf (RFC 4210 §5.3.18): the client confirms (or rejects) the certificate of its transaction. */
async function confirm(deps: PkiDeps, request: Authenticated, sender: Buffer): Promise<CmpAnswer> {
  const { message, project } = request;
  if (message.body.type !== 'certConf') throw refusal('CMP_BODY_UNSUPPORTED', 'not a certConf', { bodyType: message.body.type });
  const transactionId = (message.header.transactionID as Buffer).toString('hex');
  const row = await deps.db.selectFrom('cmp_transactions').selectAll().where('project_id', '=', project.id).where('transaction_id', '=', transactionId).executeTakeFirst();
  if (!row || row.requester !== requesterOf(request) || row.state !== 'awaiting-confirmation' || row.certificate_der === null || row.certificate_fingerprint === null) {
    throw refusal('CMP_CONFIRMATION_INVALID', 'no certificate of this transaction waits for confirmation', { reason: row ? row.state : 'unknown transaction' });
  }
  const statuses = message.body.statuses;
  if (statuses.length !== 1) throw refusal('CMP_CONFIRMATION_INVALID', 'confirm the one certificate of the transaction', { reason: 'statuses' });
  const status = statuses[0]!;
  const der = Buffer.from(row.certificate_der, 'base64');
  if (!certificateHashes(der).some((hash) => hash.equals(status.certHash))) throw refusal('CMP_CONFIRMATION_INVALID', 'certHash is not the hash of the certificate issued', { reason: 'certHash' });
  const accepted = status.status === PkiStatus.accepted || status.status === PkiStatus.grantedWithMods;
  const changed = await deps.db
    .updateTable('cmp_transactions')
    .set({ state: accepted ? 'confirmed' : 'rejected', confirm_by: null })
    .where('project_id', '=', project.id)
    .where('transaction_id', '=', transactionId)
    .where('state', '=', 'awaiting-confirmation')
    .executeTakeFirst();
  if (Number(changed.numUpdatedRows) !== 1) throw refusal('CMP_CONFIRMATION_INVALID', 'the transaction was confirmed meanwhile', { reason: 'race' });
  // A certificate the client rejected is not left valid (RFC 4210 §5.3.18: the CA may revoke it).
  if (!accepted) await revokeCertificates(deps, { actor: `cmp:${requesterOf(request)}` }, project, { certificates: [{ fingerprintSha256: row.certificate_fingerprint }], reason: 'cessationOfOperation' });
  return { der: protect(deps, message, sender, cmpBody(CMP_BODY_TYPES.pkiconf, pkiConfContent()), request) };
}

/**
 * certHash is computed with the hash of the certificate's signature algorithm (RFC 4210
 * §5.3.18; RFC 9480 allows naming another): every hash our CAs sign with is accepted.
 */
function certificateHashes(der: Buffer): Buffer[] {
  parseCertificate(der);
  return ['sha256', 'sha384', 'sha512'].map((hash) => createHash(hash).update(der).digest());
}

/** genm (RFC 9483 §4.3): the CA certificates (id-it-caCerts); other info types answer "none". */
async function generalMessage(deps: PkiDeps, request: Authenticated, sender: Buffer): Promise<CmpAnswer> {
  const { message, project } = request;
  if (message.body.type !== 'genm') throw refusal('CMP_BODY_UNSUPPORTED', 'not a genm', { bodyType: message.body.type });
  const chain = await caChain(deps, project);
  const values = message.body.infoTypes.map((infoType) => ({ infoType, value: infoType === CMP_INFO_TYPES.caCerts ? certificateSequence(chain) : undefined }));
  return { der: protect(deps, message, sender, cmpBody(CMP_BODY_TYPES.genp, genRepContent(values)), request) };
}
