import { parseAlgorithmIdentifier, type AlgorithmIdentifier } from './algorithm-identifier.js';
import { checkInnerAlgorithm, parseSignedObject } from './signed-object.js';
import type { DerReader} from './der/reader.js';
import { integerBytes, integerSmall, readerOver, timeValue } from './der/reader.js';
import { Tag } from './der/tags.js';
import { PkiError } from './errors.js';
import { parseExtensionList, parseTaggedExtensions, type Extension } from './extensions.js';
import { parseName, type DistinguishedName } from './name.js';
import { signatureAlgorithmName } from './signature.js';

export interface RevokedCertificate {
  readonly serialNumber: Buffer;
  readonly revocationDate: Date;
  readonly extensions: readonly Extension[];
}

/** A parsed X.509 v1/v2 CRL (RFC 5280 §5.1). */
export interface CertificateRevocationList {
  readonly der: Buffer;
  readonly tbsDer: Buffer;
  readonly version: 1 | 2;
  readonly signatureAlgorithm: AlgorithmIdentifier;
  readonly issuer: DistinguishedName;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  readonly revoked: readonly RevokedCertificate[];
  readonly extensions: readonly Extension[];
  readonly signature: Buffer;
}

/** A CRL listing more entries than this is refused: a hostile input bound. */
export const MAX_CRL_ENTRIES = 1_000_000;

export function parseCrl(der: Buffer): CertificateRevocationList {
  const what = 'CRL';
  const { outer, tbs: tbsEl, signatureAlgorithm, signature } = parseSignedObject(der, what, 'tbsCertList');

  const tbs: DerReader = readerOver(tbsEl, 'tbsCertList');
  let version: 1 | 2 = 1;
  const versionEl = tbs.optional(Tag.INTEGER);
  if (versionEl) {
    if (integerSmall(versionEl, 'version') !== 1) throw new PkiError('DER_MALFORMED', 'CRL: bad version', { what });
    version = 2;
  }
  const inner = parseAlgorithmIdentifier(tbs.expect(Tag.SEQUENCE, 'signature'), what);
  checkInnerAlgorithm(inner, signatureAlgorithm, what, 'tbsCertList.signature');
  const issuer = parseName(tbs.read(), 'issuer');
  const thisUpdate = timeValue(tbs.read(), 'thisUpdate');
  const next = tbs.peekTag();
  const nextUpdate = next === Tag.UTC_TIME || next === Tag.GENERALIZED_TIME ? timeValue(tbs.read(), 'nextUpdate') : undefined;
  const revoked: RevokedCertificate[] = [];
  const list = tbs.optional(Tag.SEQUENCE);
  if (list) {
    const entries = readerOver(list, 'revokedCertificates');
    while (!entries.atEnd()) {
      if (revoked.length >= MAX_CRL_ENTRIES) throw new PkiError('INPUT_TOO_LARGE', 'CRL has too many entries', { what });
      const entry = entries.enter(Tag.SEQUENCE, 'revoked certificate');
      const serialNumber = integerBytes(entry.read(), 'userCertificate');
      const revocationDate = timeValue(entry.read(), 'revocationDate');
      const extEl = entry.optional(Tag.SEQUENCE);
      entry.expectEnd('crlEntryExtensions');
      const extensions = extEl ? parseExtensionList(extEl, what) : [];
      revoked.push({ serialNumber, revocationDate, extensions });
    }
  }
  const extEl = tbs.optional(0xa0);
  const extensions = extEl ? parseTaggedExtensions(extEl, what) : [];
  tbs.expectEnd('crlExtensions');
  return {
    der: outer.encoded,
    tbsDer: tbsEl.encoded,
    version,
    signatureAlgorithm,
    issuer,
    thisUpdate,
    nextUpdate,
    revoked,
    extensions,
    signature,
  };
}

export function crlSignatureAlgorithmName(crl: CertificateRevocationList): string {
  return signatureAlgorithmName(crl.signatureAlgorithm);
}
