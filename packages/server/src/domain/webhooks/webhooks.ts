import { randomUUID } from 'node:crypto';
import { isForeignKeyViolation } from '../../store/constraint-violations.js';
import type { ProjectRow, WebhooksTable } from '../../store/schema.js';
import { ServiceError } from '../../service-error.js';
import { auditRow, recordAudit } from '../shared/audit-log.js';
import { fetchPage, ID_KEY, INSTANT_KEY, type Page, type PageRequest } from '../shared/pagination.js';
import { actorName, type Principal } from '../shared/principal.js';
import type { SecretSealer } from '../shared/secret-sealer.js';
import type { ServiceDeps } from '../shared/service-deps.js';
import { isWebhookEventType, TEST_EVENT_ACTION, TEST_EVENT_TYPE, WEBHOOK_EVENT_TYPES, type WebhookEventType } from './event-catalog.js';
import { generateWebhookSecret, webhookSecretBytes } from './webhook-secret.js';
import { parseWebhookUrl, vetWebhookTarget } from './webhook-url-policy.js';
import { messageIdOf } from './webhook-dispatcher.js';

/** Endpoints per project: each costs a delivery per event, so a project cannot fan its events out without bound. */
export const MAX_WEBHOOKS_PER_PROJECT = 20;

export interface Webhook {
  readonly id: string;
  readonly url: string;
  readonly events: readonly WebhookEventType[];
  readonly createdAt: string;
}

/** The answer to creation: the only time the secret is shown. */
export interface CreatedWebhook extends Webhook {
  readonly secret: string;
}

/** What binds a sealed webhook secret to its row (a master-key rotation re-seals under the same). */
export function webhookSealContext(row: Pick<WebhooksTable, 'id' | 'project_id'>): string {
  return `webhook:${row.id}:${row.project_id}`;
}

export function webhookView(row: WebhooksTable): Webhook {
  return { id: row.id, url: row.url, events: JSON.parse(row.events) as WebhookEventType[], createdAt: row.created_at };
}

/** The subscribed events, each known (WEBHOOK_EVENT_UNKNOWN names the first that is not), without repeats. */
function checkEvents(events: readonly string[]): WebhookEventType[] {
  for (const event of events) {
    if (!isWebhookEventType(event)) {
      throw new ServiceError('WEBHOOK_EVENT_UNKNOWN', `webhooks send no event ${JSON.stringify(event.slice(0, 100))}`, { event: event.slice(0, 100), known: [...WEBHOOK_EVENT_TYPES] });
    }
  }
  return [...new Set(events as WebhookEventType[])];
}

export interface WebhookInput {
  readonly url: string;
  readonly events: readonly string[];
  readonly secret?: string | undefined;
}

/**
 * Adds an endpoint (issue 20): URL and events checked, the target vetted against the SSRF policy,
 * the secret (given or generated) sealed under the master key; audited as webhook.create in the
 * same transaction, with the project's limit held under a lock on its row.
 */
export async function createWebhook(deps: ServiceDeps, sealer: SecretSealer, allowPrivate: boolean, principal: Principal, project: ProjectRow, input: WebhookInput): Promise<CreatedWebhook> {
  const url = parseWebhookUrl(input.url);
  const events = checkEvents(input.events);
  const secret = input.secret ?? generateWebhookSecret();
  webhookSecretBytes(secret);
  await vetWebhookTarget(url, allowPrivate);
  const id = randomUUID();
  const row: WebhooksTable = {
    id,
    project_id: project.id,
    url: url.toString(),
    events: JSON.stringify(events),
    secret_sealed: sealer.sealText(Buffer.from(secret, 'utf8'), webhookSealContext({ id, project_id: project.id })),
    created_at: deps.now().toISOString(),
    actor: actorName(principal),
  };
  try {
    await deps.db.transaction().execute(async (trx) => {
      // Takes the project row's lock (PostgreSQL; SQLite's writer lock already serializes), so two
      // creations racing at the limit cannot both pass the count.
      await trx.updateTable('projects').set((eb) => ({ updated_at: eb.ref('updated_at') })).where('id', '=', project.id).execute();
      const { count } = await trx.selectFrom('webhooks').select((eb) => eb.fn.countAll<string | number>().as('count')).where('project_id', '=', project.id).executeTakeFirstOrThrow();
      if (Number(count) >= MAX_WEBHOOKS_PER_PROJECT) {
        throw new ServiceError('WEBHOOK_LIMIT_REACHED', `a project has at most ${MAX_WEBHOOKS_PER_PROJECT} webhook endpoints`, { max: MAX_WEBHOOKS_PER_PROJECT });
      }
      await trx.insertInto('webhooks').values(row).execute();
      await recordAudit(trx, deps.now(), { actor: row.actor, action: 'webhook.create', targetType: 'webhook', targetId: id, projectId: project.id, details: { url: row.url, events } });
    });
  } catch (error) {
    if (isForeignKeyViolation(error)) throw new ServiceError('PROJECT_NOT_FOUND', `project ${JSON.stringify(project.slug)} was deleted`, { projectId: project.slug });
    throw error;
  }
  return { ...webhookView(row), secret };
}

export async function listWebhooks(deps: ServiceDeps, project: ProjectRow, request: PageRequest): Promise<Page<Webhook>> {
  const query = deps.db.selectFrom('webhooks').where('project_id', '=', project.id);
  return fetchPage(deps.db, query, (q) => q.selectAll(), webhookView, request, {
    columns: ['created_at', 'id'],
    direction: 'asc',
    key: (row) => [row.created_at, row.id],
    patterns: [INSTANT_KEY, ID_KEY],
  });
}

export async function findWebhook(deps: ServiceDeps, project: ProjectRow, webhookId: string): Promise<WebhooksTable> {
  const row = await deps.db.selectFrom('webhooks').selectAll().where('project_id', '=', project.id).where('id', '=', webhookId).executeTakeFirst();
  if (!row) throw new ServiceError('WEBHOOK_NOT_FOUND', `no webhook ${JSON.stringify(webhookId.slice(0, 100))} in project ${JSON.stringify(project.slug)}`, { webhookId: webhookId.slice(0, 100) });
  return row;
}

/** Removes an endpoint and (by cascade) its deliveries and their attempts; audited as webhook.delete. */
export async function deleteWebhook(deps: ServiceDeps, principal: Principal, project: ProjectRow, webhookId: string): Promise<void> {
  const row = await findWebhook(deps, project, webhookId);
  await deps.db.transaction().execute(async (trx) => {
    const deleted = await trx.deleteFrom('webhooks').where('id', '=', row.id).executeTakeFirst();
    if (Number(deleted.numDeletedRows) !== 1) throw new ServiceError('WEBHOOK_NOT_FOUND', `no webhook ${JSON.stringify(webhookId)} in project ${JSON.stringify(project.slug)}`, { webhookId });
    await recordAudit(trx, deps.now(), { actor: actorName(principal), action: 'webhook.delete', targetType: 'webhook', targetId: row.id, projectId: project.id, details: { url: row.url } });
  });
}

/**
 * Sends `webhook.test` to one endpoint: recorded as an audit event like every other event, so it
 * takes the same durable path (outbox, delivery, retries) and shows among the deliveries.
 */
export async function sendTestEvent(deps: ServiceDeps, principal: Principal, project: ProjectRow, webhookId: string): Promise<{ messageId: string; type: typeof TEST_EVENT_TYPE }> {
  const row = await findWebhook(deps, project, webhookId);
  const inserted = await deps.db
    .insertInto('audit_events')
    .values(auditRow(deps.now(), { actor: actorName(principal), action: TEST_EVENT_ACTION, targetType: 'webhook', targetId: row.id, projectId: project.id }))
    .returning('id')
    .executeTakeFirstOrThrow();
  return { messageId: messageIdOf(Number(inserted.id), row.id), type: TEST_EVENT_TYPE };
}
