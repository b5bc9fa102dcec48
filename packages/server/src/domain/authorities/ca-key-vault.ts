import { ServiceError } from '../../service-error.js';
import type { SecretSealer } from '../shared/secret-sealer.js';

/**
 * Seals CA private keys at rest through the domain's SecretSealer port (stored as bytes). The
 * CA's id is the authenticated context, so a sealed key copied onto another CA's row does not open.
 */
export class CaKeyVault {
  constructor(private readonly sealer: SecretSealer) {}

  seal(plaintext: Buffer, caId: string): Buffer {
    return this.sealer.sealBytes(plaintext, caKeySealContext(caId));
  }

  open(sealed: Buffer, caId: string): Buffer {
    const opened = this.sealer.openBytes(sealed, caKeySealContext(caId));
    if (opened.ok) return opened.value;
    throw unavailable(caId, opened.failure === 'format' ? 'its sealed key is not in a format this server reads' : 'its key does not open with this server’s master key (another FLEETPKI_MASTER_KEY or master.key?)');
  }
}

/** What binds a sealed CA key to its CA (a master-key rotation re-seals under the same). */
export function caKeySealContext(caId: string): string {
  return `fleetpki-ca-key:${caId}`;
}

function unavailable(caId: string, why: string): ServiceError {
  return new ServiceError('CA_KEY_UNAVAILABLE', `the managed CA ${caId} cannot sign: ${why}`, { caId });
}
