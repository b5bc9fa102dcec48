import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { auditRow, type AuditEntry } from '../shared/audit-log.js';

/** How often buffered authentication events are written, and how many make a write start at once. */
export const JOURNAL_FLUSH_MS = 200;
export const JOURNAL_BATCH = 1000;
/** Bound on events held while the store is failing; beyond it they are counted, not kept. */
export const JOURNAL_MAX_PENDING = 50_000;
/** Retry delay after a failed write, doubling up to the cap. */
const RETRY_MS = 200;
const MAX_RETRY_MS = 10_000;

export interface JournalEvent {
  readonly at: Date;
  readonly entry: AuditEntry;
  /** Set for a successful authentication: the device whose last-seen time moves. */
  readonly seenDeviceId?: string;
}

/**
 * Authentication outcomes that change no device (an existing device connecting again, a
 * refusal) are written in batches: one transaction per JOURNAL_FLUSH_MS instead of one fsync
 * per handshake, which would otherwise cap the gateway at the disk's sync rate. A failed write
 * keeps its events and is retried with backoff; while the store stays down, at most
 * JOURNAL_MAX_PENDING events are held and the rest are counted into one `audit.events-dropped`
 * event. The price, stated in docs/devices/https-and-mqtt.md: on a crash, up to one interval of these events and
 * last-seen times is lost. Creating or associating a device never goes through here; it commits
 * with its audit event.
 */
export class AuthenticationJournal {
  private pending: JournalEvent[] = [];
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private retryMs = RETRY_MS;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly onError: (error: Error) => void,
  ) {}

  record(event: JournalEvent): void {
    if (this.pending.length >= JOURNAL_MAX_PENDING) {
      this.dropped++;
      return;
    }
    this.pending.push(event);
    if (this.pending.length >= JOURNAL_BATCH && !this.writing) void this.flush();
    else this.schedule(JOURNAL_FLUSH_MS);
  }

  /** Writes everything recorded so far (one write at a time); resolves when that write is done. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.writing) await this.writing;
    if (this.pending.length === 0 && this.dropped === 0) return;
    const batch = this.pending;
    const dropped = this.dropped;
    this.pending = [];
    this.dropped = 0;
    this.writing = this.write(batch, dropped).then(
      () => {
        this.retryMs = RETRY_MS;
      },
      (error: Error) => {
        // Keep the events (oldest first) and try again later; the bound still holds.
        const kept = [...batch, ...this.pending];
        this.pending = kept.slice(0, JOURNAL_MAX_PENDING);
        this.dropped += dropped + (kept.length - this.pending.length);
        this.onError(error);
        this.schedule(this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
      },
    );
    await this.writing;
    this.writing = undefined;
    if (this.pending.length > 0) this.schedule(JOURNAL_FLUSH_MS);
  }

  private schedule(ms: number): void {
    this.timer ??= setTimeout(() => void this.flush(), ms);
  }

  private async write(batch: readonly JournalEvent[], dropped: number): Promise<void> {
    const lastSeen = new Map<string, string>();
    for (const event of batch) {
      if (event.seenDeviceId === undefined) continue;
      const at = event.at.toISOString();
      if ((lastSeen.get(event.seenDeviceId) ?? '') < at) lastSeen.set(event.seenDeviceId, at);
    }
    const rows = batch.map(({ at, entry }) => auditRow(at, entry));
    if (dropped > 0) {
      rows.push(
        auditRow(new Date(), { actor: 'server', action: 'audit.events-dropped', targetType: 'audit', targetId: 'authentication-journal', projectId: null, details: { count: dropped } }),
      );
    }
    await this.db.transaction().execute(async (trx) => {
      for (const [deviceId, at] of lastSeen) await trx.updateTable('devices').set({ last_seen_at: at }).where('id', '=', deviceId).execute();
      // Bounded chunks: SQLite allows at most 32,766 bound parameters per statement.
      for (let i = 0; i < rows.length; i += 200) await trx.insertInto('audit_events').values(rows.slice(i, i + 200)).execute();
    });
  }
}
