/**
 * The CoAP message format (RFC 7252 §3), strict and bounded both ways. Ours rather than the
 * `coap-packet` codec: that one accepts what RFC 7252 calls message format errors (token lengths
 * 9–15 read as RFC 8974 extended tokens of up to 65,804 bytes, options running past the end,
 * a payload marker with no payload) and keeps its read position in a module-level variable.
 * This is framing, not cryptography: DTLS below it is OpenSSL's.
 */

/** RFC 7252 §3: the four message types. */
export const CoapType = { CON: 0, NON: 1, ACK: 2, RST: 3 } as const;
export type CoapType = (typeof CoapType)[keyof typeof CoapType];

/** RFC 7252 §5.10 and RFC 7959 §2.1 option numbers this gateway reads or writes. */
export const CoapOption = {
  URI_HOST: 3,
  OBSERVE: 6,
  URI_PORT: 7,
  URI_PATH: 11,
  CONTENT_FORMAT: 12,
  MAX_AGE: 14,
  URI_QUERY: 15,
  ACCEPT: 17,
  BLOCK2: 23,
  BLOCK1: 27,
  SIZE2: 28,
  SIZE1: 60,
  NO_RESPONSE: 258,
} as const;

/**
 * The largest datagram this gateway writes, and the largest it reads. RFC 7252 §4.6: a message
 * should fit one IP packet of 1,280 bytes; 1,152 bytes of CoAP leave room for the IP, UDP and DTLS
 * headers. Larger request bodies come in Block1 pieces, larger answers go in Block2 pieces.
 */
export const MAX_COAP_MESSAGE_BYTES = 1_152;
/** RFC 7252 §3: TKL 9–15 are reserved; a token is at most 8 bytes. */
export const MAX_TOKEN_BYTES = 8;
/** Options one message may carry; a request of ours needs a handful. */
export const MAX_OPTIONS = 32;

export interface CoapMessageOption {
  readonly number: number;
  readonly value: Buffer;
}

export interface CoapMessage {
  readonly type: CoapType;
  /** RFC 7252 §3: class in the top 3 bits, detail in the low 5; 0 is the Empty message. */
  readonly code: number;
  readonly messageId: number;
  readonly token: Buffer;
  /** In ascending option-number order, as on the wire. */
  readonly options: readonly CoapMessageOption[];
  readonly payload: Buffer;
}

/** Why a datagram is not a CoAP message; `messageId` is known when the fixed header is. */
export class CoapFormatError extends Error {
  constructor(
    message: string,
    readonly header: { readonly type: CoapType; readonly messageId: number } | null,
  ) {
    super(message);
    this.name = 'CoapFormatError';
  }
}

/** `2.05` → 69: the code byte of a dotted response or method code. */
export function coapCode(dotted: `${number}.${string}`): number {
  const [klass, detail] = dotted.split('.');
  return (Number(klass) << 5) | Number(detail);
}

/** 69 → `2.05`. */
export function dottedCoapCode(code: number): string {
  return `${code >> 5}.${String(code & 0x1f).padStart(2, '0')}`;
}

/** RFC 7252 §3.1: an option delta or length nibble and its extended bytes. */
function readExtended(datagram: Buffer, at: number, nibble: number, what: string, header: CoapFormatError['header']): [value: number, next: number] {
  if (nibble < 13) return [nibble, at];
  if (nibble === 13) {
    if (at + 1 > datagram.length) throw new CoapFormatError(`${what} runs past the end`, header);
    return [(datagram[at] as number) + 13, at + 1];
  }
  if (nibble === 14) {
    if (at + 2 > datagram.length) throw new CoapFormatError(`${what} runs past the end`, header);
    return [datagram.readUInt16BE(at) + 269, at + 2];
  }
  throw new CoapFormatError(`${what} nibble 15 is reserved`, header);
}

/** Parses one datagram; throws `CoapFormatError` for anything RFC 7252 §3 calls a format error. */
export function parseCoapMessage(datagram: Buffer): CoapMessage {
  if (datagram.length < 4) throw new CoapFormatError('shorter than the 4-byte header', null);
  const first = datagram[0] as number;
  const type = ((first >> 4) & 0x3) as CoapType;
  const messageId = datagram.readUInt16BE(2);
  // RFC 7252 §3: a message with an unknown version is silently ignored (no header to reset).
  if (first >> 6 !== 1) throw new CoapFormatError(`version ${first >> 6}`, null);
  const header = { type, messageId };
  if (datagram.length > MAX_COAP_MESSAGE_BYTES) throw new CoapFormatError(`${datagram.length} bytes, more than ${MAX_COAP_MESSAGE_BYTES}`, header);
  const tokenLength = first & 0x0f;
  if (tokenLength > MAX_TOKEN_BYTES) throw new CoapFormatError(`token length ${tokenLength} is reserved`, header);
  const code = datagram[1] as number;
  if (4 + tokenLength > datagram.length) throw new CoapFormatError('the token runs past the end', header);
  const token = Buffer.from(datagram.subarray(4, 4 + tokenLength));
  // RFC 7252 §4.1: an Empty message has nothing after the header.
  if (code === 0) {
    if (datagram.length !== 4 || tokenLength !== 0) throw new CoapFormatError('an Empty message carries more than its header', header);
    return { type, code, messageId, token, options: [], payload: Buffer.alloc(0) };
  }
  const options: CoapMessageOption[] = [];
  let at = 4 + tokenLength;
  let number = 0;
  while (at < datagram.length) {
    const byte = datagram[at] as number;
    if (byte === 0xff) {
      // RFC 7252 §3: a payload marker followed by a zero-length payload is a format error.
      if (at + 1 === datagram.length) throw new CoapFormatError('a payload marker with no payload', header);
      return { type, code, messageId, token, options, payload: Buffer.from(datagram.subarray(at + 1)) };
    }
    if (options.length === MAX_OPTIONS) throw new CoapFormatError(`more than ${MAX_OPTIONS} options`, header);
    let delta: number;
    let length: number;
    [delta, at] = readExtended(datagram, at + 1, byte >> 4, 'an option delta', header);
    [length, at] = readExtended(datagram, at, byte & 0x0f, 'an option length', header);
    if (at + length > datagram.length) throw new CoapFormatError('an option value runs past the end', header);
    number += delta;
    options.push({ number, value: Buffer.from(datagram.subarray(at, at + length)) });
    at += length;
  }
  return { type, code, messageId, token, options, payload: Buffer.alloc(0) };
}

function extended(value: number): [nibble: number, bytes: number[]] {
  if (value < 13) return [value, []];
  if (value < 269) return [13, [value - 13]];
  return [14, [(value - 269) >> 8, (value - 269) & 0xff]];
}

/**
 * Encodes one message. Throws (a programming error, never a peer's doing) when the result would
 * exceed MAX_COAP_MESSAGE_BYTES: callers size answers to fit, and send larger ones in blocks.
 */
export function encodeCoapMessage(message: CoapMessage): Buffer {
  if (message.token.length > MAX_TOKEN_BYTES) throw new RangeError(`a token of ${message.token.length} bytes`);
  const parts: Buffer[] = [Buffer.from([0x40 | (message.type << 4) | message.token.length, message.code, message.messageId >> 8, message.messageId & 0xff]), message.token];
  const sorted = [...message.options].sort((a, b) => a.number - b.number);
  let previous = 0;
  for (const option of sorted) {
    const [deltaNibble, deltaBytes] = extended(option.number - previous);
    const [lengthNibble, lengthBytes] = extended(option.value.length);
    parts.push(Buffer.from([(deltaNibble << 4) | lengthNibble, ...deltaBytes, ...lengthBytes]), option.value);
    previous = option.number;
  }
  if (message.payload.length > 0) parts.push(Buffer.from([0xff]), message.payload);
  const encoded = Buffer.concat(parts);
  if (encoded.length > MAX_COAP_MESSAGE_BYTES) throw new RangeError(`a CoAP message of ${encoded.length} bytes, more than ${MAX_COAP_MESSAGE_BYTES}`);
  return encoded;
}

/** RFC 7252 §3.2: a uint option value, big-endian without leading zero bytes. */
export function uintOption(number: number, value: number): CoapMessageOption {
  const bytes: number[] = [];
  for (let v = value; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return { number, value: Buffer.from(bytes) };
}

/** The uint value of an option, or undefined when it is absent or longer than `maxBytes`. */
export function readUintOption(message: CoapMessage, number: number, maxBytes = 4): number | undefined {
  const option = message.options.find((o) => o.number === number);
  if (!option || option.value.length > maxBytes) return undefined;
  let value = 0;
  for (const byte of option.value) value = value * 256 + byte;
  return value;
}

/** RFC 7252 §5.4.1: odd option numbers are critical — a recipient that does not know one must refuse the request. */
export function isCriticalOption(number: number): boolean {
  return (number & 1) === 1;
}
