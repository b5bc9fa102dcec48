import type { ServiceDeps } from '../domain/service-deps.js';
import type { Logger } from '../logger.js';
import type { ConnectionRegistry } from './connection-registry.js';

/** How often the store is asked whether projects with live connections changed. */
export const ENFORCEMENT_INTERVAL_MS = 300;

/**
 * Ends connections whose device was disabled or deleted, or whose chain rests on a CA that was
 * disabled or deleted. It watches each connected project's auth_generation, which every such
 * change bumps in its own transaction — so a change made through another server sharing the
 * PostgreSQL database ends connections here too, within one interval plus one query.
 */
export class ConnectionEnforcer {
  private readonly seen = new Map<string, number>();
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

  /**
   * Notes the generation a connection was authenticated under. Keeping the lowest one seen means
   * a change that landed between that authentication and this call is still caught next tick.
   */
  admitted(projectKey: string, generation: number): void {
    const seen = this.seen.get(projectKey);
    if (seen === undefined || generation < seen) this.seen.set(projectKey, generation);
  }

  private async tick(): Promise<void> {
    if (this.running) return; // a slow store: skip a beat rather than pile up queries
    this.running = true;
    try {
      const projects = this.registry.projects();
      for (const key of this.seen.keys()) if (!projects.includes(key)) this.seen.delete(key);
      if (projects.length === 0) return;
      const rows = await this.deps.db.selectFrom('projects').select(['id', 'auth_generation']).where('id', 'in', projects).execute();
      const generations = new Map(rows.map((r) => [r.id, Number(r.auth_generation)]));
      for (const key of projects) {
        const now = generations.get(key);
        if (now !== undefined && this.seen.get(key) === now) continue;
        await this.recheck(key, now);
        if (now !== undefined) this.seen.set(key, now);
      }
    } catch (error) {
      this.logger.log('error', 'connection enforcement failed; retrying', { error: (error as Error).message });
    } finally {
      this.running = false;
    }
  }

  private async recheck(projectKey: string, generation: number | undefined): Promise<void> {
    const connections = this.registry.connections(projectKey);
    if (generation === undefined) {
      for (const c of connections) c.close('project deleted');
      return;
    }
    const deviceIds = [...new Set(connections.map((c) => c.device.deviceId))];
    const [devices, cas] = await Promise.all([
      this.deps.db.selectFrom('devices').select(['id', 'enabled']).where('id', 'in', deviceIds).execute(),
      this.deps.db.selectFrom('ca_certificates').select(['id', 'enabled']).where('project_id', '=', projectKey).execute(),
    ]);
    const enabledDevices = new Set(devices.filter((d) => d.enabled === 1).map((d) => d.id));
    const enabledCas = new Set(cas.filter((c) => c.enabled === 1).map((c) => c.id));
    for (const c of connections) {
      if (!enabledDevices.has(c.device.deviceId)) c.close('device disabled or deleted');
      else if (!enabledCas.has(c.device.anchorCaId)) c.close('CA certificate disabled or deleted');
    }
  }
}
