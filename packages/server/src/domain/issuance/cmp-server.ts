import { createHash } from 'node:crypto';
import {
  CMP_BODY_TYPES,
  CMP_INFO_TYPES,
  PASSWORD_BASED_MAC_OID,
  PkiStatus,
  answerHeader,
  answerParameters,
  certRepContent,
  certificateSequence,
  cmpBody,
  cmpMessage,
  decodePem,
  directoryName,
  errorContent,
  genRepContent,
  isPkiError,
  NULL_DIRECTORY_NAME,
  parseCertificate,
  parseCmpMessage,
  parsePasswordBasedMac,
  passwordBasedMac,
  passwordBasedMacAlgorithm,
  pkiConfContent,
  pkiStatusInfo,
  protectedPartOf,
  verifyCertRequestSignature,
  verifyPasswordBasedMac,
  type CmpMessage,
  type PasswordBasedMacParameters,
  type PkiFailureInfoName,
} from '@fleetpki/pki';
import { isServiceError, ServiceError, type ServiceErrorCode } from '../../service-error.js';
import type { EnrollmentTokensTable, ProjectRow } from '../../store/schema.js';
import { isUniqueViolation } from '../../store/constraint-violations.js';
import { recordAudit } from '../shared/audit-log.js';
import { revokeCertificates } from '../revocation/index.js';
import { issueWithToken, usableTokenProject } from './enrollment-tokens.js';
import type { IssuedDeviceCertificate } from './issuance-pipeline.js';
import type { PkiDeps } from './pki-deps.js';

/**
 * How long an issued certificate waits for the client's certConf (RFC 9483 §4.1.1). One not
 * confirmed in time is revoked (cessationOfOperation): the client never said it has it, and a
 * certificate nobody acknowledged must not stay valid for its whole lifetime.
 */
export const CMP_CONFIRM_WINDOW_SECONDS = 300;

/** The PKIFailureInfo bit a refusal carries (RFC 4210 §5.2.3): the client reports it by name. */
function failureInfoOf(code: ServiceErrorCode): PkiFailureInfoName {
  switch (code) {
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

/** The request as far as the server trusts it: MAC checked with this token's secret. */
interface Authenticated {
  readonly message: CmpMessage;
  readonly token: EnrollmentTokensTable;
  readonly secret: Buffer;
  readonly pbm: PasswordBasedMacParameters;
  readonly project: ProjectRow;
}

function refusal(code: ServiceErrorCode, message: string, facts: Record<string, unknown> = {}): ServiceError {
  return new ServiceError(code, message, facts as never);
}

/** The header of an answer to `message` (or to bytes that did not parse). */
function headerFor(message: CmpMessage | undefined, sender: Buffer, protection?: { readonly alg: Buffer; readonly kid: Buffer }, implicitConfirm = false): Buffer {
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
 * ir, cr and p10cr with MAC protection keyed by a one-time enrollment token (its ID the
 * senderKID), certConf/pkiConf, and genm for the CA certificates. Every refusal is an error
 * message with its PKIFailureInfo and an audit event with its code; nothing is issued or recorded
 * on a refusal. `projectSlug` is the path's `/p/{projectId}`, when the client named one.
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
    authenticated = await authenticate(deps, message);
    // Past the MAC, refusals are protected: the client can trust them.
    if (projectSlug !== undefined && authenticated.project.slug !== projectSlug) throw refusal('ENROLLMENT_TOKEN_INVALID', 'the enrollment token is not known in this project');
    const ca = await deps.issuingCas.forProject(authenticated.project);
    sender = directoryName(ca.signer.caCertificate.subject.der);
    return await answerAuthenticated(deps, authenticated, sender);
  } catch (error) {
    if (!isServiceError(error)) throw error;
    await auditRefusal(deps, authenticated?.project ?? null, message, error);
    const status = pkiStatusInfo(PkiStatus.rejection, failureInfoOf(error.code), `${error.code}: ${error.message}`);
    const body = cmpBody(CMP_BODY_TYPES.error, errorContent(status, error.code));
    // Protected with the token when its MAC verified; otherwise the server cannot (RFC 9483 §3.6.4).
    return { der: protect(message, sender, body, authenticated), code: error.code };
  }
}

function protect(message: CmpMessage | undefined, sender: Buffer, body: Buffer, authenticated: Authenticated | undefined, implicitConfirm = false): Buffer {
  if (!authenticated) return cmpMessage(headerFor(message, sender), body);
  const params = answerParameters(authenticated.pbm);
  const header = headerFor(message, sender, { alg: passwordBasedMacAlgorithm(params), kid: Buffer.from(authenticated.token.id, 'utf8') }, implicitConfirm);
  return cmpMessage(header, body, passwordBasedMac(authenticated.secret, params, protectedPartOf(header, body)));
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
async function authenticate(deps: PkiDeps, message: CmpMessage): Promise<Authenticated> {
  const { header } = message;
  if (header.pvno !== 2 && header.pvno !== 3) throw refusal('CMP_REQUEST_INVALID', `pvno ${header.pvno} is not cmp2000 (2) or cmp2021 (3)`, { reason: 'pvno' });
  if (!header.transactionID || header.transactionID.length < 16 || header.transactionID.length > 64) {
    throw refusal('CMP_REQUEST_INVALID', 'a transactionID of 16 to 64 bytes is required (RFC 9483 §3.1)', { reason: 'transactionID' });
  }
  if (!header.senderNonce || header.senderNonce.length < 16) throw refusal('CMP_REQUEST_INVALID', 'a senderNonce of at least 128 bits is required (RFC 9483 §3.1)', { reason: 'senderNonce' });
  if (!header.protectionAlg || !message.protection) throw refusal('CMP_PROTECTION_INVALID', 'the message is not protected (RFC 9483 §3.2)');
  if (header.protectionAlg.oid !== PASSWORD_BASED_MAC_OID) {
    throw refusal('CMP_PROTECTION_UNSUPPORTED', `protection ${header.protectionAlg.oid} is not served yet: protect with an enrollment token (PasswordBasedMac)`, { reason: header.protectionAlg.oid });
  }
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
  if (!verifyPasswordBasedMac(secret, pbm, message.protectedPart, message.protection)) throw refusal('CMP_PROTECTION_INVALID', 'the MAC does not verify: wrong secret, or the message was changed');
  // The token's row is deleted with its project, so its project is there.
  const project = await deps.db.selectFrom('projects').selectAll().where('id', '=', token.project_id).executeTakeFirstOrThrow();
  return { message, token, secret, pbm, project };
}

async function answerAuthenticated(deps: PkiDeps, request: Authenticated, sender: Buffer): Promise<CmpAnswer> {
  const { message } = request;
  const { body } = message;
  switch (body.type) {
    case 'ir':
    case 'cr':
    case 'p10cr':
      return enroll(deps, request, sender);
    case 'certConf':
      return confirm(deps, request, sender);
    case 'genm':
      return generalMessage(deps, request, sender);
    default:
      throw refusal('CMP_BODY_UNSUPPORTED', `${body.type === 'other' ? `body [${body.tagNumber}]` : body.type} is not served with an enrollment token`, { bodyType: body.type });
  }
}

async function enroll(deps: PkiDeps, request: Authenticated, sender: Buffer): Promise<CmpAnswer> {
  const { message, token, project } = request;
  const { body, header } = message;
  const transactionId = (header.transactionID as Buffer).toString('hex');
  const seen = await deps.db.selectFrom('cmp_transactions').select('state').where('project_id', '=', project.id).where('transaction_id', '=', transactionId).executeTakeFirst();
  if (seen) throw refusal('CMP_TRANSACTION_ID_IN_USE', 'this transactionID was used before (a replayed message?)', { transactionId });
  await usableTokenProject(deps, token, project.slug);

  let certReqId: number;
  let issued: IssuedDeviceCertificate;
  const implicitConfirm = header.implicitConfirm;
  const record = async (trx: Parameters<NonNullable<Parameters<typeof issueWithToken>[5]>>[0]): Promise<void> => {
    await trx
      .insertInto('cmp_transactions')
      .values({
        project_id: project.id,
        transaction_id: transactionId,
        token_id: token.id,
        request_type: body.type,
        state: implicitConfirm ? 'confirmed' : 'awaiting-confirmation',
        certificate_fingerprint: null,
        certificate_der: null,
        created_at: deps.now().toISOString(),
        confirm_by: implicitConfirm ? null : new Date(deps.now().getTime() + CMP_CONFIRM_WINDOW_SECONDS * 1000).toISOString(),
      })
      .execute()
      .catch((error: unknown) => {
        throw isUniqueViolation(error) ? refusal('CMP_TRANSACTION_ID_IN_USE', 'this transactionID was used before', { transactionId }) : error;
      });
  };
  if (body.type === 'p10cr') {
    certReqId = -1;
    issued = await issueWithToken(deps, token, project, { kind: 'csr', der: body.csrDer }, 'cmp', record);
  } else if (body.type === 'ir' || body.type === 'cr') {
    if (body.requests.length !== 1) throw refusal('CMP_REQUEST_INVALID', 'one certificate per request (RFC 9483 §4.1.1)', { reason: 'requests' });
    const certRequest = body.requests[0]!;
    certReqId = certRequest.certReqId;
    if (certReqId !== 0) throw refusal('CMP_REQUEST_INVALID', 'certReqId must be 0 (RFC 9483 §4.1.1)', { reason: 'certReqId' });
    if (!certRequest.subject || !certRequest.publicKey) throw refusal('CMP_REQUEST_INVALID', 'the certTemplate needs a subject and a publicKey', { reason: 'certTemplate' });
    if (certRequest.popo.kind !== 'signature' || !verifyCertRequestSignature(certRequest)) throw refusal('CMP_POP_INVALID', 'the request does not prove possession of its key with a signature (RFC 4211 §4.1)');
    issued = await issueWithToken(deps, token, project, { kind: 'crmf', subject: certRequest.subject, publicKey: certRequest.publicKey }, 'cmp', record);
  } else {
    throw refusal('CMP_BODY_UNSUPPORTED', `${body.type} is not an enrollment`, { bodyType: body.type });
  }
  await deps.db
    .updateTable('cmp_transactions')
    .set({ certificate_fingerprint: issued.fingerprintSha256, certificate_der: issued.der.toString('base64') })
    .where('project_id', '=', project.id)
    .where('transaction_id', '=', transactionId)
    .execute();

  const chain = await caChain(deps, project, issued.caCertificateDer);
  const root = chain[chain.length - 1];
  const replyType = body.type === 'ir' ? CMP_BODY_TYPES.ip : CMP_BODY_TYPES.cp;
  // caPubs: the root, for a client that enrolled with a MAC and so has no trust anchor yet (RFC 9483 §4.1.1).
  const content = certRepContent([{ certReqId, status: pkiStatusInfo(PkiStatus.accepted), certificateDer: issued.der }], body.type === 'ir' && root ? [root] : []);
  const answerBody = cmpBody(replyType, content);
  const der = protectWithChain(message, sender, answerBody, request, chain, implicitConfirm);
  return { der };
}

/** The issuing CA and the rest of its chain, leaf-most first (extraCerts, caPubs). */
async function caChain(deps: PkiDeps, project: ProjectRow, caCertificateDer: Buffer): Promise<Buffer[]> {
  const ca = await deps.issuingCas.forProject(project);
  const row = await deps.db.selectFrom('managed_cas').select('chain_pem').where('id', '=', ca.id).executeTakeFirst();
  const rest = row?.chain_pem ? decodePem(row.chain_pem).map((block) => block.der) : [];
  return [caCertificateDer, ...rest.filter((der) => !der.equals(caCertificateDer))];
}

function protectWithChain(message: CmpMessage, sender: Buffer, body: Buffer, request: Authenticated, chain: readonly Buffer[], implicitConfirm: boolean): Buffer {
  const params = answerParameters(request.pbm);
  const header = headerFor(message, sender, { alg: passwordBasedMacAlgorithm(params), kid: Buffer.from(request.token.id, 'utf8') }, implicitConfirm);
  return cmpMessage(header, body, passwordBasedMac(request.secret, params, protectedPartOf(header, body)), chain);
}

/** certConf (RFC 4210 §5.3.18): the client confirms (or rejects) the certificate of its transaction. */
async function confirm(deps: PkiDeps, request: Authenticated, sender: Buffer): Promise<CmpAnswer> {
  const { message, project } = request;
  if (message.body.type !== 'certConf') throw refusal('CMP_BODY_UNSUPPORTED', 'not a certConf', { bodyType: message.body.type });
  const transactionId = (message.header.transactionID as Buffer).toString('hex');
  const row = await deps.db.selectFrom('cmp_transactions').selectAll().where('project_id', '=', project.id).where('transaction_id', '=', transactionId).executeTakeFirst();
  if (!row || row.token_id !== request.token.id || row.state !== 'awaiting-confirmation' || row.certificate_der === null || row.certificate_fingerprint === null) {
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
  if (!accepted) await revokeCertificates(deps, { actor: `cmp:${request.token.id}` }, project, { certificates: [{ fingerprintSha256: row.certificate_fingerprint }], reason: 'cessationOfOperation' });
  return { der: protect(message, sender, cmpBody(CMP_BODY_TYPES.pkiconf, pkiConfContent()), request) };
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
  const ca = await deps.issuingCas.forProject(project);
  const chain = await caChain(deps, project, ca.signer.caCertificate.der);
  const values = message.body.infoTypes.map((infoType) => ({ infoType, value: infoType === CMP_INFO_TYPES.caCerts ? certificateSequence(chain) : undefined }));
  return { der: protect(message, sender, cmpBody(CMP_BODY_TYPES.genp, genRepContent(values)), request) };
}
