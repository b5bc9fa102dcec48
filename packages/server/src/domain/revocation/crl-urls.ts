import type { ProjectRow } from '../../store/schema.js';
import { ServiceError } from '../../service-error.js';
import { recordAudit } from '../shared/audit-log.js';
import { actorName, type Principal } from '../shared/principal.js';
import type { ServiceDeps } from '../shared/service-deps.js';
import { checkCrlUrl } from './crl-url-policy.js';

/**
 * Sets (or clears, with null) where a CA certificate's CRL is fetched from. Admin key only: the
 * server fetches it, so its target is the platform operator's decision (DESIGN §8, SSRF).
 */
export async function setCaCrlUrl(deps: ServiceDeps, principal: Principal, project: ProjectRow, caId: string, crlUrl: string | null, allowPrivate: boolean): Promise<void> {
  if (principal.kind !== 'admin') throw new ServiceError('ADMIN_KEY_REQUIRED', 'setting a CA certificate’s crlUrl needs the admin API key: the server fetches it', { what: 'crlUrl' });
  const normalized = crlUrl === null ? null : (await checkCrlUrl(crlUrl, allowPrivate)).href;
  await deps.db.transaction().execute(async (trx) => {
    const updated = await trx.updateTable('ca_certificates').set({ crl_url: normalized, updated_at: deps.now().toISOString() }).where('project_id', '=', project.id).where('id', '=', caId).executeTakeFirst();
    if (Number(updated.numUpdatedRows) !== 1) throw new ServiceError('CA_NOT_FOUND', `no CA certificate ${caId} in project ${project.slug}`, { certificateId: caId });
    await recordAudit(trx, deps.now(), { actor: actorName(principal), action: 'certificate.crl-url', targetType: 'ca-certificate', targetId: caId, projectId: project.id, details: { crlUrl: normalized } });
  });
}
