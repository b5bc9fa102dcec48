import { EnvelopeError, openFromBytes, openFromText, sealToBytes, sealToText } from './sealed-envelope.js';

/** What opening a sealed value gives (the shape of the domain's SecretSealer port). */
type Opened = { readonly ok: true; readonly value: Buffer } | { readonly ok: false; readonly failure: 'format' | 'key' };

/**
 * The domain's SecretSealer (domain/shared/secret-sealer.ts), implemented once: the platform's
 * one envelope (sealed-envelope.ts) under the master key. Master-key rotation replaces this
 * object, not the rooms that seal.
 */
export class MasterKeySealer {
  constructor(private readonly masterKey: Buffer) {
    if (masterKey.length !== 32) throw new Error('the master key is 32 octets (AES-256)');
  }

  sealBytes(plaintext: Buffer, context: string): Buffer {
    return sealToBytes(this.masterKey, plaintext, context);
  }

  openBytes(sealed: Buffer, context: string): Opened {
    return opened(() => openFromBytes(this.masterKey, sealed, context));
  }

  sealText(plaintext: Buffer, context: string): string {
    return sealToText(this.masterKey, plaintext, context);
  }

  openText(sealed: string, context: string): Opened {
    return opened(() => openFromText(this.masterKey, sealed, context));
  }
}

function opened(open: () => Buffer): Opened {
  try {
    return { ok: true, value: open() };
  } catch (error) {
    if (error instanceof EnvelopeError) return { ok: false, failure: error.failure };
    throw error;
  }
}
