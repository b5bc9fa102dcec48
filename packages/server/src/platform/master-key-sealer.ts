import type { OpenedSecret, SecretSealer } from '../domain/shared/index.js';
import type { MasterKeySource } from './master-key.js';
import type { MasterKeyRing } from './master-key-ring.js';
import { EnvelopeError, partsOfBytes, partsOfText, sealToBytes, sealToText, type SealedParts } from './sealed-envelope.js';

/**
 * The domain's SecretSealer port (domain/shared/secret-sealer.ts), implemented once: the platform's
 * one envelope (sealed-envelope.ts) under the master key ring.
 *
 * A master-key rotation changes the ring under a running server: every seal asks the source for
 * the ring as it is now (for the key file, one stat), so a server seals under the new key from
 * the moment the rotation has written it; an open that names a key this server has not read yet
 * asks again. Keys once read are kept for opening until the process ends, so a value the server
 * read before a rotation re-sealed it still opens.
 */
export class MasterKeySealer implements SecretSealer {
  private known: MasterKeyRing;

  constructor(private readonly source: MasterKeySource) {
    this.known = source.ring();
  }

  sealBytes(plaintext: Buffer, context: string): Buffer {
    return sealToBytes(this.sealingRing().current, plaintext, context);
  }

  openBytes(sealed: Buffer, context: string): OpenedSecret {
    return opened(() => this.open(partsOfBytes(sealed), context));
  }

  sealText(plaintext: Buffer, context: string): string {
    return sealToText(this.sealingRing().current, plaintext, context);
  }

  openText(sealed: string, context: string): OpenedSecret {
    return opened(() => this.open(partsOfText(sealed), context));
  }

  private sealingRing(): MasterKeyRing {
    const ring = this.source.ring();
    const changed = ring.current.id !== this.known.current.id || ring.keys.some((key) => !this.known.byId(key.id));
    if (changed) this.known = ring.joinedWith(this.known);
    return ring;
  }

  private open(parts: SealedParts, context: string): Buffer {
    try {
      return this.known.open(parts, context);
    } catch (error) {
      if (!(error instanceof EnvelopeError && error.failure === 'key')) throw error;
    }
    const before = this.known;
    this.sealingRing();
    if (this.known === before) throw new EnvelopeError('key');
    return this.known.open(parts, context);
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
