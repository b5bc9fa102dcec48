import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { isValidCertificateId } from '@fleetpki/pki';
import { ServiceError } from '../../service-error.js';
import type { EnrollmentTokensTable, ProjectRow } from '../../store/schema.js';
import { isForeignKeyViolation } from '../../store/constraint-violations.js';
import type { IssuanceClaims } from './issuance-record-sink.js';
import { recordAudit } from '../shared/audit-log.js';
import { issueDeviceCertificateFor, type CertificateRequestInput, type IssuanceChannel, type IssuedDeviceCertificate } from './issuance-pipeline.js';
import type { PkiDeps } from './pki-deps.js';
import { projectGone } from '../management/projects.js';
import { actorName, type Principal } from '../shared/principal.js';

/** Bound on tokens made by one request (a batch for a factory run). */
export const MAX_TOKENS_PER_BATCH = 1000;
export const DEFAULT_TOKEN_VALID_HOURS = 7 * 24;
export const MAX_TOKEN_VALID_HOURS = 365 * 24;
const TOKEN_PREFIX = 'fpe_';
const HOUR_MS = 60 * 60 * 1000;

export interface CreatedEnrollmentToken {
  readonly id: string;
  /** The secret, shown only in this answer; the store keeps its SHA-256. */
  readonly token: string;
  readonly deviceId: string | null;
  readonly certificateId: string | null;
}

export interface EnrollmentTokenBatch {
  readonly batchId: string;
  readonly expiresAt: string;
  readonly tokens: readonly CreatedEnrollmentToken[];
}

export function hashEnrollmentToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * One-time EST enrollment tokens (RFC 7030 §3.2.3 HTTP Basic as the bootstrap credential):
 * either one for a device the project already knows — its certificate gets that device's
 * identity whatever the CSR says — or a batch whose holders each name a new certificate ID.
 */
export async function createEnrollmentTokens(
  deps: PkiDeps,
  principal: Principal,
  project: ProjectRow,
  input: { deviceId?: string | undefined; count?: number | undefined; validHours?: number | undefined },
): Promise<EnrollmentTokenBatch> {
  const count = input.count ?? 1;
  if (input.deviceId !== undefined && count !== 1) throw new ServiceError('VALIDATION_FAILED', 'a token made for one device comes alone: count must be 1 with deviceId');
  let device: { id: string; certificateId: string } | undefined;
  if (input.deviceId !== undefined) {
    const row = await deps.db.selectFrom('devices').selectAll().where('project_id', '=', project.id).where('id', '=', input.deviceId).executeTakeFirst();
    if (!row) throw new ServiceError('DEVICE_NOT_FOUND', `no device ${JSON.stringify(input.deviceId)} in project ${JSON.stringify(project.slug)}`, { deviceId: input.deviceId });
    // The certificate will carry the device's certificate ID, or its name (which provisioning then associates, DESIGN §4).
    const certificateId = row.certificate_id ?? row.name;
    if (!isValidCertificateId(certificateId)) {
      throw new ServiceError('CERTIFICATE_ID_INVALID', `device ${JSON.stringify(row.name)} has no certificate ID and its name is not a valid one; set its certificateId first`, { deviceId: row.id });
    }
    device = { id: row.id, certificateId };
  }
  const now = deps.now();
  const expiresAt = new Date(now.getTime() + (input.validHours ?? DEFAULT_TOKEN_VALID_HOURS) * HOUR_MS).toISOString();
  const batchId = randomUUID();
  const tokens: CreatedEnrollmentToken[] = [];
  const rows: EnrollmentTokensTable[] = [];
  for (let i = 0; i < count; i++) {
    const token = TOKEN_PREFIX + randomBytes(24).toString('base64url');
    const id = randomUUID();
    tokens.push({ id, token, deviceId: device?.id ?? null, certificateId: device?.certificateId ?? null });
    rows.push({
      id,
      project_id: project.id,
      token_hash: hashEnrollmentToken(token),
      secret_sealed: deps.enrollmentSecrets.seal(token, { id, project_id: project.id }),
      device_id: device?.id ?? null,
      certificate_id: device?.certificateId ?? null,
      batch_id: batchId,
      expires_at: expiresAt,
      used_at: null,
      created_at: now.toISOString(),
    });
  }
  try {
    await deps.db.transaction().execute(async (trx) => {
      await trx.insertInto('enrollment_tokens').values(rows).execute();
      await recordAudit(trx, now, {
        actor: actorName(principal),
        action: 'pki.enrollment-tokens.create',
        targetType: 'enrollment-token-batch',
        targetId: batchId,
        projectId: project.id,
        details: { count, deviceId: device?.id ?? null, expiresAt },
      });
    });
  } catch (error) {
    if (isForeignKeyViolation(error)) throw projectGone(project);
    throw error;
  }
  return { batchId, expiresAt, tokens };
}

/**
 * EST simpleenroll with a token (RFC 7030 §4.2.1): the token is looked up by its hash, must be
 * unused and unexpired, and is consumed in the transaction that records the certificate — so
 * of two enrollments racing with one token, one gets a certificate and the other
 * ENROLLMENT_TOKEN_USED, and a refused CSR leaves the token usable.
 */
export async function enrollWithToken(deps: PkiDeps, presented: string, csrDer: Buffer, projectSlug?: string): Promise<IssuedDeviceCertificate> {
  const token = await deps.db.selectFrom('enrollment_tokens').selectAll().where('token_hash', '=', hashEnrollmentToken(presented)).executeTakeFirst();
  if (!token) throw new ServiceError('ENROLLMENT_TOKEN_INVALID', 'the enrollment token is not known');
  const project = await usableTokenProject(deps, token, projectSlug);
  return issueWithToken(deps, token, project, { kind: 'csr', der: csrDer }, 'est-enroll');
}

/** A token may enroll while unused and unexpired (its use is claimed again when the certificate is recorded). */
export function assertTokenUsable(deps: PkiDeps, token: EnrollmentTokensTable): void {
  if (token.used_at !== null) throw new ServiceError('ENROLLMENT_TOKEN_USED', 'the enrollment token was already used; each token enrolls once', { tokenId: token.id });
  if (Date.parse(token.expires_at) <= deps.now().getTime()) throw new ServiceError('ENROLLMENT_TOKEN_EXPIRED', `the enrollment token expired at ${token.expires_at}`, { tokenId: token.id });
}

/**
 * The project a token enrolls in, if the token may enroll now: unused, unexpired, and (when the
 * request names a project) of that project — a token of another project is as good as unknown there.
 */
export async function usableTokenProject(deps: PkiDeps, token: EnrollmentTokensTable, projectSlug: string | undefined): Promise<ProjectRow> {
  assertTokenUsable(deps, token);
  const project = await deps.db.selectFrom('projects').selectAll().where('id', '=', token.project_id).executeTakeFirst();
  if (!project || (projectSlug !== undefined && project.slug !== projectSlug)) throw new ServiceError('ENROLLMENT_TOKEN_INVALID', 'the enrollment token is not known');
  return project;
}

/**
 * Issues the certificate a token entitles its holder to. The token's use (and a batch token's
 * claim on a new certificate ID) commit with the certificate's record, in the recorder's group
 * commit: of two enrollments racing with one token, one gets a certificate and the other
 * ENROLLMENT_TOKEN_USED; a refused CSR leaves the token usable. `alsoClaims` adds a transport's
 * own (CMP's transaction).
 */
export async function issueWithToken(
  deps: PkiDeps,
  token: EnrollmentTokensTable,
  project: ProjectRow,
  request: CertificateRequestInput,
  channel: IssuanceChannel,
  alsoClaims?: (issued: IssuedDeviceCertificate) => IssuanceClaims,
): Promise<IssuedDeviceCertificate> {
  const entitlement =
    token.device_id !== null && token.certificate_id !== null
      ? ({ kind: 'device', deviceId: token.device_id, certificateId: token.certificate_id } as const)
      : ({ kind: 'csr-subject' } as const);
  return issueDeviceCertificateFor(deps, {
    project,
    request,
    channel,
    actor: `enrollment-token:${token.id}`,
    entitlement,
    claims(issued) {
      const at = deps.now().toISOString();
      return {
        ...alsoClaims?.(issued),
        tokenUse: { tokenId: token.id, usedAt: at },
        // A batch token enrolls new devices: it must never mint a certificate for an identity the
        // project already has, which would let its holder connect as that device.
        ...(entitlement.kind === 'csr-subject' ? { newIdentity: { projectId: project.id, certificateId: issued.certificateId, tokenId: token.id, createdAt: at } } : {}),
      };
    },
  });
}
