import { sql, type Transaction } from 'kysely';
import type { Database } from '../../store/schema.js';
import { auditRow } from '../shared/audit-log.js';
import { bumpGenerations } from '../shared/project-generations.js';
import { projectSettingsOf } from '../management/index.js';

/** Sightings per statement: two bound parameters each, far under SQLite's and PostgreSQL's limits. */
const SIGHTINGS_PER_STATEMENT = 100;

/** A certificate just admitted on a device, as supersession reads it. */
export interface AdmittedCertificate {
  readonly projectKey: string;
  readonly fingerprintSha256: string;
  readonly deviceId: string;
}

/**
 * Of a batch of sightings, the first sightings that may supersede: a certificate fleetpki issued
 * that had never been used, or — in a project under `supersedeOnNewerCertificate` — one not in
 * the inventory yet. Read before the sightings are written (their first_seen_at is still null);
 * one primary-key probe per sighting, so reconnects of known certificates cost nothing more.
 */
export async function supersedingCandidates<T extends AdmittedCertificate>(trx: Transaction<Database>, sightings: readonly T[]): Promise<SupersedingCandidates<T>> {
  if (sightings.length === 0) return { certificates: [], newerSupersedes: new Set() };
  const byProject = groupByProject(sightings);
  const projects = await trx.selectFrom('projects').select(['id', 'settings']).where('id', 'in', [...byProject.keys()]).execute();
  const newerSupersedes = new Set(projects.filter((p) => projectSettingsOf(p).supersedeOnNewerCertificate).map((p) => p.id));
  const candidates: T[] = [];
  for (const [projectKey, certificates] of byProject) {
    for (let i = 0; i < certificates.length; i += SIGHTINGS_PER_STATEMENT) {
      const chunk = certificates.slice(i, i + SIGHTINGS_PER_STATEMENT);
      const known = new Map(
        (
          await trx
            .selectFrom('device_certificates')
            .select(['fingerprint_sha256', 'source', 'first_seen_at'])
            .where('project_id', '=', projectKey)
            .where('fingerprint_sha256', 'in', chunk.map((c) => c.fingerprintSha256))
            .execute()
        ).map((row) => [row.fingerprint_sha256, row] as const),
      );
      for (const certificate of chunk) {
        const row = known.get(certificate.fingerprintSha256);
        if (row ? row.first_seen_at === null && row.source === 'issued' : newerSupersedes.has(projectKey)) candidates.push(certificate);
      }
    }
  }
  return { certificates: candidates, newerSupersedes };
}

/** First sightings that may supersede, and the projects where a later notBefore does (read once, for both steps). */
export interface SupersedingCandidates<T extends AdmittedCertificate> {
  readonly certificates: T[];
  readonly newerSupersedes: ReadonlySet<string>;
}

function groupByProject<T extends AdmittedCertificate>(certificates: readonly T[]): Map<string, T[]> {
  const byProject = new Map<string, T[]>();
  for (const certificate of certificates) {
    const list = byProject.get(certificate.projectKey);
    if (list) list.push(certificate);
    else byProject.set(certificate.projectKey, [certificate]);
  }
  return byProject;
}

/**
 * Rotation retires the old key (issue 17, 2): once a device has authenticated with a certificate
 * the platform issued it, its other active certificates that are not newer become `superseded`;
 * under the project's `supersedeOnNewerCertificate`, so does every active certificate of the device
 * with an earlier notBefore than the one it authenticated with, whoever issued it. A device that
 * never uses its new certificate keeps the old one. Runs in the journal's write for the first
 * sightings supersedingCandidates found, set-based (one statement per hundred).
 * Each supersession is audited, and moves its project's generations so every server's
 * revocation set learns it (the grace period then runs from `superseded_at`).
 */
export async function supersedeOlderCertificates(trx: Transaction<Database>, candidates: SupersedingCandidates<AdmittedCertificate>, at: Date): Promise<void> {
  const { certificates: admitted, newerSupersedes } = candidates;
  if (admitted.length === 0) return;
  const byProject = groupByProject(admitted);
  const supersededAt = at.toISOString();
  for (const [projectKey, certificates] of byProject) {
    const superseded: { fingerprint_sha256: string; device_id: string | null }[] = [];
    for (let i = 0; i < certificates.length; i += SIGHTINGS_PER_STATEMENT) {
      const chunk = certificates.slice(i, i + SIGHTINGS_PER_STATEMENT);
      const rows = await trx
        .updateTable('device_certificates')
        .set({ status: 'superseded', superseded_at: supersededAt })
        .where('project_id', '=', projectKey)
        .where('status', '=', 'active')
        .where('device_id', 'in', chunk.map((c) => c.deviceId))
        .where(({ exists, selectFrom }) =>
          exists(
            selectFrom('device_certificates as newer')
              .select(sql<number>`1`.as('one'))
              .whereRef('newer.project_id', '=', 'device_certificates.project_id')
              .whereRef('newer.device_id', '=', 'device_certificates.device_id')
              .whereRef('newer.fingerprint_sha256', '<>', 'device_certificates.fingerprint_sha256')
              .where('newer.fingerprint_sha256', 'in', chunk.map((c) => c.fingerprintSha256))
              .where('newer.status', '=', 'active')
              .where(({ eb, and, or }) =>
                or([
                  // Issued after it: by the issuance instant when both were issued here (two may share a notBefore second).
                  and([
                    eb('newer.source', '=', 'issued'),
                    eb('newer.not_before', '>=', eb.ref('device_certificates.not_before')),
                    or([eb('device_certificates.issued_at', 'is', null), eb('newer.issued_at', '>', eb.ref('device_certificates.issued_at'))]),
                  ]),
                  ...(newerSupersedes.has(projectKey) ? [eb('newer.not_before', '>', eb.ref('device_certificates.not_before'))] : []),
                ]),
              ),
          ),
        )
        .returning(['fingerprint_sha256', 'device_id'])
        .execute();
      superseded.push(...rows);
    }
    if (superseded.length === 0) continue;
    const events = superseded.map((row) =>
      auditRow(at, {
        actor: 'server',
        action: 'certificate.superseded',
        targetType: 'certificate',
        targetId: row.fingerprint_sha256,
        projectId: projectKey,
        details: { deviceId: row.device_id, supersededAt },
      }),
    );
    for (let i = 0; i < events.length; i += 200) await trx.insertInto('audit_events').values(events.slice(i, i + 200)).execute();
    await bumpGenerations(trx, projectKey, { ca: false, revocations: true });
  }
}
