import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from '../../logger.js';
import type { Database } from '../../store/schema.js';
import { takeSchedulerLease } from '../shared/scheduler-lease.js';
import type { SecretSealer } from '../shared/secret-sealer.js';
import { dispatchOutbox, DISPATCH_BATCH } from './webhook-dispatcher.js';
import { WebhookSender, type AttemptOutcome } from './webhook-sender.js';
import { webhookSealContext } from './webhooks.js';
import { webhookSecretBytes } from './webhook-secret.js';

/** Timings of the delivery loop; tests shorten them (ServeOptions.webhooks). */
export interface WebhookDeliveryOptions {
  /** How often the loop looks for work when nothing woke it. */
  readonly pollMs?: number | undefined;
  /** The `webhook-delivery` lease: how long a server that stopped holds the work before another takes it. */
  readonly leaseMs?: number | undefined;
  /** The first retry's delay; each next one doubles, up to backoffCapMs, with ±20 % jitter. */
  readonly backoffBaseMs?: number | undefined;
  readonly backoffCapMs?: number | undefined;
  /** How long after its first attempt a delivery is retried before it is marked failed. */
  readonly retryWindowMs?: number | undefined;
  /** Deliveries in flight at once (across ordering keys). */
  readonly concurrency?: number | undefined;
}

export const WEBHOOK_POLL_MS = 200;
export const WEBHOOK_LEASE_MS = 10_000;
export const WEBHOOK_BACKOFF_BASE_MS = 1_000;
export const WEBHOOK_BACKOFF_CAP_MS = 3_600_000;
export const WEBHOOK_RETRY_WINDOW_MS = 24 * 3_600_000;
export const WEBHOOK_CONCURRENCY = 128;
const LEASE_NAME = 'webhook-delivery';
/** While deliveries are in flight, results are gathered this long before a pass writes them: one transaction for many. */
const COALESCE_MS = 5;

interface DueDelivery {
  readonly id: number;
  readonly webhookId: string;
  readonly orderingKey: string;
  readonly messageId: string;
  readonly payload: string;
  readonly attempts: number;
  readonly firstAttemptAt: string | null;
  readonly url: string;
  readonly secretSealed: string;
  readonly projectId: string;
}

interface Finished {
  readonly delivery: DueDelivery;
  readonly outcome: AttemptOutcome;
}

/**
 * Delivers webhooks (issue 20): at least once, in order per (endpoint, ordering key) — only the
 * oldest pending delivery of a key is ever sent, and the next waits until it is delivered or has
 * failed for good — concurrently across keys, retried with exponential backoff for 24 h after the
 * first attempt. One server at a time holds the `webhook-delivery` lease (servers sharing
 * PostgreSQL would otherwise race a device's events out of order); after a crash the next holder
 * finds the pending rows and sends them again (at least once: the receiver deduplicates by
 * webhook-id). Results are written in batches, many deliveries per transaction.
 */
export class WebhookDeliveryLoop {
  private readonly holder = randomUUID();
  private readonly sender: WebhookSender;
  private readonly inFlight = new Set<number>();
  /** Keys with a delivery in flight or finished but not yet written: their next waits. */
  private readonly busyKeys = new Set<string>();
  private finished: Finished[] = [];
  private readonly keys = new Map<string, Buffer>();
  private leasedUntil = 0;
  private stopped = true;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private running: Promise<void> | undefined;
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly concurrency: number;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly sealer: SecretSealer,
    private readonly logger: Logger,
    private readonly now: () => Date,
    allowPrivate: boolean,
    private readonly options: WebhookDeliveryOptions = {},
  ) {
    this.pollMs = options.pollMs ?? WEBHOOK_POLL_MS;
    this.leaseMs = options.leaseMs ?? WEBHOOK_LEASE_MS;
    this.concurrency = options.concurrency ?? WEBHOOK_CONCURRENCY;
    this.sender = new WebhookSender(allowPrivate, this.concurrency, now);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.running = this.run();
  }

  /** Something may be in the outbox (this process wrote a transaction): look now rather than at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Stops taking work, waits for what is in flight, writes its results and lets the lease go. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wake();
    await this.running;
    while (this.inFlight.size > 0) await this.sleep(20);
    await this.flush();
    if (this.leasedUntil > 0) {
      await this.db.updateTable('scheduler_leases').set({ holder: null, leased_until: this.now().toISOString() }).where('name', '=', LEASE_NAME).where('holder', '=', this.holder).execute().catch(() => {});
    }
    this.sender.close();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (await this.holdLease()) {
          // Results are written while the next deliveries are found and started (another connection
          // on PostgreSQL). Their keys stay busy until both are done: a scan that ran before the
          // write committed still sees them pending, and must not send them again.
          const written = this.flush();
          try {
            while ((await dispatchOutbox(this.db, this.now())).taken === DISPATCH_BATCH && !this.stopped);
            await this.startDue();
          } finally {
            for (const key of await written) this.busyKeys.delete(key);
          }
        }
      } catch (error) {
        this.logger.log('error', 'webhook delivery failed a step; retrying', { error: error instanceof Error ? error.message : String(error) });
      }
      if (!this.woken && this.finished.length === 0) await this.sleep(this.pollMs);
      else if (this.inFlight.size > 0 && !this.stopped) await new Promise((resolve) => setTimeout(resolve, COALESCE_MS));
      this.woken = false;
    }
  }

  /** Waits `ms` or until woken (a delivery finished, an event was recorded). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = undefined;
        done();
      };
    });
  }

  /** Takes or renews the lease when less than half of it is left: one write per half lease, not per pass. */
  private async holdLease(): Promise<boolean> {
    const now = this.now();
    if (this.leasedUntil - now.getTime() > this.leaseMs / 2) return true;
    if (await takeSchedulerLease(this.db, LEASE_NAME, this.holder, this.leaseMs, now)) {
      this.leasedUntil = now.getTime() + this.leaseMs;
      return true;
    }
    this.leasedUntil = 0;
    return false;
  }

  /** Starts the due heads of keys that are not busy, up to the concurrency bound. */
  private async startDue(): Promise<void> {
    const room = this.concurrency - this.inFlight.size;
    if (room <= 0) return;
    // Enough rows to see past those in flight or waiting to be written, and then some: ids and keys only.
    const due = await this.db
      .selectFrom('webhook_deliveries')
      .select(['id', 'webhook_id', 'ordering_key'])
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', this.now().toISOString())
      .orderBy('next_attempt_at')
      .orderBy('id')
      .limit(this.inFlight.size + this.finished.length + room * 4)
      .execute();
    const candidates = new Map<string, (typeof due)[number]>();
    for (const row of due) {
      const key = `${row.webhook_id}\u0000${row.ordering_key}`;
      if (this.busyKeys.has(key) || this.inFlight.has(Number(row.id))) continue;
      const seen = candidates.get(key);
      if (seen === undefined || Number(seen.id) > Number(row.id)) candidates.set(key, row);
    }
    if (candidates.size === 0) return;
    // Only a key's oldest pending delivery goes: one that is not due yet (in backoff) holds the rest back.
    const heads = new Set<number>();
    const rows = [...candidates.values()];
    for (let i = 0; i < rows.length; i += 400) {
      const chunk = rows.slice(i, i + 400);
      const found = await this.db
        .selectFrom('webhook_deliveries')
        .select(['webhook_id', 'ordering_key', (eb) => eb.fn.min('id').as('head')])
        .where('status', '=', 'pending')
        .where('webhook_id', 'in', [...new Set(chunk.map((r) => r.webhook_id))])
        .where('ordering_key', 'in', [...new Set(chunk.map((r) => r.ordering_key))])
        .groupBy(['webhook_id', 'ordering_key'])
        .execute();
      for (const f of found) heads.add(Number(f.head));
    }
    const chosen = rows
      .filter((row) => heads.has(Number(row.id)))
      .sort((a, b) => Number(a.id) - Number(b.id))
      .slice(0, room)
      .map((row) => Number(row.id));
    if (chosen.length === 0) return;
    const full = await this.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
      .select(['d.id', 'd.webhook_id', 'd.ordering_key', 'd.message_id', 'd.payload', 'd.attempts', 'd.first_attempt_at', 'w.url', 'w.secret_sealed', 'w.project_id'])
      .where('d.id', 'in', chosen)
      .where('d.status', '=', 'pending')
      .orderBy('d.id')
      .execute();
    for (const row of full) {
      this.launch({
        id: Number(row.id),
        webhookId: row.webhook_id,
        orderingKey: row.ordering_key,
        messageId: row.message_id,
        payload: row.payload,
        attempts: row.attempts,
        firstAttemptAt: row.first_attempt_at,
        url: row.url,
        secretSealed: row.secret_sealed,
        projectId: row.project_id,
      });
    }
  }

  private launch(delivery: DueDelivery): void {
    const key = `${delivery.webhookId}\u0000${delivery.orderingKey}`;
    this.inFlight.add(delivery.id);
    this.busyKeys.add(key);
    const secret = this.secretOf(delivery);
    const attempt: Promise<AttemptOutcome> =
      secret === undefined
        ? Promise.resolve({ attemptedAt: this.now(), durationMs: 0, statusCode: null, errorCode: 'WEBHOOK_SECRET_UNUSABLE', response: null, delivered: false })
        : this.sender.send({ url: delivery.url, key: secret, messageId: delivery.messageId, payload: delivery.payload });
    void attempt
      .catch((error: unknown): AttemptOutcome => {
        this.logger.log('error', 'webhook attempt failed unexpectedly', { error: error instanceof Error ? error.message : String(error) });
        return { attemptedAt: this.now(), durationMs: 0, statusCode: null, errorCode: 'WEBHOOK_CONNECT_FAILED', response: null, delivered: false };
      })
      .then((outcome) => {
        this.inFlight.delete(delivery.id);
        this.finished.push({ delivery, outcome });
        this.wake();
      });
  }

  /** The endpoint's key bytes, opened once per endpoint (undefined: the master key does not open it). */
  private secretOf(delivery: DueDelivery): Buffer | undefined {
    const cached = this.keys.get(delivery.webhookId);
    if (cached) return cached;
    const opened = this.sealer.openText(delivery.secretSealed, webhookSealContext({ id: delivery.webhookId, project_id: delivery.projectId }));
    if (!opened.ok) {
      this.logger.log('error', 'a webhook secret does not open (another master key?)', { webhookId: delivery.webhookId, failure: opened.failure });
      return undefined;
    }
    const key = webhookSecretBytes(opened.value.toString('utf8'));
    if (this.keys.size > 10_000) this.keys.clear();
    this.keys.set(delivery.webhookId, key);
    return key;
  }

  /** The next attempt's delay after `attempts` failed ones: base·2^(n-1), capped, ±20 % jitter. */
  private backoffMs(attempts: number): number {
    const base = this.options.backoffBaseMs ?? WEBHOOK_BACKOFF_BASE_MS;
    const cap = this.options.backoffCapMs ?? WEBHOOK_BACKOFF_CAP_MS;
    const delay = Math.min(cap, base * 2 ** Math.min(attempts - 1, 40));
    return Math.round(delay * (0.8 + Math.random() * 0.4));
  }

  /**
   * Writes finished attempts in one transaction: the attempts, each delivery's new state, and for
   * a failed head the same wait for the rest of its key (so the scan does not keep finding
   * deliveries that must wait behind it). Answers the keys written, which the caller frees.
   * Never throws: what is not written stays pending and goes again.
   */
  private async flush(): Promise<string[]> {
    if (this.finished.length === 0) return [];
    const batch = this.finished;
    this.finished = [];
    const window = this.options.retryWindowMs ?? WEBHOOK_RETRY_WINDOW_MS;
    try {
      await this.db.transaction().execute(async (trx) => {
        const attempts = batch.map(({ delivery, outcome }) => ({
          delivery_id: delivery.id,
          attempted_at: outcome.attemptedAt.toISOString(),
          duration_ms: outcome.durationMs,
          status_code: outcome.statusCode,
          error_code: outcome.errorCode,
          response: outcome.response,
        }));
        for (let i = 0; i < attempts.length; i += 200) await trx.insertInto('webhook_attempts').values(attempts.slice(i, i + 200)).execute();
        const delivered = batch.filter((f) => f.outcome.delivered);
        for (let i = 0; i < delivered.length; i += 500) {
          const chunk = delivered.slice(i, i + 500);
          const at = chunk.at(-1)!.outcome.attemptedAt.toISOString();
          await trx
            .updateTable('webhook_deliveries')
            .set((eb) => ({
              status: 'delivered',
              attempts: eb('attempts', '+', 1),
              first_attempt_at: eb.fn.coalesce('first_attempt_at', eb.val(at)),
              last_attempt_at: at,
              finished_at: at,
            }))
            .where('id', 'in', chunk.map((f) => f.delivery.id))
            .execute();
        }
        for (const { delivery, outcome } of batch.filter((f) => !f.outcome.delivered)) {
          const at = outcome.attemptedAt;
          const first = delivery.firstAttemptAt ?? at.toISOString();
          const attemptsMade = delivery.attempts + 1;
          const next = new Date(at.getTime() + this.backoffMs(attemptsMade));
          const givesUp = next.getTime() - Date.parse(first) > window;
          await trx
            .updateTable('webhook_deliveries')
            .set({
              status: givesUp ? 'failed' : 'pending',
              attempts: attemptsMade,
              first_attempt_at: first,
              last_attempt_at: at.toISOString(),
              next_attempt_at: givesUp ? at.toISOString() : next.toISOString(),
              finished_at: givesUp ? at.toISOString() : null,
            })
            .where('id', '=', delivery.id)
            .execute();
          if (!givesUp) {
            await trx
              .updateTable('webhook_deliveries')
              .set({ next_attempt_at: next.toISOString() })
              .where('webhook_id', '=', delivery.webhookId)
              .where('ordering_key', '=', delivery.orderingKey)
              .where('status', '=', 'pending')
              .where('id', '>', delivery.id)
              .where('next_attempt_at', '<', next.toISOString())
              .execute();
          }
        }
      });
    } catch (error) {
      // Not written: the attempts are lost but the deliveries stay pending, so they go again (at least once).
      this.logger.log('error', 'cannot write webhook delivery results; they will be sent again', { error: error instanceof Error ? error.message : String(error), count: batch.length });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return batch.map(({ delivery }) => `${delivery.webhookId}\u0000${delivery.orderingKey}`);
  }
}
