import type { RevocationSets } from '../revocation/index.js';
import type { ServiceDeps } from '../shared/service-deps.js';
import type { AuthenticatedDevice } from './identity-types.js';

/** A project's counters as the review reads them. */
export interface ProjectGenerations {
  readonly authGeneration: number;
  readonly revocationGeneration: number;
}

/**
 * Whether admitted devices may stay connected, decided here once for every transport: the
 * gateway's enforcer asks when a project's auth_generation moved (on this server or another
 * sharing the store) and ends what this says must end. A device stays while it exists and is
 * enabled, the CA certificate its path rests on exists and is enabled, no certificate of its
 * path is revoked, and (under `staleCrl: "refuse"`) no CRL of its path's CAs is stale.
 */
export class ConnectionReview {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly revocations: RevocationSets,
  ) {}

  /** The current counters of the projects that hold connections; a deleted project is missing. */
  async generations(projectKeys: readonly string[]): Promise<Map<string, ProjectGenerations>> {
    const rows = await this.deps.db.selectFrom('projects').select(['id', 'auth_generation', 'revocation_generation']).where('id', 'in', projectKeys).execute();
    return new Map(rows.map((r) => [r.id, { authGeneration: Number(r.auth_generation), revocationGeneration: Number(r.revocation_generation) }]));
  }

  /** Per device, in order: why its connections must end, or undefined when they may stay. */
  async reasonsToEnd(projectKey: string, generations: ProjectGenerations, devices: readonly AuthenticatedDevice[]): Promise<(string | undefined)[]> {
    const deviceIds = [...new Set(devices.map((d) => d.deviceId))];
    const [rows, cas, revocations] = await Promise.all([
      this.deps.db.selectFrom('devices').select(['id', 'enabled']).where('id', 'in', deviceIds).execute(),
      this.deps.db.selectFrom('ca_certificates').select(['id', 'enabled']).where('project_id', '=', projectKey).execute(),
      this.revocations.of({ id: projectKey, revocation_generation: generations.revocationGeneration }),
    ]);
    const enabledDevices = new Set(rows.filter((d) => d.enabled === 1).map((d) => d.id));
    const enabledCas = new Set(cas.filter((c) => c.enabled === 1).map((c) => c.id));
    return devices.map((device) => {
      if (!enabledDevices.has(device.deviceId)) return 'device disabled or deleted';
      if (device.credential !== 'certificate') return undefined;
      if (!enabledCas.has(device.anchorCaId)) return 'CA certificate disabled or deleted';
      const revoked = revocations.find(device.path);
      if (revoked) return `certificate revoked (${revoked.fact.reason})`;
      if (revocations.staleCrl(device.path, this.deps.now())) return 'the CRL of its CA is stale (staleCrl: refuse)';
      return undefined;
    });
  }
}
