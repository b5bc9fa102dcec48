import { randomInt } from 'node:crypto';
import type { DeviceAuthFailureCode } from '../domain/identity/index.js';
import type { ServiceErrorCode } from '../service-error.js';
import type { BlockBudget} from './coap-blocks.js';
import { Block1Reassembly, block2Piece, blockOption, MAX_BLOCK_SIZE, readBlockOption } from './coap-blocks.js';
import {
  CoapFormatError,
  CoapOption,
  CoapType,
  coapCode,
  dottedCoapCode,
  encodeCoapMessage,
  isCriticalOption,
  parseCoapMessage,
  readUintOption,
  uintOption,
  type CoapMessage,
  type CoapMessageOption,
} from './coap-message.js';

/**
 * The CoAP request/response layer of one DTLS session (RFC 7252 §4–§5, RFC 7959): duplicate
 * detection, piggybacked and separate responses, Block1 bodies and Block2 answers. Every table
 * here has a bound, nothing from a request is echoed back, each request is answered at most once,
 * and application data is looked at only once the session's gate (its authentication) lets it in.
 */

/** RFC 7252 §5.8: the method codes; anything else in class 0 is answered 4.05. */
const METHODS: Readonly<Record<number, string>> = { 1: 'GET', 2: 'POST', 3: 'PUT', 4: 'DELETE', 5: 'FETCH', 6: 'PATCH', 7: 'iPATCH' };
/** Critical options this layer understands (RFC 7252 §5.4.1: any other critical option is refused with 4.02). */
const UNDERSTOOD_CRITICAL = new Set<number>([CoapOption.URI_HOST, CoapOption.URI_PORT, CoapOption.URI_PATH, CoapOption.URI_QUERY, CoapOption.ACCEPT, CoapOption.BLOCK2, CoapOption.BLOCK1]);

/** RFC 7252 §4.8: ACK_TIMEOUT, and how long a response may take before it goes separately (§5.2.2). */
const ACK_TIMEOUT_MS = 2_000;
const PIGGYBACK_WAIT_MS = 1_000;
/** RFC 7252 §4.8: MAX_RETRANSMIT for a separate (confirmable) response. */
const MAX_RETRANSMIT = 4;
/** Requests of one session being worked on at once; more are dropped, and the client retransmits (RFC 7252 §4.2). */
export const MAX_REQUESTS_IN_FLIGHT = 4;
/** Message IDs remembered per session for duplicate detection (RFC 7252 §4.5), newest kept. */
export const MAX_REMEMBERED_EXCHANGES = 8;
/** Uri-Path segments a request may have; the gateway's paths have three. */
const MAX_PATH_SEGMENTS = 8;
/** The largest answer a resource may give (a certificate); it goes out in Block2 pieces. */
export const MAX_RESPONSE_BYTES = 16 * 1024;

export interface CoapRequest {
  readonly method: string;
  /** `/` and the Uri-Path segments joined with `/`. */
  readonly path: string;
  readonly contentFormat: number | undefined;
  readonly payload: Buffer;
}

export interface CoapResponse {
  /** Dotted response code, e.g. `2.05`. */
  readonly code: `${number}.${string}`;
  readonly contentFormat?: number;
  readonly payload: Buffer;
  readonly options?: readonly CoapMessageOption[];
}

/** The session's authentication: its principal, or the answer that says why it was refused. */
export type CoapGate<P> = { readonly ok: true; readonly principal: P } | { readonly ok: false; readonly refusal: CoapResponse };

export interface CoapSessionOptions<P> {
  /** Writes one datagram into the session (encrypted by DTLS). */
  send(datagram: Buffer): void;
  /** The session's verdict; awaited before a request's options or payload are looked at. */
  gate(): Promise<CoapGate<P>>;
  /** The largest body a resource takes (Block1 included); 0 for one that takes none. */
  bodyLimit(method: string, path: string): number;
  handle(request: CoapRequest, principal: P): Promise<CoapResponse>;
  /** Block1 bodies and stored Block2 answers of every session together. */
  readonly budget: BlockBudget;
  /** A request that failed unexpectedly; it was answered 5.00. */
  onError(error: unknown): void;
}

interface Exchange {
  /** What a duplicate of the request is answered with, once there is an answer. */
  reply: Buffer | undefined;
  /** The empty ACK was sent; the answer goes as a confirmable message of its own (RFC 7252 §5.2.2). */
  separate: boolean;
  timer: NodeJS.Timeout | undefined;
}

interface Outstanding {
  readonly datagram: Buffer;
  attempts: number;
  timer: NodeJS.Timeout;
}

export class CoapSession<P> {
  private readonly exchanges = new Map<number, Exchange>();
  private readonly outstanding = new Map<number, Outstanding>();
  private readonly reassembly: Block1Reassembly;
  /** The last answer too large for one message, kept for its further Block2 pieces. */
  private stored: { path: string; body: Buffer; response: CoapResponse } | undefined;
  private inFlight = 0;
  private nextMessageId = randomInt(0x10000);
  private closed = false;

  constructor(private readonly options: CoapSessionOptions<P>) {
    this.reassembly = new Block1Reassembly(options.budget);
  }

  /** Releases every timer and every byte held; later datagrams are ignored. */
  close(): void {
    this.closed = true;
    for (const exchange of this.exchanges.values()) if (exchange.timer) clearTimeout(exchange.timer);
    for (const pending of this.outstanding.values()) clearTimeout(pending.timer);
    this.exchanges.clear();
    this.outstanding.clear();
    this.reassembly.drop(null);
    this.forgetStored();
  }

  /** Bytes this session holds for block transfers (for tests and stats). */
  get bytesHeld(): number {
    return this.reassembly.bytesHeld + (this.stored?.body.length ?? 0);
  }

  receive(datagram: Buffer): void {
    if (this.closed) return;
    let message: CoapMessage;
    try {
      message = parseCoapMessage(datagram);
    } catch (error) {
      // RFC 7252 §4.2/§4.3: a malformed confirmable message is rejected with RST, anything else dropped.
      if (error instanceof CoapFormatError && error.header?.type === CoapType.CON) this.sendEmpty(CoapType.RST, error.header.messageId);
      return;
    }
    if (message.type === CoapType.ACK || message.type === CoapType.RST) {
      const pending = this.outstanding.get(message.messageId);
      if (pending) {
        clearTimeout(pending.timer);
        this.outstanding.delete(message.messageId);
      }
      return;
    }
    // RFC 7252 §4.3: an Empty confirmable message is a ping, answered with RST; a response
    // sent to a server is rejected likewise.
    if (message.code === 0 || message.code >> 5 !== 0) {
      if (message.type === CoapType.CON) this.sendEmpty(CoapType.RST, message.messageId);
      return;
    }
    const seen = this.exchanges.get(message.messageId);
    if (seen) {
      // RFC 7252 §4.5: a duplicate gets the same answer, or the empty ACK while it is worked on.
      if (seen.reply) this.options.send(seen.reply);
      else if (message.type === CoapType.CON) this.acknowledge(message, seen);
      return;
    }
    if (this.inFlight >= MAX_REQUESTS_IN_FLIGHT) return;
    const exchange: Exchange = { reply: undefined, separate: false, timer: undefined };
    this.remember(message.messageId, exchange);
    this.inFlight++;
    if (message.type === CoapType.CON) {
      exchange.timer = setTimeout(() => this.acknowledge(message, exchange), PIGGYBACK_WAIT_MS);
      exchange.timer.unref();
    }
    this.answer(message)
      .catch((error: unknown): CoapResponse => {
        this.options.onError(error);
        return { code: '5.00', payload: Buffer.alloc(0) };
      })
      .then((response) => this.deliver(message, exchange, response))
      .catch((error: unknown) => this.options.onError(error))
      .finally(() => this.inFlight--);
  }

  private remember(messageId: number, exchange: Exchange): void {
    if (this.exchanges.size >= MAX_REMEMBERED_EXCHANGES) {
      const oldest = this.exchanges.keys().next().value as number;
      const gone = this.exchanges.get(oldest);
      if (gone?.timer) clearTimeout(gone.timer);
      this.exchanges.delete(oldest);
    }
    this.exchanges.set(messageId, exchange);
  }

  private acknowledge(message: CoapMessage, exchange: Exchange): void {
    if (this.closed || exchange.reply) return;
    exchange.separate = true;
    this.sendEmpty(CoapType.ACK, message.messageId);
  }

  private async answer(message: CoapMessage): Promise<CoapResponse> {
    const gate = await this.options.gate();
    // A refused session's request is answered from its verdict: its options and payload are never read.
    if (!gate.ok) return gate.refusal;
    for (const option of message.options) {
      if (isCriticalOption(option.number) && !UNDERSTOOD_CRITICAL.has(option.number)) return problem('4.02', 'BAD_OPTION', `critical option ${option.number} is not supported`);
    }
    const method = METHODS[message.code];
    if (method === undefined) return problem('4.05', 'METHOD_NOT_ALLOWED', `method code ${dottedCoapCode(message.code)} is not supported`);
    const segments = message.options.filter((o) => o.number === CoapOption.URI_PATH);
    if (segments.length > MAX_PATH_SEGMENTS) return problem('4.04', 'ROUTE_NOT_FOUND', 'no such resource');
    const path = `/${segments.map((s) => s.value.toString('utf8')).join('/')}`;
    const block1 = readBlockOption(message, CoapOption.BLOCK1);
    const block2 = readBlockOption(message, CoapOption.BLOCK2);
    if (block1 === null || block2 === null) return problem('4.02', 'BAD_OPTION', 'a Block option is malformed');
    const blockSize = Math.min(block2?.size ?? MAX_BLOCK_SIZE, MAX_BLOCK_SIZE);
    if (block2 && block2.num > 0) return this.laterPiece(path, method, block2.num, blockSize, gate.principal, message);
    const limit = this.options.bodyLimit(method, path);
    let payload = message.payload;
    let block1Echo: CoapMessageOption | undefined;
    if (block1) {
      const outcome = this.reassembly.add(path, block1, message.payload, limit, readUintOption(message, CoapOption.SIZE1), Date.now());
      switch (outcome.kind) {
        case 'continue':
          return { code: '2.31', payload: Buffer.alloc(0), options: [blockOption(CoapOption.BLOCK1, outcome.block)] };
        case 'too-large':
          return tooLarge(outcome.maxBytes);
        case 'incomplete':
          return problem('4.08', 'REQUEST_ENTITY_INCOMPLETE', 'a block is missing or out of order; start again at block 0');
        case 'busy':
          return { ...problem('5.03', 'SERVER_BUSY', 'too many uploads at once; try again'), options: [uintOption(CoapOption.MAX_AGE, 5)] };
        case 'complete':
          payload = outcome.body;
          block1Echo = blockOption(CoapOption.BLOCK1, outcome.block);
      }
    } else if (payload.length > limit && payload.length > 0) {
      return tooLarge(limit);
    }
    const request: CoapRequest = { method, path, contentFormat: readUintOption(message, CoapOption.CONTENT_FORMAT, 2), payload };
    const response = await this.options.handle(request, gate.principal);
    const first = this.firstPiece(path, response, blockSize);
    return block1Echo ? { ...first, options: [...(first.options ?? []), block1Echo] } : first;
  }

  /** An answer larger than one block: kept, and its first piece sent with Block2 and Size2 (RFC 7959 §4). */
  private firstPiece(path: string, response: CoapResponse, blockSize: number): CoapResponse {
    if (response.payload.length <= blockSize) return response;
    if (response.payload.length > MAX_RESPONSE_BYTES) throw new RangeError(`an answer of ${response.payload.length} bytes from ${path}`);
    this.forgetStored();
    if (!this.options.budget.take(response.payload.length)) return { ...problem('5.03', 'SERVER_BUSY', 'too many transfers at once; try again'), options: [uintOption(CoapOption.MAX_AGE, 5)] };
    this.stored = { path, body: response.payload, response };
    // Block 0 of a body longer than a block always exists.
    return this.piece(response, response.payload, 0, blockSize) as CoapResponse;
  }

  private laterPiece(path: string, method: string, num: number, blockSize: number, principal: P, message: CoapMessage): Promise<CoapResponse> | CoapResponse {
    const stored = this.stored;
    if (stored && stored.path === path) {
      const answer = this.piece(stored.response, stored.body, num, blockSize);
      if (!answer) return problem('4.02', 'BAD_OPTION', 'no such block');
      return answer;
    }
    // RFC 7959 §2.4: a GET can be answered again and sliced; a POST's answer is gone.
    if (method !== 'GET') return problem('4.08', 'REQUEST_ENTITY_INCOMPLETE', 'this transfer is no longer held; start again');
    const request: CoapRequest = { method, path, contentFormat: readUintOption(message, CoapOption.CONTENT_FORMAT, 2), payload: Buffer.alloc(0) };
    return this.options.handle(request, principal).then((response) => this.piece(response, response.payload, num, blockSize) ?? problem('4.02', 'BAD_OPTION', 'no such block'));
  }

  private piece(response: CoapResponse, body: Buffer, num: number, blockSize: number): CoapResponse | undefined {
    const slice = block2Piece(body, num, blockSize);
    if (!slice) return undefined;
    const last = slice.piece.byteOffset + slice.piece.length >= body.byteOffset + body.length;
    if (last && this.stored?.body === body) this.forgetStored();
    const options = [...(response.options ?? []), slice.option];
    if (num === 0) options.push(uintOption(CoapOption.SIZE2, body.length));
    return { ...response, payload: slice.piece, options };
  }

  private forgetStored(): void {
    if (this.stored) this.options.budget.give(this.stored.body.length);
    this.stored = undefined;
  }

  private deliver(request: CoapMessage, exchange: Exchange, response: CoapResponse): void {
    if (exchange.timer) clearTimeout(exchange.timer);
    exchange.timer = undefined;
    if (this.closed || exchange.reply) return;
    const options: CoapMessageOption[] = [...(response.options ?? [])];
    if (response.contentFormat !== undefined) options.push(uintOption(CoapOption.CONTENT_FORMAT, response.contentFormat));
    const code = coapCode(response.code);
    if (request.type === CoapType.CON && !exchange.separate) {
      const datagram = encodeCoapMessage({ type: CoapType.ACK, code, messageId: request.messageId, token: request.token, options, payload: response.payload });
      exchange.reply = datagram;
      this.options.send(datagram);
      return;
    }
    const messageId = this.messageId();
    if (request.type === CoapType.NON) {
      const datagram = encodeCoapMessage({ type: CoapType.NON, code, messageId, token: request.token, options, payload: response.payload });
      exchange.reply = datagram;
      this.options.send(datagram);
      return;
    }
    // Separate response (RFC 7252 §5.2.2): confirmable, retransmitted until acknowledged.
    exchange.reply = encodeCoapMessage({ type: CoapType.ACK, code: 0, messageId: request.messageId, token: Buffer.alloc(0), options: [], payload: Buffer.alloc(0) });
    const datagram = encodeCoapMessage({ type: CoapType.CON, code, messageId, token: request.token, options, payload: response.payload });
    this.sendConfirmable(messageId, datagram);
  }

  private sendConfirmable(messageId: number, datagram: Buffer): void {
    const pending: Outstanding = { datagram, attempts: 0, timer: undefined as unknown as NodeJS.Timeout };
    const arm = (): void => {
      // RFC 7252 §4.2: the timeout doubles with each retransmission.
      pending.timer = setTimeout(() => {
        if (this.closed || pending.attempts >= MAX_RETRANSMIT) {
          this.outstanding.delete(messageId);
          return;
        }
        pending.attempts++;
        this.options.send(datagram);
        arm();
      }, ACK_TIMEOUT_MS * 2 ** pending.attempts);
      pending.timer.unref();
    };
    this.outstanding.set(messageId, pending);
    this.options.send(datagram);
    arm();
  }

  private sendEmpty(type: CoapType, messageId: number): void {
    this.options.send(encodeCoapMessage({ type, code: 0, messageId, token: Buffer.alloc(0), options: [], payload: Buffer.alloc(0) }));
  }

  private messageId(): number {
    this.nextMessageId = (this.nextMessageId + 1) & 0xffff;
    return this.nextMessageId;
  }
}

/** A problem document always fits one message, whatever its detail quotes (a subject's O, say). */
export const MAX_PROBLEM_BYTES = 512;

/**
 * A JSON problem (Content-Format 50) with a stable code. The detail is cut, on a character
 * boundary, until the document's UTF-8 fits MAX_PROBLEM_BYTES: bytes are counted, not UTF-16
 * units, and JSON escapes are counted as sent. The failure's facts go along as on HTTPS, unless
 * they alone would not fit.
 */
export function problem(code: CoapResponse['code'], failure: ServiceErrorCode | DeviceAuthFailureCode, detail: string, facts: Readonly<Record<string, unknown>> = {}): CoapResponse {
  let text = detail;
  const extra = Buffer.byteLength(JSON.stringify({ code: failure, detail: '', ...facts })) <= MAX_PROBLEM_BYTES / 2 ? facts : {};
  const encode = (): Buffer => Buffer.from(JSON.stringify({ ...extra, code: failure, detail: text }));
  let payload = encode();
  while (payload.length > MAX_PROBLEM_BYTES) {
    const characters = [...text];
    text = `${characters.slice(0, Math.floor(characters.length / 2)).join('')}…`;
    payload = encode();
  }
  return { code, contentFormat: 50, payload };
}

/** RFC 7959 §2.9.3: 4.13 with the largest body accepted in Size1. */
function tooLarge(maxBytes: number): CoapResponse {
  return { ...problem('4.13', 'BODY_TOO_LARGE', `a body here is at most ${maxBytes} bytes`), options: [uintOption(CoapOption.SIZE1, maxBytes)] };
}
