import type { CertificateRevocationList, RevokedCertificate } from './crl.js';
import { integerBytes, readSingle } from './der/reader.js';
import { Tag } from './der/tags.js';
import { Oid } from './oids.js';

/**
 * The fields of a parsed CRL read from its extensions, once for everyone who reads them (the
 * path validator, the server's CRL upload): each reads its extension strictly and throws
 * DER_MALFORMED for one that does not decode.
 */

/** An INTEGER extension value (cRLNumber, deltaCRLIndicator) as a bigint; they may be 20 octets. */
function integerExtension(crl: CertificateRevocationList, oid: string): bigint | undefined {
  const value = crl.extensions.find((e) => e.oid === oid)?.value;
  if (!value) return undefined;
  const bytes = integerBytes(readSingle(value, oid), oid);
  return BigInt(`0x${bytes.toString('hex')}`);
}

/** RFC 5280 §5.2.3 cRLNumber, which every conforming CRL carries. */
export function crlNumberOf(crl: CertificateRevocationList): bigint | undefined {
  return integerExtension(crl, Oid.crlNumber);
}

/** RFC 5280 §5.2.4: the base CRL number of a delta CRL; undefined for a complete CRL. */
export function deltaCrlBaseOf(crl: CertificateRevocationList): bigint | undefined {
  return integerExtension(crl, Oid.deltaCrlIndicator);
}

/** RFC 5280 §5.3.1 CRLReason of an entry, as the enumeration's value; undefined when absent or unreadable. */
export function crlEntryReasonOf(entry: RevokedCertificate): number | undefined {
  const value = entry.extensions.find((e) => e.oid === Oid.crlReason)?.value;
  if (!value) return undefined;
  const el = readSingle(value, 'reasonCode');
  return el.tag === Tag.ENUMERATED && el.contents.length === 1 ? (el.contents[0] as number) : undefined;
}
