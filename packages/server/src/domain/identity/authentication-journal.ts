import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { auditRow, type AuditEntry } from '../shared/audit-log.js';
import { supersedeOlderCertificates, supersedingCandidates } from './supersession.js';
import { NO_TELEMETRY, type Telemetry } from '../shared/telemetry.js';

/** How often buffered authentication events are written, and how many make a write start at once. */
export const JOURNAL_FLUSH_MS = 200;
export const JOURNAL_BATCH = 1000;
/** Bound on events held while the store is failing; beyond it they are counted, not kept. */
export const JOURNAL_MAX_PENDING = 50_000;
/** Devices whose last-seen time one UPDATE sets (two bound parameters each, and one more for the IN list). */
const LAST_SEEN_CHUNK = 500;
/** Retry delay after a failed write, doubling up to the cap. */
const RETRY_MS = 200;
const MAX_RETRY_MS = 10_000;

/** A device certificate admitted at an authentication, for the inventory (DESIGN §8). */
export interface CertificateSighting {
  readonly projectKey: string;
  readonly fingerprintSha256: string;
  readonly serialNumber: string;
  readonly issuer: string;
  readonly subject: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly caId: string;
  readonly issuerCaId: string | null;
  readonly deviceId: string;
  readonly at: Date;
}

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
  /**
   * Certificates admitted since the last write, one entry per certificate (the latest sighting):
   * a device reconnecting all day costs one inventory upsert per write, beside its last-seen.
   */
  private sightings = new Map<string, CertificateSighting>();
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private retryMs = RETRY_MS;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly onError: (error: Error) => void,
    private readonly telemetry: Telemetry = NO_TELEMETRY,
  ) {}

  /** Events waiting for the next write (the metrics' fleetpki_journal_pending_events). */
  get pendingEvents(): number {
    return this.pending.length + this.sightings.size;
  }

  record(event: JournalEvent): void {
    if (this.pending.length >= JOURNAL_MAX_PENDING) {
      this.dropped++;
      this.telemetry.auditEventsDropped(1);
      return;
    }
    this.pending.push(event);
    if (this.pending.length >= JOURNAL_BATCH && !this.writing) void this.flush();
    else this.schedule(JOURNAL_FLUSH_MS);
  }

  recordSighting(sighting: CertificateSighting): void {
    const key = `${sighting.projectKey}\u0000${sighting.fingerprintSha256}`;
    if (!this.sightings.has(key) && this.sightings.size >= JOURNAL_MAX_PENDING) return; // the bound holds; a later sighting records it
    this.sightings.set(key, sighting);
    this.schedule(JOURNAL_FLUSH_MS);
  }

  /** Writes everything recorded so far (one write at a time); resolves when that write is done. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.writing) await this.writing;
    if (this.pending.length === 0 && this.dropped === 0 && this.sightings.size === 0) return;
    const batch = this.pending;
    const dropped = this.dropped;
    const sightings = this.sightings;
    this.pending = [];
    this.dropped = 0;
    this.sightings = new Map();
    this.writing = this.write(batch, dropped, [...sightings.values()]).then(
      () => {
        this.retryMs = RETRY_MS;
      },
      (error: Error) => {
        // Keep the events (oldest first) and try again later; the bound still holds.
        for (const [key, sighting] of sightings) if (!this.sightings.has(key)) this.sightings.set(key, sighting);
        const kept = [...batch, ...this.pending];
        this.pending = kept.slice(0, JOURNAL_MAX_PENDING);
        const overflow = kept.length - this.pending.length;
        this.dropped += dropped + overflow;
        if (overflow > 0) this.telemetry.auditEventsDropped(overflow);
        this.onError(error);
        this.schedule(this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
      },
    );
    await this.writing;
    this.writing = undefined;
    if (this.pending.length > 0 || this.sightings.size > 0) this.schedule(JOURNAL_FLUSH_MS);
  }

  private schedule(ms: number): void {
    this.timer ??= setTimeout(() => void this.flush(), ms);
  }

  private async write(batch: readonly JournalEvent[], dropped: number, sightings: readonly CertificateSighting[]): Promise<void> {
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
      // One statement per LAST_SEEN_CHUNK devices, not one per device: a reconnect storm puts
      // thousands in a write, and over PostgreSQL each statement is a round trip.
      const seen = [...lastSeen];
      for (let i = 0; i < seen.length; i += LAST_SEEN_CHUNK) {
        const chunk = seen.slice(i, i + LAST_SEEN_CHUNK);
        await trx
          .updateTable('devices')
          .set((eb) => ({ last_seen_at: chunk.slice(1).reduce((c, [id, at]) => c.when(id).then(at), eb.case('id').when(chunk[0]![0]).then(chunk[0]![1])).end() }))
          .where('id', 'in', chunk.map(([id]) => id))
          .execute();
      }
      // Read before the sightings are written: which of them are first uses that retire older keys.
      const superseding = await supersedingCandidates(trx, sightings);
      // The inventory: a first sighting inserts the row, a known certificate moves its last-seen
      // (and the device it was last seen on); a revoked or superseded row keeps its status.
      for (let i = 0; i < sightings.length; i += 100) {
        const rows = sightings.slice(i, i + 100).map((s) => ({
          project_id: s.projectKey,
          fingerprint_sha256: s.fingerprintSha256,
          serial_number: s.serialNumber,
          issuer: s.issuer,
          subject: s.subject,
          not_before: s.notBefore,
          not_after: s.notAfter,
          ca_id: s.caId,
          issuer_ca_id: s.issuerCaId,
          device_id: s.deviceId,
          source: 'seen' as const,
          status: 'active' as const,
          revoked_at: null,
          revocation_reason: null,
          superseded_at: null,
          first_seen_at: s.at.toISOString(),
          last_seen_at: s.at.toISOString(),
        }));
        await trx
          .insertInto('device_certificates')
          .values(rows)
          .onConflict((oc) =>
            oc.columns(['project_id', 'fingerprint_sha256']).doUpdateSet((eb) => ({
              last_seen_at: eb.ref('excluded.last_seen_at'),
              device_id: eb.ref('excluded.device_id'),
              first_seen_at: sql<string>`coalesce(device_certificates.first_seen_at, excluded.first_seen_at)`,
            })),
          )
          .execute();
      }
      // At the batch's latest sighting: the new certificate's first use is within it.
      const firstUses = superseding.certificates;
      if (firstUses.length > 0) await supersedeOlderCertificates(trx, superseding, new Date(firstUses.reduce((latest, s) => Math.max(latest, s.at.getTime()), 0)));
      // Bounded chunks: SQLite allows at most 32,766 bound parameters per statement.
      for (let i = 0; i < rows.length; i += 200) await trx.insertInto('audit_events').values(rows.slice(i, i + 200)).execute();
    });
  }
}
