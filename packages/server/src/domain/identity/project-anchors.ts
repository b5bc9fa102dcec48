import { fingerprintSha256, parseCertificate, type Certificate } from '@fleetpki/pki';
import type { Kysely } from 'kysely';
import { LruMap } from '../../lru-map.js';
import type { Database, ProjectRow } from '../../store/schema.js';

/** A project's CA certificates, parsed once per change of the project's CA generation. */
export interface ProjectAnchors {
  readonly generation: number;
  /** Enabled CAs: the trust anchors of the project (DESIGN §3: root or intermediate alike). */
  readonly enabled: readonly Certificate[];
  /** Disabled CAs, so a refusal can say CA_DISABLED rather than UNKNOWN_ISSUER. */
  readonly disabled: readonly Certificate[];
  /** Enabled manufacturer CAs: they vouch for factory certificates at EST enrollment, never for connecting. */
  readonly manufacturers: readonly Certificate[];
  /** CA certificate id by SHA-256 fingerprint of its DER. */
  readonly idByFingerprint: ReadonlyMap<string, string>;
}

/** Bound on cached projects: beyond it the least recently used is dropped and parsed again when needed. */
export const MAX_CACHED_PROJECTS = 10_000;

/**
 * Parsed anchors per project, keyed by the project's ca_generation: every authentication reads
 * the project row anyway, so a change made by any server sharing the store is seen at once.
 */
export class ProjectAnchorCache {
  private readonly entries = new LruMap<string, ProjectAnchors>(MAX_CACHED_PROJECTS);

  constructor(private readonly db: Kysely<Database>) {}

  async anchorsFor(project: ProjectRow): Promise<ProjectAnchors> {
    const cached = this.entries.get(project.id);
    if (cached && cached.generation === project.ca_generation) return cached;
    const rows = await this.db.selectFrom('ca_certificates').select(['id', 'der', 'enabled', 'purpose']).where('project_id', '=', project.id).execute();
    const enabled: Certificate[] = [];
    const disabled: Certificate[] = [];
    const manufacturers: Certificate[] = [];
    const idByFingerprint = new Map<string, string>();
    for (const row of rows) {
      const certificate = parseCertificate(Buffer.from(row.der));
      if (row.purpose === 'manufacturer') {
        if (row.enabled === 1) manufacturers.push(certificate);
        continue;
      }
      (row.enabled === 1 ? enabled : disabled).push(certificate);
      idByFingerprint.set(fingerprintSha256(certificate.der), row.id);
    }
    const anchors: ProjectAnchors = { generation: project.ca_generation, enabled, disabled, manufacturers, idByFingerprint };
    this.entries.set(project.id, anchors);
    return anchors;
  }
}
