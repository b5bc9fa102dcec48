import { EnvelopeError, openFromBytes, sealToBytes } from '../../platform/sealed-envelope.js';
import { ServiceError } from '../../service-error.js';

/**
 * Seals CA private keys at rest under the master key, in the platform's one envelope
 * (platform/sealed-envelope.ts, stored as bytes). The CA's id is the authenticated context, so a
 * sealed key copied onto another CA's row does not open.
 */
export class CaKeyVault {
  constructor(private readonly masterKey: Buffer) {
    if (masterKey.length !== 32) throw new Error('the master key is 32 octets (AES-256)');
  }

  seal(plaintext: Buffer, caId: string): Buffer {
    return sealToBytes(this.masterKey, plaintext, context(caId));
  }

  open(sealed: Buffer, caId: string): Buffer {
    try {
      return openFromBytes(this.masterKey, sealed, context(caId));
    } catch (error) {
      if (!(error instanceof EnvelopeError)) throw error;
      throw unavailable(caId, error.failure === 'format' ? 'its sealed key is not in a format this server reads' : 'its key does not open with this server’s master key (another FLEETPKI_MASTER_KEY or master.key?)');
    }
  }
}

function context(caId: string): string {
  return `fleetpki-ca-key:${caId}`;
}

function unavailable(caId: string, why: string): ServiceError {
  return new ServiceError('CA_KEY_UNAVAILABLE', `the managed CA ${caId} cannot sign: ${why}`, { caId });
}
