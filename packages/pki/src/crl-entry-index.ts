import type { Certificate } from './certificate.js';
import type { CertificateRevocationList, RevokedCertificate } from './crl.js';
import { entryIssuers } from './crl-scope.js';
import { namesMatch } from './name-matching.js';
import type { DistinguishedName } from './name.js';

/**
 * One CRL's entries by serial, and the issuer each entry names (an indirect CRL says it per
 * entry, RFC 5280 §5.3.3), both built on the first lookup. Held by whoever validates (one per
 * CRL per verification), so a million-entry CRL is indexed once, not searched per certificate.
 */
export class CrlEntryIndex {
  private bySerial: Map<string, RevokedCertificate[]> | undefined;
  private issuers: Map<RevokedCertificate, DistinguishedName | undefined> | undefined;

  constructor(private readonly crl: CertificateRevocationList) {}

  /** The entries of the CRL for this certificate: its serial, under its issuer. */
  entriesFor(cert: Certificate): RevokedCertificate[] {
    if (!this.bySerial) {
      this.bySerial = new Map();
      for (const entry of this.crl.revoked) {
        const key = entry.serialNumber.toString('hex');
        this.bySerial.set(key, [...(this.bySerial.get(key) ?? []), entry]);
      }
    }
    const bySerial = this.bySerial.get(cert.serialNumber.toString('hex')) ?? [];
    if (bySerial.length === 0) return bySerial;
    if (!this.issuers) {
      const list = entryIssuers(this.crl);
      this.issuers = new Map(this.crl.revoked.map((entry, i) => [entry, list[i]]));
    }
    const issuers = this.issuers;
    return bySerial.filter((entry) => {
      const issuer = issuers.get(entry);
      return issuer !== undefined && namesMatch(issuer, cert.issuer);
    });
  }
}
