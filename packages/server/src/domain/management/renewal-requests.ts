import type { ProjectRow } from '../../store/schema.js';
import { ServiceError } from '../../service-error.js';
import { auditRow } from '../shared/audit-log.js';
import { bumpGenerations } from '../shared/project-generations.js';
import { actorName, type Principal } from '../shared/principal.js';
import type { ServiceDeps } from '../shared/service-deps.js';
import { timeOrderedId } from '../shared/time-ordered-id.js';

/** Devices named in one forced renewal, as revocations are bounded per request. */
export const MAX_RENEWAL_DEVICES = 10_000;
/** Device IDs per lookup: under SQLite's bound-parameter limit. */
const IDS_PER_LOOKUP = 1000;

export type RenewalRequest = { readonly deviceIds: readonly string[] } | { readonly caId: string };

export interface RenewalRequested {
  readonly requestedAt: string;
  /** How many devices were named (deviceIds), or the CA certificate whose devices all renew. */
  readonly deviceCount: number | null;
  readonly caId: string | null;
}

/**
 * "Renew now" (issue 17, 3): the devices named, or every device under a CA certificate (before
 * retiring it), have their certificates' renewAfter moved to this instant — every certificate
 * issued before it; the ones they renew into are not told again. One transaction: every device
 * must be the project's (DEVICE_NOT_FOUND names the first that is not, and nothing is stored);
 * servers learn it through the project's revocation generation, as they learn a revocation.
 */
export async function requestRenewals(deps: ServiceDeps, principal: Principal, project: ProjectRow, request: RenewalRequest): Promise<RenewalRequested> {
  const now = deps.now();
  const requestedAt = now.toISOString();
  const actor = actorName(principal);
  return deps.db.transaction().execute(async (trx) => {
    let rows: { id: string; project_id: string; device_id: string | null; ca_id: string | null; requested_at: string; actor: string }[];
    if ('caId' in request) {
      const ca = await trx.selectFrom('ca_certificates').select('id').where('project_id', '=', project.id).where('id', '=', request.caId).executeTakeFirst();
      if (!ca) throw new ServiceError('CA_NOT_FOUND', `no CA certificate ${request.caId} in project ${project.slug}`, { certificateId: request.caId });
      rows = [{ id: timeOrderedId(now), project_id: project.id, device_id: null, ca_id: request.caId, requested_at: requestedAt, actor }];
    } else {
      const ids = [...new Set(request.deviceIds)];
      const found = new Set<string>();
      for (let i = 0; i < ids.length; i += IDS_PER_LOOKUP) {
        const chunk = ids.slice(i, i + IDS_PER_LOOKUP);
        for (const row of await trx.selectFrom('devices').select('id').where('project_id', '=', project.id).where('id', 'in', chunk).execute()) found.add(row.id);
      }
      const missing = ids.find((id) => !found.has(id));
      if (missing !== undefined) throw new ServiceError('DEVICE_NOT_FOUND', `no device ${missing} in project ${project.slug}: nothing was asked to renew`, { deviceId: missing });
      rows = ids.map((deviceId) => ({ id: timeOrderedId(now), project_id: project.id, device_id: deviceId, ca_id: null, requested_at: requestedAt, actor }));
    }
    for (let i = 0; i < rows.length; i += 500) await trx.insertInto('renewal_requests').values(rows.slice(i, i + 500)).execute();
    await trx
      .insertInto('audit_events')
      .values(
        auditRow(now, {
          actor,
          action: 'certificate.renewal-requested',
          targetType: 'caId' in request ? 'ca-certificate' : 'project',
          targetId: 'caId' in request ? request.caId : project.slug,
          projectId: project.id,
          details: 'caId' in request ? { caId: request.caId } : { deviceCount: rows.length },
        }),
      )
      .execute();
    await bumpGenerations(trx, project.id, { ca: false, revocations: true });
    return { requestedAt, deviceCount: 'caId' in request ? null : rows.length, caId: 'caId' in request ? request.caId : null };
  });
}
