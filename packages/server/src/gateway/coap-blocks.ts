import { CoapOption, type CoapMessage, type CoapMessageOption, uintOption } from './coap-message.js';

/**
 * Block-wise transfers (RFC 7959), bounded before a byte is kept: a request body arrives in
 * Block1 pieces only up to the resource's limit, in order, from one session at a time, and every
 * byte held counts against a budget shared by all sessions.
 */

/** RFC 7959 §2.2: NUM is at most 20 bits, SZX 0–6 gives 16–1024 bytes (7 is reserved). */
export const MAX_BLOCK_NUMBER = 2 ** 20 - 1;
/** The largest block this gateway sends or accepts (SZX 6), which also fits MAX_COAP_MESSAGE_BYTES with headers. */
export const MAX_BLOCK_SIZE = 1_024;
/** A transfer whose next block does not come within this is dropped (RFC 7252 §4.8.2's EXCHANGE_LIFETIME is far longer; a device sends its blocks back to back). */
export const BLOCK_TRANSFER_IDLE_MS = 30_000;

export interface BlockOption {
  readonly num: number;
  readonly more: boolean;
  readonly size: number;
}

/** Decodes a Block1/Block2 option; undefined when absent, null when malformed (reserved SZX 7, more than 3 bytes). */
export function readBlockOption(message: CoapMessage, number: number): BlockOption | null | undefined {
  const option = message.options.find((o) => o.number === number);
  if (!option) return undefined;
  if (option.value.length > 3) return null;
  let value = 0;
  for (const byte of option.value) value = value * 256 + byte;
  const szx = value & 0x7;
  if (szx === 7) return null;
  return { num: value >> 4, more: (value & 0x8) !== 0, size: 1 << (szx + 4) };
}

export function blockOption(number: number, block: BlockOption): CoapMessageOption {
  const szx = Math.log2(block.size) - 4;
  return uintOption(number, (block.num << 4) | (block.more ? 0x8 : 0) | szx);
}

/** Bytes held by every block transfer of the server together, with one ceiling. */
export class BlockBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  /** Takes `bytes` from the budget; false (and nothing taken) when that would pass the ceiling. */
  take(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }

  get inUse(): number {
    return this.used;
  }
}

/** What a Block1 piece leads to: wait for more, the whole body, or a refusal (RFC 7959 §2.9). */
export type Block1Outcome =
  | { readonly kind: 'continue'; readonly block: BlockOption }
  | { readonly kind: 'complete'; readonly body: Buffer; readonly block: BlockOption }
  | { readonly kind: 'too-large'; readonly maxBytes: number }
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'busy' };

/**
 * One session's Block1 reassembly: at most one body in flight (a device uploads one CSR at a
 * time), keyed by the session that owns it and the resource path — never by token, which a
 * client may change between blocks and which several clients may share.
 */
export class Block1Reassembly {
  private path = '';
  private pieces: Buffer[] = [];
  private received = 0;
  private size = 0;
  private lastPieceAt = 0;

  constructor(private readonly budget: BlockBudget) {}

  /**
   * Adds one piece. `maxBytes` is the resource's body limit; `declaredSize` the client's Size1
   * (RFC 7959 §4), checked before anything is kept. Block numbers must follow on from what was
   * received, so a NUM of 2^20−1 allocates nothing: it is out of order or past the limit.
   */
  add(path: string, block: BlockOption, piece: Buffer, maxBytes: number, declaredSize: number | undefined, now: number): Block1Outcome {
    if (declaredSize !== undefined && declaredSize > maxBytes) return this.drop({ kind: 'too-large', maxBytes });
    if (block.num * block.size + piece.length > maxBytes) return this.drop({ kind: 'too-large', maxBytes });
    // RFC 7959 §2.3: every piece but the last carries exactly one block.
    if ((block.more && piece.length !== block.size) || piece.length > block.size) return this.drop({ kind: 'incomplete' });
    if (block.num === 0) this.drop(null);
    else if (this.path !== path || block.size !== this.size || block.num * block.size !== this.received || now - this.lastPieceAt > BLOCK_TRANSFER_IDLE_MS) {
      return this.drop({ kind: 'incomplete' });
    }
    if (!this.budget.take(piece.length)) return this.drop({ kind: 'busy' });
    this.path = path;
    this.size = block.size;
    this.pieces.push(piece);
    this.received += piece.length;
    this.lastPieceAt = now;
    if (block.more) return { kind: 'continue', block };
    const body = Buffer.concat(this.pieces);
    this.drop(null);
    return { kind: 'complete', body, block };
  }

  /** Releases everything held (the session ended, or the transfer failed). */
  drop<T extends Block1Outcome | null>(outcome: T): T {
    this.budget.give(this.received);
    this.pieces = [];
    this.received = 0;
    this.path = '';
    return outcome;
  }

  get bytesHeld(): number {
    return this.received;
  }
}

/** The Block2 piece `num` of `body` in blocks of `size`, with its option (RFC 7959 §2.4). */
export function block2Piece(body: Buffer, num: number, size: number): { piece: Buffer; option: CoapMessageOption } | undefined {
  const start = num * size;
  if (start >= body.length && !(num === 0 && body.length === 0)) return undefined;
  const piece = body.subarray(start, start + size);
  return { piece, option: blockOption(CoapOption.BLOCK2, { num, more: start + size < body.length, size }) };
}
