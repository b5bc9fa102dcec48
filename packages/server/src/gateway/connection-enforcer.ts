import type { ServiceDeps } from '../domain/shared/index.js';
import type { Logger } from '../logger.js';
import type { ConnectionRegistry, RegisteredConnection } from './connection-registry.js';

/** How often the store is asked whether projects with live connections changed. */
export const ENFORCEMENT_INTERVAL_MS = 300;

/**
 * Ends connections whose device was disabled or deleted, whose chain rests on a CA that was
 * disabled or deleted, or whose certificate path has expired. Every such store change bumps the
 * project's auth_generation in its own transaction, so a change made through another server
 * sharing the PostgreSQL database ends connections here too, within one interval plus a query.
 * Each connection remembers the generation it was last found valid under; a tick re-checks
 * exactly the connections behind the current generation — so one registered while a re-check
 * was running (authenticated before a change, registered after it) is re-checked next tick.
 */
export class ConnectionEnforcer {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly registry: ConnectionRegistry,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), ENFORCEMENT_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.running) return; // a slow store: skip a beat rather than pile up queries
    this.running = true;
    try {
      this.closeExpired();
      const projects = this.registry.projects();
      if (projects.length === 0) return;
      const rows = await this.deps.db.selectFrom('projects').select(['id', 'auth_generation']).where('id', 'in', projects).execute();
      const generations = new Map(rows.map((r) => [r.id, Number(r.auth_generation)]));
      for (const key of projects) {
        const generation = generations.get(key);
        const behind = this.registry.connections(key).filter((e) => generation === undefined || e.checkedGeneration < generation);
        if (behind.length > 0) await this.recheck(key, generation, behind);
      }
    } catch (error) {
      this.logger.log('error', 'connection enforcement failed; retrying', { error: (error as Error).message });
    } finally {
      this.running = false;
    }
  }

  private end(entry: RegisteredConnection, reason: string): void {
    this.logger.log('info', 'ending a device connection', { reason, projectId: entry.device.projectId, certificateId: entry.device.certificateId });
    this.registry.close(entry);
  }

  /** RFC 5280 validity holds for the life of a connection, not only at its handshake. */
  private closeExpired(): void {
    const now = this.deps.now().getTime();
    for (const entry of this.registry.all()) {
      if (entry.device.credential === 'certificate' && now > entry.device.validUntil) this.end(entry, 'certificate expired');
    }
  }

  private async recheck(projectKey: string, generation: number | undefined, entries: readonly RegisteredConnection[]): Promise<void> {
    if (generation === undefined) {
      for (const e of entries) this.end(e, 'project deleted');
      return;
    }
    const deviceIds = [...new Set(entries.map((e) => e.device.deviceId))];
    const [devices, cas] = await Promise.all([
      this.deps.db.selectFrom('devices').select(['id', 'enabled']).where('id', 'in', deviceIds).execute(),
      this.deps.db.selectFrom('ca_certificates').select(['id', 'enabled']).where('project_id', '=', projectKey).execute(),
    ]);
    const enabledDevices = new Set(devices.filter((d) => d.enabled === 1).map((d) => d.id));
    const enabledCas = new Set(cas.filter((c) => c.enabled === 1).map((c) => c.id));
    for (const e of entries) {
      const { device } = e;
      if (!enabledDevices.has(device.deviceId)) this.end(e, 'device disabled or deleted');
      else if (device.credential === 'certificate' && !enabledCas.has(device.anchorCaId)) this.end(e, 'CA certificate disabled or deleted');
      // Read after the generation: valid under it (a later change bumps it again).
      else e.checkedGeneration = Math.max(e.checkedGeneration, generation);
    }
  }
}
