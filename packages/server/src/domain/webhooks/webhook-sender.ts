import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { isServiceError } from '../../service-error.js';
import { signWebhook } from './webhook-secret.js';
import { vetWebhookTarget } from './webhook-url-policy.js';

/** Bounds on one attempt (issue 20). */
export const CONNECT_TIMEOUT_MS = 5_000;
export const RESPONSE_TIMEOUT_MS = 10_000;
/** At most this much of an answer is read; the rest is cut (the connection with it). */
export const MAX_RESPONSE_BYTES = 64 * 1024;
/** What an attempt keeps of the answer, for …/deliveries. */
export const RESPONSE_EXCERPT_CHARS = 1024;
export const USER_AGENT = 'fleetpki-webhooks/1 (+https://www.standardwebhooks.com)';

/** Why an attempt got no HTTP answer: a closed list, shown as the attempt's errorCode. */
export const DELIVERY_ERROR_CODES = ['WEBHOOK_URL_REFUSED', 'WEBHOOK_CONNECT_FAILED', 'WEBHOOK_CONNECT_TIMEOUT', 'WEBHOOK_RESPONSE_TIMEOUT', 'WEBHOOK_SECRET_UNUSABLE'] as const;
export type DeliveryErrorCode = (typeof DELIVERY_ERROR_CODES)[number];

export interface AttemptOutcome {
  readonly attemptedAt: Date;
  readonly durationMs: number;
  readonly statusCode: number | null;
  readonly errorCode: DeliveryErrorCode | null;
  readonly response: string | null;
  /** 2xx: delivered. */
  readonly delivered: boolean;
}

export interface OutgoingDelivery {
  readonly url: string;
  readonly key: Buffer;
  readonly messageId: string;
  readonly payload: string;
}

/**
 * Sends deliveries as Standard Webhooks says (webhook-id, webhook-timestamp, webhook-signature)
 * over keep-alive connections, to the address the SSRF check vetted: the request's `lookup`
 * answers that address, so the connection cannot go where a second resolution would point.
 * Redirects are not followed (a 3xx is an unsuccessful attempt).
 */
export class WebhookSender {
  private readonly httpAgent: HttpAgent;
  private readonly httpsAgent: HttpsAgent;

  constructor(
    private readonly allowPrivate: boolean,
    maxSockets: number,
    private readonly clock: () => Date,
  ) {
    this.httpAgent = new HttpAgent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
    this.httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  async send(delivery: OutgoingDelivery): Promise<AttemptOutcome> {
    const attemptedAt = this.clock();
    const started = performance.now();
    const done = (statusCode: number | null, errorCode: DeliveryErrorCode | null, response: string | null): AttemptOutcome => ({
      attemptedAt,
      durationMs: Math.round(performance.now() - started),
      statusCode,
      errorCode,
      response,
      delivered: statusCode !== null && statusCode >= 200 && statusCode < 300,
    });
    const url = new URL(delivery.url);
    let lookup: LookupFunction;
    try {
      const vetted = await vetWebhookTarget(url, this.allowPrivate);
      lookup = (_host, options, callback) => {
        // Node asks with `all: true` when it tries several addresses (autoSelectFamily).
        if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: vetted.address, family: vetted.family }]);
        else callback(null, vetted.address, vetted.family);
      };
    } catch (error) {
      if (isServiceError(error) && error.code === 'WEBHOOK_URL_REFUSED') return done(null, 'WEBHOOK_URL_REFUSED', error.message.slice(0, RESPONSE_EXCERPT_CHARS));
      throw error;
    }
    const timestamp = Math.floor(attemptedAt.getTime() / 1000);
    const body = Buffer.from(delivery.payload, 'utf8');
    const secure = url.protocol === 'https:';
    return new Promise<AttemptOutcome>((resolve) => {
      let settled = false;
      const finish = (outcome: AttemptOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const req = (secure ? httpsRequest : httpRequest)(
        url,
        {
          method: 'POST',
          agent: secure ? this.httpsAgent : this.httpAgent,
          lookup,
          headers: {
            'content-type': 'application/json',
            'content-length': body.length,
            'user-agent': USER_AGENT,
            'webhook-id': delivery.messageId,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': signWebhook(delivery.key, delivery.messageId, timestamp, delivery.payload),
          },
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let length = 0;
          const settle = () => finish(done(res.statusCode ?? null, null, excerpt(Buffer.concat(chunks))));
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            length += chunk.length;
            if (length >= MAX_RESPONSE_BYTES) {
              // Enough read: the answer's status decides, the rest is not waited for.
              settle();
              res.destroy();
            }
          });
          res.on('end', settle);
          res.on('error', settle);
          res.on('close', settle);
        },
      );
      let connected = false;
      // Connect first within CONNECT_TIMEOUT_MS, then the whole answer within RESPONSE_TIMEOUT_MS.
      let timer = setTimeout(() => {
        finish(done(null, 'WEBHOOK_CONNECT_TIMEOUT', null));
        req.destroy();
      }, CONNECT_TIMEOUT_MS);
      const responseClock = () => {
        if (connected) return;
        connected = true;
        clearTimeout(timer);
        timer = setTimeout(() => {
          finish(done(null, 'WEBHOOK_RESPONSE_TIMEOUT', null));
          req.destroy();
        }, RESPONSE_TIMEOUT_MS);
      };
      req.on('socket', (socket) => {
        // A reused keep-alive socket is connected already.
        if (!socket.connecting) responseClock();
        else socket.once(secure ? 'secureConnect' : 'connect', responseClock);
      });
      req.on('error', () => finish(done(null, 'WEBHOOK_CONNECT_FAILED', null)));
      req.end(body);
    });
  }
}

/** The answer's first characters, as text (what a developer reads in …/deliveries). */
function excerpt(bytes: Buffer): string | null {
  if (bytes.length === 0) return null;
  return bytes.subarray(0, RESPONSE_EXCERPT_CHARS * 4).toString('utf8').slice(0, RESPONSE_EXCERPT_CHARS);
}
