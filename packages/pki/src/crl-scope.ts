import type { Certificate } from './certificate.js';
import type { CertificateRevocationList } from './crl.js';
import { bitString, booleanValue, derMalformed, readerOver, readSingle, type DerElement, sequenceReader } from './der/reader.js';
import { Tag } from './der/tags.js';
import { constructed } from './der/writer.js';
import { decodeGeneralNameElement, decodeGeneralNames, type GeneralName } from './extensions.js';
import { namesMatch } from './name-matching.js';
import { parseName, type DistinguishedName } from './name.js';
import { Oid } from './oids.js';

/** ReasonFlags bits 1-8 (RFC 5280 §5.3.1); bit 0 is unused. */
export const ALL_REASONS = 0x1fe;

interface DistributionPointName {
  readonly fullNames: readonly GeneralName[] | undefined;
  /** nameRelativeToCRLIssuer: one RDN (its SET encoding) appended to the issuer's name. */
  readonly relativeRdn: Buffer | undefined;
}

interface IssuingDistributionPoint {
  readonly distributionPoint: DistributionPointName | undefined;
  readonly onlyContainsUserCerts: boolean;
  readonly onlyContainsCACerts: boolean;
  readonly onlySomeReasons: number | undefined;
  readonly indirectCRL: boolean;
  readonly onlyContainsAttributeCerts: boolean;
}

function reasonMask(el: DerElement): number {
  const bits = bitString({ ...el, tag: Tag.BIT_STRING }, 'ReasonFlags');
  let mask = 0;
  bits.bytes.forEach((byte, i) => {
    for (let b = 0; b < 8; b++) if (byte & (0x80 >> b)) mask |= 1 << (i * 8 + b);
  });
  return mask & ALL_REASONS;
}

function generalNames(el: DerElement, what: string): GeneralName[] {
  const reader = readerOver(el, what);
  const out: GeneralName[] = [];
  while (!reader.atEnd()) {
    if (out.length >= 64) throw derMalformed(what, 'too many names');
    out.push(decodeGeneralNameElement(reader.read(), what));
  }
  return out;
}

function distributionPointName(el: DerElement, what: string): DistributionPointName {
  const inner = readSingle(el.contents, what);
  if (inner.tag === 0xa0) return { fullNames: generalNames(inner, what), relativeRdn: undefined };
  if (inner.tag === 0xa1) return { fullNames: undefined, relativeRdn: constructed(Tag.SET, [inner.contents]) };
  throw derMalformed(what, 'bad DistributionPointName');
}

/** issuingDistributionPoint (RFC 5280 §5.2.5). */
export function decodeIssuingDistributionPoint(value: Buffer): IssuingDistributionPoint {
  const what = 'issuingDistributionPoint';
  const reader = sequenceReader(value, what);
  const flag = (tag: number): boolean => {
    const el = reader.optional(tag);
    return el ? booleanValue({ ...el, tag: Tag.BOOLEAN }, what) : false;
  };
  const dp = reader.optional(0xa0);
  const result: IssuingDistributionPoint = {
    distributionPoint: dp ? distributionPointName(dp, what) : undefined,
    onlyContainsUserCerts: flag(0x81),
    onlyContainsCACerts: flag(0x82),
    onlySomeReasons: ((): number | undefined => {
      const el = reader.optional(0x83);
      return el ? reasonMask(el) : undefined;
    })(),
    indirectCRL: flag(0x84),
    onlyContainsAttributeCerts: flag(0x85),
  };
  reader.expectEnd(what);
  return result;
}

/** cRLDistributionPoints (RFC 5280 §4.2.1.13): the fullNames of each point. */
export interface CrlDistributionPoint {
  readonly name: DistributionPointName | undefined;
  /** cRLIssuer: the names of an indirect CRL's issuer, when not the certificate's issuer. */
  readonly crlIssuer: readonly GeneralName[] | undefined;
}

export function decodeCrlDistributionPoints(value: Buffer): CrlDistributionPoint[] {
  const what = 'cRLDistributionPoints';
  const reader = sequenceReader(value, what);
  const out: CrlDistributionPoint[] = [];
  while (!reader.atEnd()) {
    if (out.length >= 64) throw derMalformed(what, 'too many distribution points');
    const point = reader.enter(Tag.SEQUENCE, 'DistributionPoint');
    const dp = point.optional(0xa0);
    point.optional(0x81);
    const crlIssuer = point.optional(0xa2);
    point.expectEnd(what);
    out.push({ name: dp ? distributionPointName(dp, what) : undefined, crlIssuer: crlIssuer ? generalNames(crlIssuer, what) : undefined });
  }
  return out;
}

/** A distribution point's names, a relative one made full under `issuerNameDer` (RFC 5280 §4.2.1.13). */
function resolve(name: DistributionPointName, issuerNameDer: Buffer): readonly GeneralName[] {
  if (name.fullNames) return name.fullNames;
  if (!name.relativeRdn) return [];
  const issuer = readSingle(issuerNameDer, 'issuer');
  const der = constructed(Tag.SEQUENCE, [issuer.contents, name.relativeRdn]);
  return [{ type: 'directory', value: parseName(readSingle(der, 'distribution point'), 'distribution point') }];
}

function sameName(a: GeneralName, b: GeneralName): boolean {
  if (a.type === 'directory' && b.type === 'directory') return a.value.der.equals(b.value.der);
  if (a.type === 'uri' && b.type === 'uri') return a.value === b.value;
  if (a.type === 'dns' && b.type === 'dns') return a.value.toLowerCase() === b.value.toLowerCase();
  return false;
}

function distributionPoints(cert: Certificate): CrlDistributionPoint[] {
  const value = cert.extensions.find((e) => e.oid === Oid.crlDistributionPoints)?.value;
  return value ? decodeCrlDistributionPoints(value) : [];
}

function namesInclude(names: readonly GeneralName[] | undefined, name: DistinguishedName): boolean {
  return (names ?? []).some((n) => n.type === 'directory' && namesMatch(n.value, name));
}

/**
 * Whether a CRL speaks for a certificate, and for which reasons (RFC 5280 §6.3.3 (b)): a direct
 * CRL from the certificate's issuer, or an indirect CRL (issuingDistributionPoint indirectCRL)
 * from an issuer the certificate names as cRLIssuer of one of its distribution points; then the
 * issuingDistributionPoint's scope and name against that distribution point. What we cannot
 * evaluate (relative names without a base, attribute certificates) does not apply, so the
 * check fails closed for want of a covering CRL.
 */
export function crlScope(cert: Certificate, crl: CertificateRevocationList): { applies: boolean; reasons: number } {
  const idpValue = crl.extensions.find((e) => e.oid === Oid.issuingDistributionPoint)?.value;
  const idp = idpValue ? decodeIssuingDistributionPoint(idpValue) : undefined;
  const points = distributionPoints(cert);
  const direct = namesMatch(crl.issuer, cert.issuer);
  // The distribution points this CRL may serve: for a direct CRL those without cRLIssuer (or
  // naming the issuer itself); for an indirect one those naming the CRL's issuer.
  const candidates = direct
    ? points.filter((p) => p.crlIssuer === undefined || namesInclude(p.crlIssuer, crl.issuer))
    : points.filter((p) => namesInclude(p.crlIssuer, crl.issuer));
  if (!direct && (!idp?.indirectCRL || candidates.length === 0)) return { applies: false, reasons: 0 };
  if (direct && points.length > 0 && candidates.length === 0) return { applies: false, reasons: 0 };
  if (!idp) return { applies: true, reasons: ALL_REASONS };
  if (idp.onlyContainsAttributeCerts) return { applies: false, reasons: 0 };
  const isCa = cert.basicConstraints?.ca === true;
  if ((idp.onlyContainsUserCerts && isCa) || (idp.onlyContainsCACerts && !isCa)) return { applies: false, reasons: 0 };
  if (idp.distributionPoint) {
    const idpNames = resolve(idp.distributionPoint, crl.issuer.der);
    const matches = candidates.some((p) => p.name !== undefined && resolve(p.name, p.crlIssuer ? crl.issuer.der : cert.issuer.der).some((n) => idpNames.some((m) => sameName(n, m))));
    if (!matches) return { applies: false, reasons: 0 };
  }
  return { applies: true, reasons: idp.onlySomeReasons ?? ALL_REASONS };
}

/**
 * The issuer each entry of a CRL speaks for (RFC 5280 §5.3.3 certificateIssuer: it holds for
 * this entry and those after it; the CRL's issuer until the first one).
 */
export function entryIssuers(crl: CertificateRevocationList): (DistinguishedName | undefined)[] {
  let current: DistinguishedName | undefined = crl.issuer;
  return crl.revoked.map((entry) => {
    const value = entry.extensions.find((e) => e.oid === Oid.certificateIssuer)?.value;
    if (value) {
      const names = decodeGeneralNames(value, 'certificateIssuer');
      const directory = names.find((n) => n.type === 'directory');
      // A certificateIssuer we cannot compare (no directoryName) matches no certificate.
      current = directory?.type === 'directory' ? directory.value : undefined;
    }
    return current;
  });
}
