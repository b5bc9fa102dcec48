export { isWebhookEventType, TEST_EVENT_TYPE, WEBHOOK_EVENT_TYPES, type WebhookEventType } from './event-catalog.js';
export { listDeliveries, type WebhookAttempt, type WebhookDelivery } from './webhook-deliveries.js';
export { WebhookDeliveryLoop, type WebhookDeliveryOptions } from './webhook-delivery-loop.js';
export { DELIVERY_ERROR_CODES, type DeliveryErrorCode } from './webhook-sender.js';
export { MAX_WEBHOOK_URL_LENGTH } from './webhook-url-policy.js';
export { createWebhook, deleteWebhook, findWebhook, listWebhooks, MAX_WEBHOOKS_PER_PROJECT, sendTestEvent, webhookSealContext, webhookView, type CreatedWebhook, type Webhook } from './webhooks.js';
