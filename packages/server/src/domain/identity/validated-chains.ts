import { createHash } from 'node:crypto';
import { LruMap } from '../../lru-map.js';
import type { PathMember } from '../revocation/index.js';
import type { CertificateAuthenticatedDevice } from './identity-types.js';
import type { CertificateSighting } from './authentication-journal.js';

/**
 * What a successful validation established, valid as long as the project's CAs do not change.
 * One is kept per device chain a server has seen (up to a million and more), so it holds only
 * what the next handshake needs, shares every string it can with its neighbours (the project's,
 * the CA's, the issuer name, intermediates' path members), and keeps times as numbers.
 */
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
  /** The leaf's issuer and subject as the inventory records them (DESIGN §8). */
  readonly issuer: string;
  readonly subject: string;
  /**
   * The identity last admitted on this chain. A device holding several connections (or
   * reconnecting while an old one idles) shares one object rather than a copy per connection.
   * Held weakly: once no connection holds it, a remembered chain does not keep it alive.
   */
  lastAdmitted?: WeakRef<CertificateAuthenticatedDevice>;
}

/** The inventory's record of a chain's leaf admitted for a device at a time (DESIGN §8). */
export function sightingOf(chain: ValidatedChain, deviceId: string, at: Date): CertificateSighting {
  const leaf = chain.path[0] as PathMember;
  return {
    projectKey: chain.projectKey,
    fingerprintSha256: chain.fingerprintSha256,
    serialNumber: leaf.serialNumber,
    issuer: chain.issuer,
    subject: chain.subject,
    notBefore: new Date(chain.leafNotBefore).toISOString(),
    notAfter: new Date(chain.leafNotAfter).toISOString(),
    caId: chain.anchorCaId,
    issuerCaId: leaf.issuerCaId,
    deviceId,
    at,
  };
}

/**
 * Default bound on remembered chains, per server process: a fleet of a million devices
 * reconnecting is a million hits, not a million path validations. What one costs in memory is
 * measured by `npm run bench:fleet` and stated in the README; `--validated-chain-cache` sets it.
 */
export const DEFAULT_VALIDATED_CHAINS = 1_000_000;

/**
 * Chains already validated, by the SHA-256 of the exact certificates the client sent. A device
 * reconnects with the same bytes; RFC 5280 path validation of the same chain against the same
 * anchors (same ca_generation) at a time inside the path's validity gives the same answer, so
 * it is not repeated. Proof of possession is not cached: TLS checks it on every handshake.
 * Only successes are kept; disabling or changing a CA bumps ca_generation and retires them.
 * Beyond the bound the least recently used chain is validated again next time.
 */
export class ValidatedChainCache {
  private readonly entries: LruMap<string, ValidatedChain>;

  constructor(capacity: number = DEFAULT_VALIDATED_CHAINS) {
    this.entries = new LruMap(capacity);
  }

  /** The digest as a 32-character one-byte string: the same key in less than half the memory of hex. */
  static keyOf(chainDer: readonly Buffer[]): string {
    const hash = createHash('sha256');
    for (const der of chainDer) hash.update(der);
    return hash.digest('binary'); // Node's name for latin1: one character per byte
  }

  get size(): number {
    return this.entries.size;
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
