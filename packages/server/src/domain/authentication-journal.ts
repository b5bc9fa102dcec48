import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { auditRow, type AuditEntry } from './audit-log.js';

/** How often buffered authentication events are written, and the most held before a write. */
export const JOURNAL_FLUSH_MS = 200;
export const JOURNAL_MAX_PENDING = 1000;

interface PendingEvent {
  readonly at: Date;
  readonly entry: AuditEntry;
  /** Set for a successful authentication: the device whose last-seen time moves. */
  readonly seenDeviceId?: string;
}

/**
 * Authentication outcomes that change no device (an existing device connecting again, a
 * refusal) are written in batches: one transaction per JOURNAL_FLUSH_MS instead of one fsync
 * per handshake, which would otherwise cap the gateway at the disk's sync rate and let a flood
 * of bad handshakes do the same. The price, stated in the README: on a crash, up to one
 * interval of these audit events and last-seen times can be lost. Creating or associating a
 * device never goes through here; it commits with its audit event.
 */
export class AuthenticationJournal {
  private pending: PendingEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly onError: (error: Error) => void,
  ) {}

  record(event: PendingEvent): void {
    this.pending.push(event);
    if (this.pending.length >= JOURNAL_MAX_PENDING) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), JOURNAL_FLUSH_MS);
  }

  /** Writes everything recorded so far; resolves when it is committed. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return this.flushing;
    this.flushing = this.flushing.then(() => this.write(batch)).catch((error: Error) => this.onError(error));
    return this.flushing;
  }

  private async write(batch: readonly PendingEvent[]): Promise<void> {
    const lastSeen = new Map<string, string>();
    for (const event of batch) {
      if (event.seenDeviceId === undefined) continue;
      const at = event.at.toISOString();
      if ((lastSeen.get(event.seenDeviceId) ?? '') < at) lastSeen.set(event.seenDeviceId, at);
    }
    await this.db.transaction().execute(async (trx) => {
      for (const [deviceId, at] of lastSeen) await trx.updateTable('devices').set({ last_seen_at: at }).where('id', '=', deviceId).execute();
      // Bounded chunks: SQLite allows at most 32,766 bound parameters per statement.
      for (let i = 0; i < batch.length; i += 200) {
        await trx
          .insertInto('audit_events')
          .values(batch.slice(i, i + 200).map(({ at, entry }) => auditRow(at, entry)))
          .execute();
      }
    });
  }
}
