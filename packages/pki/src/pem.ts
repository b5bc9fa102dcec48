import { PkiError } from './errors.js';

export interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

/** A bundle larger than this is refused before any parsing: a hostile input bound. */
export const MAX_PEM_INPUT_BYTES = 16 * 1024 * 1024;
/** Bundles beyond this many blocks are refused: real CA bundles hold a few hundred. */
export const MAX_PEM_BLOCKS = 10_000;

const BEGIN = /-----BEGIN ([A-Z0-9 ]+)-----/g;
const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;

export function looksLikePem(input: Buffer): boolean {
  return input.includes('-----BEGIN ');
}

/**
 * Decodes every PEM block of an input (RFC 7468), the text between blocks ignored as openssl
 * does. Legacy encrypted keys (Proc-Type headers) are reported as KEY_ENCRYPTED rather than
 * as garbage.
 */
export function decodePem(input: Buffer | string): PemBlock[] {
  const size = typeof input === 'string' ? input.length : input.length;
  if (size > MAX_PEM_INPUT_BYTES) {
    throw new PkiError('INPUT_TOO_LARGE', `PEM input is larger than ${MAX_PEM_INPUT_BYTES} bytes`, { size });
  }
  const text = typeof input === 'string' ? input : input.toString('latin1');
  const blocks: PemBlock[] = [];
  BEGIN.lastIndex = 0;
  let match: RegExpExecArray | null;
  while ((match = BEGIN.exec(text)) !== null) {
    const label = match[1] as string;
    const bodyStart = match.index + match[0].length;
    const endMarker = `-----END ${label}-----`;
    const end = text.indexOf(endMarker, bodyStart);
    if (end < 0) {
      throw new PkiError('PEM_MALFORMED', `PEM block "${label}" has no END line (truncated?)`, { label });
    }
    const body = text.slice(bodyStart, end);
    if (/Proc-Type:|DEK-Info:/.test(body)) {
      throw new PkiError('KEY_ENCRYPTED', `PEM block "${label}" is encrypted; decrypt it first`, { label });
    }
    const compact = body.replace(/[\r\n\t ]+/g, '');
    if (!BASE64_BODY.test(compact) || compact.length % 4 !== 0) {
      throw new PkiError('PEM_MALFORMED', `PEM block "${label}" has an invalid base64 body`, { label });
    }
    const der = Buffer.from(compact, 'base64');
    if (der.length === 0) throw new PkiError('PEM_MALFORMED', `PEM block "${label}" is empty`, { label });
    blocks.push({ label, der });
    if (blocks.length > MAX_PEM_BLOCKS) {
      throw new PkiError('INPUT_TOO_LARGE', `more than ${MAX_PEM_BLOCKS} PEM blocks`, { limit: MAX_PEM_BLOCKS });
    }
    BEGIN.lastIndex = end + endMarker.length;
  }
  if (blocks.length === 0) {
    if (text.includes('-----BEGIN')) throw new PkiError('PEM_MALFORMED', 'malformed PEM BEGIN line');
    throw new PkiError('PEM_NOT_FOUND', 'no PEM block found');
  }
  return blocks;
}

/** RFC 7468 strict form: 64-character lines, trailing newline. */
export function encodePem(label: string, der: Buffer): string {
  const b64 = der.toString('base64');
  let out = `-----BEGIN ${label}-----\n`;
  for (let i = 0; i < b64.length; i += 64) out += b64.slice(i, i + 64) + '\n';
  return out + `-----END ${label}-----\n`;
}
