import type { ExpressionBuilder } from 'kysely';
import type { Logger } from '../../logger.js';
import type { Database } from '../../store/schema.js';
import { projectSettingsOf } from '../management/index.js';
import { auditRow } from '../shared/audit-log.js';
import { LeasedSchedule } from '../shared/leased-schedule.js';
import type { ServiceDeps } from '../shared/service-deps.js';

/** How often a server looks for certificates crossing a threshold, and how long its lease lasts. */
export const EXPIRY_ALERT_INTERVAL_MS = 60_000;
export const EXPIRY_ALERT_LEASE_MS = 120_000;
/** Certificates reported per threshold per project in one pass; the rest wait for the next pass. */
const BATCH = 1000;
const DAY_MS = 24 * 3600 * 1000;
const LEASE_NAME = 'expiry-alerts';

/** The notAfter range one threshold looks at in a pass: (from, to], ISO 8601. */
interface Band {
  readonly from: string | undefined;
  readonly to: string;
}

const bandEdge = (now: Date, days: number): string => new Date(now.getTime() + days * DAY_MS).toISOString();

/** What one pass reported. */
export interface ExpiryAlertPass {
  readonly leased: boolean;
  readonly expiring: number;
  readonly expired: number;
}

/**
 * Expiry alerts (issue 17, 4): one server at a time (the `expiry-alerts` lease) looks for device
 * certificates (active ones of the inventory) and CA certificates (enabled ones) that have
 * crossed one of their project's `expiryAlertDays` thresholds, and records `certificate.expiring`
 * (with `thresholdDays`, `daysLeft`, `notAfter`) — or `certificate.expired` once past notAfter.
 * Each threshold is reported once per certificate: a certificate's `expiry_reported_days` only
 * moves down, in the transaction that writes the event, so even two servers racing past a lapsed
 * lease cannot report one twice. A certificate first looked at inside several thresholds is
 * reported for the smallest only (one alert, not a burst): each threshold looks only at its band,
 * notAfter between the next smaller threshold and itself. These are the events the webhooks
 * deliver (DESIGN §8).
 */
export class ExpiryAlerts {
  private readonly schedule: LeasedSchedule<ExpiryAlertPass>;

  constructor(
    private readonly deps: ServiceDeps,
    logger: Logger,
    options: { readonly intervalMs?: number | undefined; readonly leaseMs?: number | undefined } = {},
  ) {
    this.schedule = new LeasedSchedule(deps, logger, {
      lease: LEASE_NAME,
      intervalMs: options.intervalMs ?? EXPIRY_ALERT_INTERVAL_MS,
      leaseMs: options.leaseMs ?? EXPIRY_ALERT_LEASE_MS,
      idle: { leased: false, expiring: 0, expired: 0 },
      failure: 'expiry alerts failed; retrying',
      run: (now) => this.pass(now),
    });
  }

  start(): void {
    this.schedule.start();
  }

  stop(): void {
    this.schedule.stop();
  }

  /** One pass, unless one is running (then its outcome). */
  tick(): Promise<ExpiryAlertPass> {
    return this.schedule.tick();
  }

  private async pass(now: Date): Promise<ExpiryAlertPass> {
    let expiring = 0;
    let expired = 0;
    const projects = await this.deps.db.selectFrom('projects').select(['id', 'settings']).execute();
    for (const project of projects) {
      // Smallest first, 0 being the expiry itself: a certificate inside several thresholds gets the smallest.
      const thresholds = [0, ...[...new Set(projectSettingsOf(project).expiryAlertDays)].sort((a, b) => a - b)];
      for (const [i, days] of thresholds.entries()) {
        // Each threshold takes its band only (after the next smaller one): a certificate that
        // arrives mid-pass already inside a smaller band waits for that band's query.
        const band = { from: i === 0 ? undefined : bandEdge(now, thresholds[i - 1] as number), to: bandEdge(now, days) };
        const reported = (await this.reportDevices(project.id, days, band, now)) + (await this.reportCas(project.id, days, band, now));
        if (days === 0) expired += reported;
        else expiring += reported;
      }
    }
    return { leased: true, expiring, expired };
  }

  /**
   * Device certificates past `days` before notAfter and not yet reported at it or below: one
   * set-based UPDATE … RETURNING per batch (only the rows it moved get an event), in the
   * transaction that writes their events.
   */
  private async reportDevices(projectId: string, days: number, band: Band, now: Date): Promise<number> {
    const notYet = (eb: ExpressionBuilder<Database, 'device_certificates'>) => eb.or([eb('expiry_reported_days', 'is', null), eb('expiry_reported_days', '>', days)]);
    const due = await this.deps.db
      .selectFrom('device_certificates')
      .select('fingerprint_sha256')
      .where('project_id', '=', projectId)
      .where('status', '=', 'active')
      .where('not_after', '<=', band.to)
      .$if(band.from !== undefined, (q) => q.where('not_after', '>', band.from as string))
      .where(notYet)
      .orderBy('not_after')
      .limit(BATCH)
      .execute();
    if (due.length === 0) return 0;
    return this.deps.db.transaction().execute(async (trx) => {
      const moved = await trx
        .updateTable('device_certificates')
        .set({ expiry_reported_days: days })
        .where('project_id', '=', projectId)
        .where('fingerprint_sha256', 'in', due.map((d) => d.fingerprint_sha256))
        .where(notYet)
        .returning(['fingerprint_sha256', 'not_after', 'device_id', 'ca_id'])
        .execute();
      const events = moved.map((c) => this.event(now, projectId, 'certificate', c.fingerprint_sha256, days, c.not_after, { kind: 'device', deviceId: c.device_id, caId: c.ca_id }));
      for (let i = 0; i < events.length; i += 200) await trx.insertInto('audit_events').values(events.slice(i, i + 200)).execute();
      return moved.length;
    });
  }

  /** Enabled CA certificates, the same way: a read first, so a pass with nothing due opens no write transaction. */
  private async reportCas(projectId: string, days: number, band: Band, now: Date): Promise<number> {
    const notYet = (eb: ExpressionBuilder<Database, 'ca_certificates'>) => eb.or([eb('expiry_reported_days', 'is', null), eb('expiry_reported_days', '>', days)]);
    const due = await this.deps.db
      .selectFrom('ca_certificates')
      .select('id')
      .where('project_id', '=', projectId)
      .where('enabled', '=', 1)
      .where('not_after', '<=', band.to)
      .$if(band.from !== undefined, (q) => q.where('not_after', '>', band.from as string))
      .where(notYet)
      .limit(BATCH)
      .execute();
    if (due.length === 0) return 0;
    return this.deps.db.transaction().execute(async (trx) => {
      const moved = await trx
        .updateTable('ca_certificates')
        .set({ expiry_reported_days: days })
        .where('project_id', '=', projectId)
        .where('id', 'in', due.map((d) => d.id))
        .where(notYet)
        .returning(['id', 'not_after', 'subject'])
        .execute();
      const events = moved.map((ca) => this.event(now, projectId, 'ca-certificate', ca.id, days, ca.not_after, { kind: 'ca', subject: ca.subject }));
      for (let i = 0; i < events.length; i += 200) await trx.insertInto('audit_events').values(events.slice(i, i + 200)).execute();
      return moved.length;
    });
  }

  private event(now: Date, projectId: string, targetType: string, targetId: string, days: number, notAfter: string, facts: Record<string, unknown>) {
    const daysLeft = Math.max(0, Math.ceil((Date.parse(notAfter) - now.getTime()) / DAY_MS));
    return auditRow(now, {
      actor: 'server',
      action: days === 0 ? 'certificate.expired' : 'certificate.expiring',
      targetType,
      targetId,
      projectId,
      details: days === 0 ? { notAfter, ...facts } : { thresholdDays: days, daysLeft, notAfter, ...facts },
    });
  }
}
