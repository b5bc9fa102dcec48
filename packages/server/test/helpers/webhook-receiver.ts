import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** A delivery as the receiver verified it. */
export interface ReceivedEvent {
  readonly id: string;
  readonly type: string;
  readonly timestamp: string;
  readonly data: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly headers: IncomingHttpHeaders;
}

/** How the receiver answers: 200, a fixed status (e.g. 503), or not at all (its port closed). */
export type ReceiverMode = { readonly kind: 'ok' } | { readonly kind: 'status'; readonly status: number } | { readonly kind: 'down' };

/**
 * A customer's backend in the test: a node:http server on 127.0.0.1 that verifies every delivery
 * with the `standardwebhooks` library (the specification's reference implementation), records
 * those that verify, and counts those that do not. Deduplicates by webhook-id on request.
 */
export class WebhookReceiver {
  readonly events: ReceivedEvent[] = [];
  readonly unverified: string[] = [];
  /** Every delivery that came in, accepted or not (retries included). */
  requests = 0;
  private server: Server | undefined;
  private verifier: Webhook | undefined;
  private mode: ReceiverMode = { kind: 'ok' };
  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  /** The endpoint's secret, once the webhook is created (deliveries before it count as unverified). */
  useSecret(secret: string): void {
    this.verifier = new Webhook(secret);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.requests++;
        if (this.mode.kind === 'status') {
          res.writeHead(this.mode.status, { 'content-type': 'text/plain' }).end('receiver unavailable');
          return;
        }
        const body = Buffer.concat(chunks).toString('utf8');
        try {
          if (!this.verifier) throw new Error('no secret yet');
          const event = this.verifier.verify(body, req.headers as Record<string, string>) as Omit<ReceivedEvent, 'id' | 'headers'>;
          this.events.push({ ...event, id: String(req.headers['webhook-id']), headers: req.headers });
          res.writeHead(204).end();
        } catch (error) {
          this.unverified.push(`${String(req.headers['webhook-id'])}: ${(error as Error).message}`);
          res.writeHead(400, { 'content-type': 'text/plain' }).end('signature does not verify');
        }
      });
    });
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Switches how it answers; `down` closes the port (connections refused) until set back. */
  async setMode(mode: ReceiverMode): Promise<void> {
    if (mode.kind === 'down' && this.server) await this.stop();
    if (mode.kind !== 'down' && !this.server) await this.start();
    this.mode = mode;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The events received, each webhook-id once (deliveries are at least once). */
  unique(): ReceivedEvent[] {
    const seen = new Set<string>();
    return this.events.filter((e) => !seen.has(e.id) && (seen.add(e.id), true));
  }

  ofType(type: string): ReceivedEvent[] {
    return this.unique().filter((e) => e.type === type);
  }
}
