import type { ProjectRow } from '../../store/schema.js';
import { fetchPage, type Page, type PageRequest } from '../shared/pagination.js';
import type { ServiceDeps } from '../shared/service-deps.js';
import type { DeliveryErrorCode } from './webhook-sender.js';
import { findWebhook } from './webhooks.js';

/** Attempts shown per delivery (the latest): a delivery retried for a day has a few dozen. */
const MAX_ATTEMPTS_SHOWN = 50;

export interface WebhookAttempt {
  readonly attemptedAt: string;
  readonly durationMs: number;
  readonly statusCode: number | null;
  readonly errorCode: DeliveryErrorCode | null;
  /** The answer's first 1,024 characters. */
  readonly response: string | null;
}

export interface WebhookDelivery {
  readonly id: string;
  /** The `webhook-id` header: the same on every attempt. */
  readonly messageId: string;
  readonly type: string;
  readonly status: 'pending' | 'delivered' | 'failed';
  readonly attemptCount: number;
  readonly createdAt: string;
  readonly nextAttemptAt: string | null;
  readonly finishedAt: string | null;
  /** The event as sent. */
  readonly payload: Readonly<Record<string, unknown>>;
  /** Oldest first, the latest MAX_ATTEMPTS_SHOWN. */
  readonly attempts: readonly WebhookAttempt[];
}

/** An endpoint's deliveries, newest first, each with its attempts and the answers (two queries a page). */
export async function listDeliveries(deps: ServiceDeps, project: ProjectRow, webhookId: string, request: PageRequest): Promise<Page<WebhookDelivery>> {
  const webhook = await findWebhook(deps, project, webhookId);
  const page = await fetchPage(
    deps.db,
    deps.db.selectFrom('webhook_deliveries').where('webhook_id', '=', webhook.id),
    (q) => q.selectAll(),
    (row) => row,
    request,
    { columns: ['id'], direction: 'desc', key: (row) => [String(row.id)], patterns: [/^\d{1,18}$/], values: (key) => key.map(Number) },
  );
  const ids = page.list.map((row) => Number(row.id));
  const attempts = new Map<number, WebhookAttempt[]>();
  if (ids.length > 0) {
    const rows = await deps.db.selectFrom('webhook_attempts').selectAll().where('delivery_id', 'in', ids).orderBy('delivery_id').orderBy('id').execute();
    for (const a of rows) {
      const list = attempts.get(Number(a.delivery_id)) ?? [];
      list.push({ attemptedAt: a.attempted_at, durationMs: a.duration_ms, statusCode: a.status_code, errorCode: a.error_code as DeliveryErrorCode | null, response: a.response });
      attempts.set(Number(a.delivery_id), list);
    }
  }
  return {
    ...page,
    list: page.list.map((row) => ({
      id: String(row.id),
      messageId: row.message_id,
      type: row.event_type,
      status: row.status,
      attemptCount: row.attempts,
      createdAt: row.created_at,
      nextAttemptAt: row.status === 'pending' ? row.next_attempt_at : null,
      finishedAt: row.finished_at,
      payload: JSON.parse(row.payload) as Record<string, unknown>,
      attempts: (attempts.get(Number(row.id)) ?? []).slice(-MAX_ATTEMPTS_SHOWN),
    })),
  };
}
