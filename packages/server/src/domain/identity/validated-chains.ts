import { createHash } from 'node:crypto';
import { LruMap } from '../../lru-map.js';
import type { PathMember } from '../revocation/index.js';
import type { CertificateAuthenticatedDevice } from './identity-types.js';
import type { CertificateSighting } from './authentication-journal.js';

/** What a successful validation established, valid as long as the project's CAs do not change. */
export interface ValidatedChain {
  readonly projectKey: string;
  readonly caGeneration: number;
  readonly projectSlug: string;
  readonly certificateId: string;
  readonly anchorCaId: string;
  readonly fingerprintSha256: string;
  /** The path's validity window (latest notBefore, earliest notAfter), in ms. */
  readonly notBefore: number;
  readonly notAfter: number;
  /** The leaf's own validity (ms), which its renewal window reads. */
  readonly leafNotBefore: number;
  readonly leafNotAfter: number;
  /** The path but its anchor, leaf first, as revocation lookups name certificates. */
  readonly path: readonly PathMember[];
  /** The leaf as the inventory records it (DESIGN §8). */
  readonly sighting: Omit<CertificateSighting, 'deviceId' | 'at'>;
  /**
   * The identity last admitted on this chain. A device holding several connections (or
   * reconnecting while an old one idles) shares one object rather than a copy per connection.
   */
  lastAdmitted?: CertificateAuthenticatedDevice;
}

/** Bound on remembered chains: beyond it the least recently used is validated again next time. */
export const MAX_VALIDATED_CHAINS = 50_000;

/**
 * Chains already validated, by the SHA-256 of the exact certificates the client sent. A device
 * reconnects with the same bytes; RFC 5280 path validation of the same chain against the same
 * anchors (same ca_generation) at a time inside the path's validity gives the same answer, so
 * it is not repeated. Proof of possession is not cached: TLS checks it on every handshake.
 * Only successes are kept; disabling or changing a CA bumps ca_generation and retires them.
 */
export class ValidatedChainCache {
  private readonly entries = new LruMap<string, ValidatedChain>(MAX_VALIDATED_CHAINS);

  static keyOf(chainDer: readonly Buffer[]): string {
    const hash = createHash('sha256');
    for (const der of chainDer) hash.update(der);
    return hash.digest('hex');
  }

  get(key: string, project: { readonly id: string; readonly ca_generation: number }, now: Date): ValidatedChain | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const t = now.getTime();
    if (entry.projectKey !== project.id || entry.caGeneration !== Number(project.ca_generation) || t < entry.notBefore || t > entry.notAfter) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** The slug a remembered chain names, so the project can be read without parsing anything. */
  slugOf(key: string): string | undefined {
    return this.entries.peek(key)?.projectSlug;
  }

  set(key: string, entry: ValidatedChain): void {
    this.entries.set(key, entry);
  }
}
