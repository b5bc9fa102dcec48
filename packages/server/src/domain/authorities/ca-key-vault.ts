import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ServiceError } from '../../service-error.js';

const FORMAT_VERSION = 1;
/** NIST SP 800-38D §8.2: a 96-bit random IV; with fresh IVs per key, collisions are negligible. */
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Seals CA private keys at rest with AES-256-GCM under the master key (Node's crypto; no
 * cryptography of ours). The CA's id is the additional authenticated data, so a sealed key
 * copied onto another CA's row does not open. Layout: version ‖ IV ‖ tag ‖ ciphertext.
 */
export class CaKeyVault {
  constructor(private readonly masterKey: Buffer) {
    if (masterKey.length !== 32) throw new Error('the master key is 32 octets (AES-256)');
  }

  seal(plaintext: Buffer, caId: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.masterKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(`fleetpki-ca-key:${caId}`, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.from([FORMAT_VERSION]), iv, cipher.getAuthTag(), ciphertext]);
  }

  open(sealed: Buffer, caId: string): Buffer {
    if (sealed.length <= 1 + IV_BYTES + TAG_BYTES || sealed[0] !== FORMAT_VERSION) throw unavailable(caId, 'its sealed key is not in a format this server reads');
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.masterKey, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(`fleetpki-ca-key:${caId}`, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch {
      throw unavailable(caId, 'its key does not open with this server’s master key (another FLEETPKI_MASTER_KEY or master.key?)');
    }
  }
}

function unavailable(caId: string, why: string): ServiceError {
  return new ServiceError('CA_KEY_UNAVAILABLE', `the managed CA ${caId} cannot sign: ${why}`, { caId });
}
