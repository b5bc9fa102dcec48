import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/**
 * The one sealing envelope under the master key, for every secret kept at rest (managed CAs'
 * private keys, devices' pre-shared keys, the master key's check value): AES-256-GCM from
 * node:crypto (no cryptography of ours), a fresh 96-bit IV per seal (NIST SP 800-38D §8.2), and a
 * context that is authenticated but not stored, which binds a sealed value to its row so it
 * cannot be moved to another. The body is `iv ‖ tag ‖ ciphertext`; it is stored as bytes (CA
 * keys) or as text (PSKs and settings) — one envelope, two spellings.
 *
 * Version 2 names the key that sealed it, so that a master-key rotation (master-key-rotation.ts)
 * can tell what is left to re-seal and a server holding a key ring opens each value with the one
 * right key: bytes `0x02 ‖ key id (8 octets) ‖ body`, text `v2.<key id, 16 hex digits>.` +
 * base64(body). Version 1 (`0x01 ‖ body`, `v1.` + base64(body)), written before rotation existed,
 * names no key; it is still read, by trying the ring's keys, and a rotation re-seals it as v2.
 */
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_BYTES = 8;
const V1 = 1;
const V2 = 2;
const V1_TEXT = 'v1.';
const V2_TEXT = /^v2\.([0-9a-f]{16})\.(.*)$/s;

/** Why an envelope did not open: not one of ours, or sealed under another key or context (or changed). */
export type EnvelopeFailure = 'format' | 'key';

export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';

  constructor(readonly failure: EnvelopeFailure) {
    super(failure === 'format' ? 'not a sealed value of a format this server reads' : 'the sealed value does not open with this master key and context');
  }
}

/** A master key and the id sealed values name it by. */
export interface EnvelopeKey {
  /** 16 hex digits: the first 8 octets of HMAC-SHA256(key, a fixed label) — names the key without revealing it. */
  readonly id: string;
  readonly secret: Buffer;
}

export function envelopeKey(secret: Buffer): EnvelopeKey {
  if (secret.length !== 32) throw new Error('a master key is 32 octets (AES-256)');
  return { id: createHmac('sha256', secret).update('fleetpki master key id').digest().subarray(0, KEY_ID_BYTES).toString('hex'), secret };
}

/** A sealed value taken apart: the key it names (none for version 1) and its body. */
export interface SealedParts {
  readonly keyId: string | undefined;
  readonly body: Buffer;
}

function sealBody(key: EnvelopeKey, plaintext: Buffer, context: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.secret, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
}

/** Opens a body with one key; EnvelopeError('key') when it is not the key (or the context, or a byte, differs). */
export function openBody(key: EnvelopeKey, body: Buffer, context: string): Buffer {
  if (body.length < IV_BYTES + TAG_BYTES) throw new EnvelopeError('format');
  const decipher = createDecipheriv('aes-256-gcm', key.secret, body.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(body.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(body.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new EnvelopeError('key');
  }
}

/** Seals to bytes: version 2, the key id, then the body. */
export function sealToBytes(key: EnvelopeKey, plaintext: Buffer, context: string): Buffer {
  return Buffer.concat([Buffer.from([V2]), Buffer.from(key.id, 'hex'), sealBody(key, plaintext, context)]);
}

/** Seals to text: `v2.<key id>.` and the body in base64, for text columns. */
export function sealToText(key: EnvelopeKey, plaintext: Buffer, context: string): string {
  return `v2.${key.id}.${sealBody(key, plaintext, context).toString('base64')}`;
}

export function partsOfBytes(sealed: Buffer): SealedParts {
  if (sealed.length > 0 && sealed[0] === V1) return { keyId: undefined, body: sealed.subarray(1) };
  if (sealed.length > 1 + KEY_ID_BYTES && sealed[0] === V2) return { keyId: sealed.subarray(1, 1 + KEY_ID_BYTES).toString('hex'), body: sealed.subarray(1 + KEY_ID_BYTES) };
  throw new EnvelopeError('format');
}

export function partsOfText(sealed: string): SealedParts {
  if (sealed.startsWith(V1_TEXT)) return { keyId: undefined, body: Buffer.from(sealed.slice(V1_TEXT.length), 'base64') };
  const v2 = V2_TEXT.exec(sealed);
  if (v2) return { keyId: v2[1], body: Buffer.from(v2[2] as string, 'base64') };
  throw new EnvelopeError('format');
}
