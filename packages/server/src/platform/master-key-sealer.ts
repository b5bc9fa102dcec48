import type { OpenedSecret, SecretSealer } from '../domain/shared/index.js';
import { EnvelopeError, openFromBytes, openFromText, sealToBytes, sealToText } from './sealed-envelope.js';

/**
 * The domain's SecretSealer port (domain/shared/secret-sealer.ts), implemented once: the platform's
 * one envelope (sealed-envelope.ts) under the master key. Master-key rotation replaces this
 * object, not the rooms that seal.
 */
export class MasterKeySealer implements SecretSealer {
  constructor(private readonly masterKey: Buffer) {
    if (masterKey.length !== 32) throw new Error('the master key is 32 octets (AES-256)');
  }

  sealBytes(plaintext: Buffer, context: string): Buffer {
    return sealToBytes(this.masterKey, plaintext, context);
  }

  openBytes(sealed: Buffer, context: string): OpenedSecret {
    return opened(() => openFromBytes(this.masterKey, sealed, context));
  }

  sealText(plaintext: Buffer, context: string): string {
    return sealToText(this.masterKey, plaintext, context);
  }

  openText(sealed: string, context: string): OpenedSecret {
    return opened(() => openFromText(this.masterKey, sealed, context));
  }
}

function opened(open: () => Buffer): OpenedSecret {
  try {
    return { ok: true, value: open() };
  } catch (error) {
    if (error instanceof EnvelopeError) return { ok: false, failure: error.failure };
    throw error;
  }
}
