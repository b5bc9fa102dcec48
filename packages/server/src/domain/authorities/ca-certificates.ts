import { randomUUID } from 'node:crypto';
import { certificateContent, type CertificateContent } from '@fleetpki/pki';
import { ServiceError } from '../../service-error.js';
import type { CaCertificatesTable, ProjectRow } from '../../store/schema.js';
import { isForeignKeyViolation, isUniqueViolation } from '../../store/constraint-violations.js';
import { expectOneRow, retryOnConcurrentChange } from '../shared/concurrent-change.js';
import { projectGone } from '../management/projects.js';
import { recordAudit } from '../shared/audit-log.js';
import { checkCaUpload, type CertType, type UploadWarning } from './ca-upload-rules.js';
import { decodeCertFile } from './cert-file.js';
import { bumpGenerations } from '../shared/project-generations.js';
import { fetchPage, oldestFirst, type Page, type PageRequest } from '../shared/pagination.js';
import { actorName, type Principal } from '../shared/principal.js';
import type { ServiceDeps } from '../shared/service-deps.js';

export interface CaCertificate {
  readonly id: string;
  readonly certType: CertType;
  readonly enabled: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly certificateContent: CertificateContent;
  readonly purpose: CaPurpose;
  /** Where its CRL is fetched from (set by an admin), or null. */
  readonly crlUrl: string | null;
}

export type CaPurpose = CaCertificatesTable['purpose'];

/** What happened to one certificate of an upload. */
export type UploadResult =
  | { readonly index: number; readonly status: 'created'; readonly certificate: CaCertificate; readonly warnings: readonly UploadWarning[] }
  | { readonly index: number; readonly status: 'refused'; readonly error: ServiceError };

export function caCertificateView(row: CaCertificatesTable): CaCertificate {
  return {
    id: row.id,
    certType: row.cert_type,
    enabled: row.enabled === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    certificateContent: JSON.parse(row.content) as CertificateContent,
    purpose: row.purpose,
    crlUrl: row.crl_url,
  };
}

/**
 * Uploads one or more CA certificates to a project. Each certificate is checked and stored on
 * its own (a bundle reports every result); each stored one is audited in its own transaction.
 */
export async function uploadCaCertificates(
  deps: ServiceDeps,
  principal: Principal,
  project: ProjectRow,
  input: { certFile: string; certType?: CertType | undefined; purpose?: CaPurpose | undefined },
): Promise<UploadResult[]> {
  const items = decodeCertFile(input.certFile);
  const results: UploadResult[] = [];
  for (const item of items) {
    if ('error' in item) {
      results.push({ index: item.index, status: 'refused', error: item.error });
      continue;
    }
    try {
      const now = deps.now();
      const { certType, warnings } = checkCaUpload(item.certificate, input.certType, now);
      const content = certificateContent(item.certificate);
      const at = now.toISOString();
      const row: CaCertificatesTable = {
        id: randomUUID(),
        project_id: project.id,
        cert_type: certType,
        enabled: 1,
        der: item.certificate.der,
        fingerprint_sha256: content.fingerprintSha256,
        subject: content.subject,
        not_after: content.notAfter,
        content: JSON.stringify(content),
        created_at: at,
        updated_at: at,
        purpose: input.purpose ?? 'device',
        crl_url: null,
      };
      await insertCaCertificate(deps, principal, project, row);
      results.push({ index: item.index, status: 'created', certificate: caCertificateView(row), warnings });
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      results.push({ index: item.index, status: 'refused', error });
    }
  }
  return results;
}

async function insertCaCertificate(deps: ServiceDeps, principal: Principal, project: ProjectRow, row: CaCertificatesTable): Promise<void> {
  try {
    await deps.db.transaction().execute(async (trx) => {
      await trx.insertInto('ca_certificates').values(row).execute();
      await bumpGenerations(trx, project.id, { ca: true });
      await recordAudit(trx, deps.now(), {
        actor: actorName(principal),
        action: 'certificate.upload',
        targetType: 'ca-certificate',
        targetId: row.id,
        projectId: project.id,
        details: { certType: row.cert_type, purpose: row.purpose, subject: row.subject, fingerprintSha256: row.fingerprint_sha256 },
      });
    });
  } catch (error) {
    if (isForeignKeyViolation(error)) throw projectGone(project);
    if (!isUniqueViolation(error)) throw error;
    const existing = await deps.db
      .selectFrom('ca_certificates')
      .select('id')
      .where('project_id', '=', project.id)
      .where('fingerprint_sha256', '=', row.fingerprint_sha256)
      .executeTakeFirst();
    throw new ServiceError('CA_DUPLICATE', 'this certificate is already uploaded to the project', { ...(existing ? { existingId: existing.id } : {}), fingerprintSha256: row.fingerprint_sha256 });
  }
}

export async function listCaCertificates(deps: ServiceDeps, project: ProjectRow, request: PageRequest): Promise<Page<CaCertificate>> {
  const query = deps.db.selectFrom('ca_certificates').where('project_id', '=', project.id);
  return fetchPage(deps.db, query, (q) => q.selectAll(), caCertificateView, request, oldestFirst());
}

async function findCaCertificate(deps: ServiceDeps, project: ProjectRow, id: string): Promise<CaCertificatesTable> {
  const row = await deps.db.selectFrom('ca_certificates').selectAll().where('project_id', '=', project.id).where('id', '=', id).executeTakeFirst();
  if (!row) throw new ServiceError('CA_NOT_FOUND', `no CA certificate ${JSON.stringify(id)} in project ${JSON.stringify(project.slug)}`, { certificateId: id });
  return row;
}

export async function getCaCertificate(deps: ServiceDeps, project: ProjectRow, id: string): Promise<{ certificate: CaCertificate; der: Buffer }> {
  const row = await findCaCertificate(deps, project, id);
  return { certificate: caCertificateView(row), der: row.der };
}

export async function setCaCertificateEnabled(deps: ServiceDeps, principal: Principal, project: ProjectRow, id: string, enabled: boolean): Promise<CaCertificate> {
  return retryOnConcurrentChange(async () => {
    const row = await findCaCertificate(deps, project, id);
    if ((row.enabled === 1) === enabled) return caCertificateView(row);
    const updated: CaCertificatesTable = { ...row, enabled: enabled ? 1 : 0, updated_at: deps.now().toISOString() };
    await deps.db.transaction().execute(async (trx) => {
      expectOneRow(
        await trx
          .updateTable('ca_certificates')
          .set({ enabled: updated.enabled, updated_at: updated.updated_at })
          .where('id', '=', row.id)
          .where('enabled', '=', row.enabled)
          .executeTakeFirst(),
      );
      await bumpGenerations(trx, project.id, { ca: true });
      await recordAudit(trx, deps.now(), {
        actor: actorName(principal),
        action: enabled ? 'certificate.enable' : 'certificate.disable',
        targetType: 'ca-certificate',
        targetId: row.id,
        projectId: project.id,
      });
    });
    return caCertificateView(updated);
  });
}

export async function deleteCaCertificate(deps: ServiceDeps, principal: Principal, project: ProjectRow, id: string): Promise<void> {
  const row = await findCaCertificate(deps, project, id);
  await deps.db.transaction().execute(async (trx) => {
    const deleted = await trx.deleteFrom('ca_certificates').where('id', '=', row.id).executeTakeFirst();
    if (Number(deleted.numDeletedRows) !== 1) throw new ServiceError('CA_NOT_FOUND', `no CA certificate ${JSON.stringify(id)} in project ${JSON.stringify(project.slug)}`, { certificateId: id });
    await bumpGenerations(trx, project.id, { ca: true });
    await recordAudit(trx, deps.now(), {
      actor: actorName(principal),
      action: 'certificate.delete',
      targetType: 'ca-certificate',
      targetId: row.id,
      projectId: project.id,
      details: { subject: row.subject, fingerprintSha256: row.fingerprint_sha256 },
    });
  });
}
