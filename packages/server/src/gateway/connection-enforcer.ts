import type { ConnectionReview, ProjectGenerations } from '../domain/identity/index.js';
import type { ServiceDeps } from '../domain/shared/index.js';
import type { Logger } from '../logger.js';
import type { ConnectionRegistry, RegisteredConnection } from './connection-registry.js';

/** How often the store is asked whether projects with live connections changed. */
export const ENFORCEMENT_INTERVAL_MS = 300;

/**
 * Ends connections the identity room's ConnectionReview says must end (device disabled or
 * deleted, CA disabled or deleted, a certificate of the path revoked), and those whose
 * certificate path has expired. Every such store change bumps the
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
    private readonly review: ConnectionReview,
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
      const generations = await this.review.generations(projects);
      for (const key of projects) {
        const generation = generations.get(key);
        const behind = this.registry.connections(key).filter((e) => generation === undefined || e.checkedGeneration < generation.authGeneration);
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

  private async recheck(projectKey: string, generation: ProjectGenerations | undefined, entries: readonly RegisteredConnection[]): Promise<void> {
    if (generation === undefined) {
      for (const e of entries) this.end(e, 'project deleted');
      return;
    }
    const reasons = await this.review.reasonsToEnd(projectKey, generation, entries.map((e) => e.device));
    for (const [i, e] of entries.entries()) {
      const reason = reasons[i];
      if (reason !== undefined) this.end(e, reason);
      // Read after the generation: valid under it (a later change bumps it again).
      else e.checkedGeneration = Math.max(e.checkedGeneration, generation.authGeneration);
    }
  }
}
