import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { projectForPrincipal } from '../../domain/management/index.js';
import type { SecretSealer, ServiceDeps } from '../../domain/shared/index.js';
import {
  createWebhook,
  DELIVERY_ERROR_CODES,
  deleteWebhook,
  findWebhook,
  listDeliveries,
  listWebhooks,
  MAX_WEBHOOK_URL_LENGTH,
  sendTestEvent,
  TEST_EVENT_TYPE,
  WEBHOOK_EVENT_TYPES,
  webhookView,
} from '../../domain/webhooks/index.js';
import type { AppEnv } from '../app-env.js';
import { jsonBody, jsonResponse } from '../route-helpers.js';
import { PageQuery, pageOf, pathParam, problemResponses, ProjectIdParam, SECURITY } from '../schemas.js';

/** What the webhook routes need beyond the store: the sealer for secrets and the SSRF policy. */
export interface WebhookRouteOptions {
  readonly sealer: SecretSealer;
  readonly allowPrivate: boolean;
}

const EventName = z.string().max(100).openapi({ description: `an event type: ${WEBHOOK_EVENT_TYPES.join(', ')}`, example: 'device.created' });

const WebhookCreate = z
  .object({
    // Bounded loosely here: the URL's own rules (WEBHOOK_URL_INVALID) say more than a schema failure would.
    url: z.string().max(MAX_WEBHOOK_URL_LENGTH * 4).openapi({ description: `an http(s) URL of at most ${MAX_WEBHOOK_URL_LENGTH} characters`, example: 'https://backend.example.com/fleetpki' }),
    events: z.array(EventName).min(1).max(WEBHOOK_EVENT_TYPES.length * 2).openapi({ description: 'the event types to receive' }),
    secret: z.string().max(200).optional().openapi({ description: 'whsec_ + base64 of 24–64 bytes; generated when absent' }),
  })
  .strict()
  .openapi('WebhookCreate');

const WebhookSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).readonly(),
    createdAt: z.string(),
  })
  .openapi('Webhook');

const CreatedWebhookSchema = WebhookSchema.extend({
  secret: z.string().openapi({ description: 'the signing secret (Standard Webhooks, whsec_…): shown only now', example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }),
}).openapi('CreatedWebhook');

const AttemptSchema = z
  .object({
    attemptedAt: z.string(),
    durationMs: z.number().int(),
    statusCode: z.number().int().nullable().openapi({ description: 'the HTTP status the endpoint answered; null when there was no answer' }),
    errorCode: z.enum(DELIVERY_ERROR_CODES).nullable().openapi({ description: 'why there was no answer (a refused target, a timeout, a failed connection)' }),
    response: z.string().nullable().openapi({ description: 'the first 1,024 characters of the answer' }),
  })
  .openapi('WebhookAttempt');

const DeliverySchema = z
  .object({
    id: z.string(),
    messageId: z.string().openapi({ description: 'the webhook-id header, the same on every attempt' }),
    type: z.string().openapi({ example: 'device.created' }),
    status: z.enum(['pending', 'delivered', 'failed']),
    attemptCount: z.number().int(),
    createdAt: z.string(),
    nextAttemptAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    payload: z.record(z.string(), z.unknown()).openapi({ description: 'the body sent: {type, timestamp, data}' }),
    attempts: z.array(AttemptSchema).readonly(),
  })
  .openapi('WebhookDelivery');

const WebhookPage = pageOf(WebhookSchema, 'WebhookPage');
const DeliveryPage = pageOf(DeliverySchema, 'WebhookDeliveryPage');
const WebhookParams = ProjectIdParam.extend({ webhookId: pathParam('webhookId') });
const TestSent = z
  .object({ messageId: z.string(), type: z.literal(TEST_EVENT_TYPE) })
  .openapi('WebhookTestSent', { description: 'the test event is on its way (see …/deliveries)' });

/** Webhooks (issue 20): a project's endpoints, their deliveries, and a test send. Admin key or the project's key. */
export function webhookRoutes(deps: ServiceDeps, options: WebhookRouteOptions, app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/projects/{projectId}/webhooks',
      tags: ['webhooks'],
      summary: 'Add a webhook endpoint (the answer carries its signing secret, shown only now)',
      security: SECURITY,
      request: { params: ProjectIdParam, body: jsonBody(WebhookCreate) },
      responses: { 201: jsonResponse(CreatedWebhookSchema, 'the endpoint and its secret'), ...problemResponses(400, 401, 403, 404, 409, 422) },
    }),
    async (c) => {
      const project = await projectForPrincipal(deps, c.var.principal, c.req.valid('param').projectId);
      return c.json(await createWebhook(deps, options.sealer, options.allowPrivate, c.var.principal, project, c.req.valid('json')), 201);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects/{projectId}/webhooks',
      tags: ['webhooks'],
      summary: "List a project's webhook endpoints (never their secrets)",
      security: SECURITY,
      request: { params: ProjectIdParam, query: PageQuery },
      responses: { 200: jsonResponse(WebhookPage, 'a page of endpoints'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const project = await projectForPrincipal(deps, c.var.principal, c.req.valid('param').projectId);
      return c.json(await listWebhooks(deps, project, c.req.valid('query')), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects/{projectId}/webhooks/{webhookId}',
      tags: ['webhooks'],
      summary: 'A webhook endpoint',
      security: SECURITY,
      request: { params: WebhookParams },
      responses: { 200: jsonResponse(WebhookSchema, 'the endpoint'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const { projectId, webhookId } = c.req.valid('param');
      const project = await projectForPrincipal(deps, c.var.principal, projectId);
      return c.json(webhookView(await findWebhook(deps, project, webhookId)), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/projects/{projectId}/webhooks/{webhookId}',
      tags: ['webhooks'],
      summary: 'Remove a webhook endpoint and its deliveries',
      security: SECURITY,
      request: { params: WebhookParams },
      responses: { 204: { description: 'deleted' }, ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const { projectId, webhookId } = c.req.valid('param');
      const project = await projectForPrincipal(deps, c.var.principal, projectId);
      await deleteWebhook(deps, c.var.principal, project, webhookId);
      return c.body(null, 204);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects/{projectId}/webhooks/{webhookId}/deliveries',
      tags: ['webhooks'],
      summary: "An endpoint's deliveries, newest first, with every attempt and its answer",
      security: SECURITY,
      request: { params: WebhookParams, query: PageQuery },
      responses: { 200: jsonResponse(DeliveryPage, 'a page of deliveries'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const { projectId, webhookId } = c.req.valid('param');
      const project = await projectForPrincipal(deps, c.var.principal, projectId);
      return c.json(await listDeliveries(deps, project, webhookId, c.req.valid('query')), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/projects/{projectId}/webhooks/{webhookId}/test',
      tags: ['webhooks'],
      summary: `Send a ${TEST_EVENT_TYPE} event to this endpoint`,
      security: SECURITY,
      request: { params: WebhookParams },
      responses: { 202: jsonResponse(TestSent, 'queued for delivery'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const { projectId, webhookId } = c.req.valid('param');
      const project = await projectForPrincipal(deps, c.var.principal, projectId);
      return c.json(await sendTestEvent(deps, c.var.principal, project, webhookId), 202);
    },
  );
}

