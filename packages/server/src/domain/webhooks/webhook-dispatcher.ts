import type { Insertable, Kysely } from 'kysely';
import type { Database, WebhookDeliveriesTable } from '../../store/schema.js';
import { eventOfAudit, type CatalogEvent } from './event-catalog.js';

/** Outbox rows turned into deliveries per transaction. */
export const DISPATCH_BATCH = 1000;
/** Rows per INSERT (SQLite's bound-parameter limit; a delivery binds 10). */
const INSERT_CHUNK = 200;

/**
 * Standard Webhooks' `webhook-id`: one per event and endpoint, the same on every attempt (the
 * receiver deduplicates by it), derived from the audit event so a test send can name it at once.
 */
export function messageIdOf(auditEventId: number, webhookId: string): string {
  return `msg_${auditEventId}_${webhookId}`;
}

/** The body of a delivery (Standard Webhooks' recommended shape). */
export interface WebhookPayload {
  readonly type: string;
  readonly timestamp: string;
  readonly data: Readonly<Record<string, unknown>>;
}

interface Subscriber {
  readonly id: string;
  readonly events: ReadonlySet<string>;
}

/**
 * Turns outbox rows (audit events of projects with webhooks, written by the trigger in the
 * event's own transaction) into deliveries, one per subscribed endpoint, and deletes those rows —
 * in one transaction, so an event becomes its deliveries exactly once whatever stops the server.
 * Answers how many outbox rows it took (DISPATCH_BATCH: call again).
 */
export async function dispatchOutbox(db: Kysely<Database>, now: Date): Promise<{ taken: number; deliveries: number }> {
  // A read first: an empty outbox (the usual poll) opens no write transaction.
  if ((await db.selectFrom('webhook_outbox').select('id').limit(1).executeTakeFirst()) === undefined) return { taken: 0, deliveries: 0 };
  return db.transaction().execute(async (trx) => {
    const rows = await trx
      .selectFrom('webhook_outbox as o')
      .innerJoin('audit_events as a', 'a.id', 'o.audit_event_id')
      .leftJoin('projects as p', 'p.id', 'a.project_id')
      .select(['o.id as outboxId', 'a.id as auditId', 'a.project_id as projectKey', 'p.slug as slug', 'a.actor', 'a.action', 'a.target_type', 'a.target_id', 'a.details', 'a.created_at'])
      .orderBy('o.id')
      .limit(DISPATCH_BATCH)
      .execute();
    if (rows.length === 0) return { taken: 0, deliveries: 0 };
    const projectKeys = [...new Set(rows.map((r) => r.projectKey).filter((k): k is string => k !== null))];
    const subscribers = new Map<string, Subscriber[]>();
    if (projectKeys.length > 0) {
      for (const hook of await trx.selectFrom('webhooks').select(['id', 'project_id', 'events']).where('project_id', 'in', projectKeys).orderBy('created_at').orderBy('id').execute()) {
        const list = subscribers.get(hook.project_id) ?? [];
        list.push({ id: hook.id, events: new Set(JSON.parse(hook.events) as string[]) });
        subscribers.set(hook.project_id, list);
      }
    }
    const events = rows.map((row) => ({
      row,
      event:
        row.projectKey !== null && row.slug !== null && subscribers.has(row.projectKey)
          ? eventOfAudit({ id: Number(row.auditId), action: row.action, targetType: row.target_type, targetId: row.target_id, details: JSON.parse(row.details) as Record<string, unknown>, createdAt: row.created_at, actor: row.actor })
          : undefined,
    }));
    const devices = await devicesOf(
      trx,
      events.flatMap(({ row, event }) => (event && row.projectKey ? [{ projectKey: row.projectKey, event }] : [])),
    );
    const at = now.toISOString();
    const deliveries: Insertable<WebhookDeliveriesTable>[] = [];
    for (const { row, event } of events) {
      if (!event || row.projectKey === null || row.slug === null) continue;
      const deviceId = event.deviceId ?? devices.get(`f\u0000${row.projectKey}\u0000${event.fingerprintSha256}`) ?? devices.get(`c\u0000${row.projectKey}\u0000${event.certificateId}`);
      const payload: WebhookPayload = { type: event.type, timestamp: row.created_at, data: { projectId: row.slug, ...(deviceId !== undefined && event.data['deviceId'] === undefined ? { deviceId } : {}), ...event.data } };
      const body = JSON.stringify(payload);
      for (const hook of subscribers.get(row.projectKey) ?? []) {
        if (event.onlyWebhookId !== undefined ? hook.id !== event.onlyWebhookId : !hook.events.has(event.type)) continue;
        deliveries.push({
          webhook_id: hook.id,
          project_id: row.projectKey,
          message_id: messageIdOf(Number(row.auditId), hook.id),
          event_type: event.type,
          // A device's events go out in order; anything else is ordered with the events of its target.
          ordering_key: deviceId !== undefined ? `device:${deviceId}` : `${row.target_type}:${row.target_id}`,
          payload: body,
          status: 'pending',
          attempts: 0,
          created_at: at,
          next_attempt_at: at,
          first_attempt_at: null,
          last_attempt_at: null,
          finished_at: null,
        });
      }
    }
    for (let i = 0; i < deliveries.length; i += INSERT_CHUNK) await trx.insertInto('webhook_deliveries').values(deliveries.slice(i, i + INSERT_CHUNK)).execute();
    await trx.deleteFrom('webhook_outbox').where('id', 'in', rows.map((r) => r.outboxId)).execute();
    return { taken: rows.length, deliveries: deliveries.length };
  });
}

/**
 * The device of events whose audit row names only a certificate (a revocation, an issuance, a
 * refusal): found by fingerprint in the inventory, else by certificate ID, two queries a batch,
 * so that those events keep their device's order too.
 */
async function devicesOf(db: Kysely<Database>, items: readonly { projectKey: string; event: CatalogEvent }[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const needing = items.filter(({ event }) => event.deviceId === undefined);
  const fingerprints = [...new Set(needing.flatMap(({ event }) => (event.fingerprintSha256 !== undefined ? [event.fingerprintSha256] : [])))];
  for (let i = 0; i < fingerprints.length; i += 500) {
    const rows = await db.selectFrom('device_certificates').select(['project_id', 'fingerprint_sha256', 'device_id']).where('fingerprint_sha256', 'in', fingerprints.slice(i, i + 500)).execute();
    for (const r of rows) if (r.device_id !== null) found.set(`f\u0000${r.project_id}\u0000${r.fingerprint_sha256}`, r.device_id);
  }
  const certificateIds = [...new Set(needing.flatMap(({ event }) => (event.certificateId !== undefined ? [event.certificateId] : [])))];
  for (let i = 0; i < certificateIds.length; i += 500) {
    const rows = await db.selectFrom('devices').select(['project_id', 'certificate_id', 'id']).where('certificate_id', 'in', certificateIds.slice(i, i + 500)).execute();
    for (const r of rows) if (r.certificate_id !== null) found.set(`c\u0000${r.project_id}\u0000${r.certificate_id}`, r.id);
  }
  return found;
}
