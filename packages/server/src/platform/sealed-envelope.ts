import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * The one sealing envelope under the master key, for every secret kept at rest (managed CAs'
 * private keys, devices' pre-shared keys, the master key's check value): AES-256-GCM from
 * node:crypto (no cryptography of ours), a fresh 96-bit IV per seal (NIST SP 800-38D §8.2), and a
 * context that is authenticated but not stored, which binds a sealed value to its row so it
 * cannot be moved to another. Version 1 is `iv ‖ tag ‖ ciphertext`; it is stored as bytes
 * (`0x01 ‖ body`, CA keys) or as text (`v1.` + base64(body), PSKs and settings) — one envelope,
 * two spellings, both read back exactly as older servers wrote them.
 */
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const TEXT_PREFIX = `v${VERSION}.`;

/** Why an envelope did not open: not one of ours, or sealed under another key or context (or changed). */
export type EnvelopeFailure = 'format' | 'key';

export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';

  constructor(readonly failure: EnvelopeFailure) {
    super(failure === 'format' ? 'not a sealed value of a format this server reads' : 'the sealed value does not open with this master key and context');
  }
}

function sealBody(key: Buffer, plaintext: Buffer, context: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
}

function openBody(key: Buffer, body: Buffer, context: string): Buffer {
  if (body.length < IV_BYTES + TAG_BYTES) throw new EnvelopeError('format');
  const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(body.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(body.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new EnvelopeError('key');
  }
}

/** Seals to bytes: the version octet, then the body. */
export function sealToBytes(key: Buffer, plaintext: Buffer, context: string): Buffer {
  return Buffer.concat([Buffer.from([VERSION]), sealBody(key, plaintext, context)]);
}

export function openFromBytes(key: Buffer, sealed: Buffer, context: string): Buffer {
  if (sealed.length === 0 || sealed[0] !== VERSION) throw new EnvelopeError('format');
  return openBody(key, sealed.subarray(1), context);
}

/** Seals to text: `v1.` and the body in base64, for text columns. */
export function sealToText(key: Buffer, plaintext: Buffer, context: string): string {
  return TEXT_PREFIX + sealBody(key, plaintext, context).toString('base64');
}

export function openFromText(key: Buffer, sealed: string, context: string): Buffer {
  if (!sealed.startsWith(TEXT_PREFIX)) throw new EnvelopeError('format');
  return openBody(key, Buffer.from(sealed.slice(TEXT_PREFIX.length), 'base64'), context);
}
