import { randomBytes, randomInt } from 'node:crypto';
import { CoapOption, CoapType, coapCode, encodeCoapMessage, parseCoapMessage, type CoapMessage, type CoapMessageOption } from '../../src/gateway/coap-message.js';
import { TestDtlsClient } from './dtls-client.js';

/**
 * CoAP over one DTLS session from this process (the addon's client role), for tests that send
 * what no CoAP client library would: raw datagrams, broken blocks, hostile options.
 */
export class TestCoapClient {
  readonly dtls: TestDtlsClient;
  private readonly inbox: Buffer[] = [];
  private wake: (() => void) | undefined;
  /** Random, as RFC 7252 §4.4 advises, so a test's requests do not meet IDs the server remembers. */
  private nextId = randomInt(0x10000);

  constructor(certPem: string, keyPem: string, port: number) {
    this.dtls = new TestDtlsClient(certPem, keyPem, port);
    this.dtls.onData = (data) => {
      this.inbox.push(data);
      this.wake?.();
    };
  }

  /** Binds and completes the handshake; resolves to the final state ('established' or not). */
  async connect(): Promise<string> {
    await this.dtls.bind();
    return this.dtls.handshake();
  }

  /** Sends raw bytes into the session (any bytes: the server must cope). */
  sendRaw(datagram: Buffer): void {
    this.dtls.write(datagram);
  }

  /** The next datagram the server sends, or undefined after `ms`. */
  async receive(ms = 3_000): Promise<Buffer | undefined> {
    const deadline = Date.now() + ms;
    while (this.inbox.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return this.inbox.shift();
  }

  /** Drops whatever came in so far. */
  drain(): void {
    this.inbox.length = 0;
  }

  /** A confirmable request, and the piggybacked (or separate) answer with the same token, parsed. */
  async request(method: 'GET' | 'POST' | `${number}.${string}`, path: string, options: { payload?: Buffer; extra?: CoapMessageOption[]; ms?: number } = {}): Promise<CoapMessage | undefined> {
    const token = randomBytes(4);
    const code = method === 'GET' ? 1 : method === 'POST' ? 2 : coapCode(method);
    const segments = path.split('/').filter((s) => s.length > 0).map((s) => ({ number: CoapOption.URI_PATH, value: Buffer.from(s) }));
    const messageId = this.messageId();
    this.sendRaw(encodeCoapMessage({ type: CoapType.CON, code, messageId, token, options: [...segments, ...(options.extra ?? [])], payload: options.payload ?? Buffer.alloc(0) }));
    const deadline = Date.now() + (options.ms ?? 5_000);
    for (;;) {
      const datagram = await this.receive(deadline - Date.now());
      if (!datagram) return undefined;
      const message = parseCoapMessage(datagram);
      if (message.type === CoapType.CON) this.sendRaw(encodeCoapMessage({ type: CoapType.ACK, code: 0, messageId: message.messageId, token: Buffer.alloc(0), options: [], payload: Buffer.alloc(0) }));
      if (message.code !== 0 && message.token.equals(token)) return message;
    }
  }

  messageId(): number {
    this.nextId = (this.nextId + 1) & 0xffff;
    return this.nextId;
  }

  close(): void {
    this.dtls.close();
  }
}

/** The JSON body of an answer. */
export function jsonOf(message: CoapMessage | undefined): Record<string, unknown> {
  if (!message || message.payload.length === 0) return {};
  return JSON.parse(message.payload.toString('utf8')) as Record<string, unknown>;
}
