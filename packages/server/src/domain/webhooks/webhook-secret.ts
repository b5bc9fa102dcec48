import { createHmac, randomBytes } from 'node:crypto';
import { ServiceError } from '../../service-error.js';

/**
 * Standard Webhooks' signing secret: `whsec_` + base64 of the key bytes. 24 to 64 bytes (the
 * specification suggests 24–64); a generated one has 32.
 */
export const SECRET_PREFIX = 'whsec_';
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;
const GENERATED_SECRET_BYTES = 32;

export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(GENERATED_SECRET_BYTES).toString('base64');
}

/** The key bytes of a `whsec_…` secret; WEBHOOK_SECRET_INVALID when it is not one. */
export function webhookSecretBytes(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : undefined;
  // Strict base64 (padding included): what decodes must re-encode to the same text.
  const bytes = encoded !== undefined && /^[A-Za-z0-9+/]+={0,2}$/.test(encoded) ? Buffer.from(encoded, 'base64') : undefined;
  if (bytes === undefined || bytes.toString('base64') !== encoded || bytes.length < MIN_SECRET_BYTES || bytes.length > MAX_SECRET_BYTES) {
    throw new ServiceError('WEBHOOK_SECRET_INVALID', `a webhook secret is "${SECRET_PREFIX}" followed by the base64 of ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} random bytes`, {
      minBytes: MIN_SECRET_BYTES,
      maxBytes: MAX_SECRET_BYTES,
    });
  }
  return bytes;
}

/**
 * Standard Webhooks' `webhook-signature` value: `v1,` + base64(HMAC-SHA256(key, "id.timestamp.body")).
 * node:crypto, never a hand-written hash.
 */
export function signWebhook(key: Buffer, messageId: string, timestampSeconds: number, body: string): string {
  return `v1,${createHmac('sha256', key).update(`${messageId}.${timestampSeconds}.${body}`).digest('base64')}`;
}
