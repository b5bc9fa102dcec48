import { EnvelopeError, openBody, type EnvelopeKey, type SealedParts } from './sealed-envelope.js';

/**
 * The master keys a server holds: the first seals, every one opens. A ring holds more than one
 * key only during a master-key rotation (master-key-rotation.ts): the new key first, the keys
 * it replaces after it, until every sealed value has been re-sealed under the new one.
 */
export class MasterKeyRing {
  readonly keys: readonly EnvelopeKey[];

  constructor(keys: readonly EnvelopeKey[]) {
    if (keys.length === 0) throw new Error('a master key ring holds at least one key');
    const ids = new Set(keys.map((key) => key.id));
    if (ids.size !== keys.length) throw new Error('a master key ring holds each key once');
    this.keys = keys;
  }

  /** The key new values are sealed under. */
  get current(): EnvelopeKey {
    return this.keys[0] as EnvelopeKey;
  }

  byId(id: string): EnvelopeKey | undefined {
    return this.keys.find((key) => key.id === id);
  }

  /**
   * Opens a sealed value with the key it names; a version 1 value names none, so each key is
   * tried, the current first. EnvelopeError('key') when no key of the ring opens it.
   */
  open(parts: SealedParts, context: string): Buffer {
    if (parts.keyId !== undefined) {
      const key = this.byId(parts.keyId);
      if (!key) throw new EnvelopeError('key');
      return openBody(key, parts.body, context);
    }
    for (const key of this.keys) {
      try {
        return openBody(key, parts.body, context);
      } catch (error) {
        if (!(error instanceof EnvelopeError && error.failure === 'key')) throw error;
      }
    }
    throw new EnvelopeError('key');
  }

  /** This ring with the keys of another added after its own (a server keeps every key it has read). */
  joinedWith(other: MasterKeyRing): MasterKeyRing {
    const added = other.keys.filter((key) => !this.byId(key.id));
    return added.length === 0 ? this : new MasterKeyRing([...this.keys, ...added]);
  }
}
