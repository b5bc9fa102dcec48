import { bitString, booleanValue, derMalformed, integerSmall, oidString, readerOver, readSingle, type DerElement, sequenceReader } from './der/reader.js';
import { Tag } from './der/tags.js';
import { parseName, type DistinguishedName } from './name.js';
import { Oid } from './oids.js';

export interface Extension {
  readonly oid: string;
  readonly critical: boolean;
  /** The extnValue OCTET STRING contents: the extension's own DER. */
  readonly value: Buffer;
}

/** An extensions list longer than this is refused: a hostile input bound (real certs have < 20). */
export const MAX_EXTENSIONS = 64;

const malformed = derMalformed;

/**
 * Extensions (RFC 5280 §4.1.2.9) from the SEQUENCE element itself: at least one, none twice,
 * critical only when TRUE.
 */
export function parseExtensionList(sequenceEl: DerElement, what: string): Extension[] {
  if (sequenceEl.tag !== Tag.SEQUENCE) throw malformed(what, 'extensions must be a SEQUENCE');
  const list = readerOver(sequenceEl, what);
  const extensions: Extension[] = [];
  const seen = new Set<string>();
  while (!list.atEnd()) {
    if (extensions.length >= MAX_EXTENSIONS) throw malformed(what, `more than ${MAX_EXTENSIONS} extensions`);
    const ext = list.enter(Tag.SEQUENCE, 'extension');
    const oid = oidString(ext.read(), what);
    const criticalEl = ext.optional(Tag.BOOLEAN);
    const critical = criticalEl ? booleanValue(criticalEl, what) : false;
    // DER omits a value equal to its DEFAULT (X.690 §11.5): an explicit FALSE is BER.
    if (criticalEl && !critical) throw malformed(what, `extension ${oid} encodes critical FALSE explicitly`);
    const value = ext.expect(Tag.OCTET_STRING, 'extnValue').contents;
    ext.expectEnd('extnValue');
    if (seen.has(oid)) throw malformed(what, `duplicate extension ${oid}`);
    seen.add(oid);
    extensions.push({ oid, critical, value });
  }
  if (extensions.length === 0) throw malformed(what, 'empty extensions list');
  return extensions;
}

/** Extensions under an EXPLICIT context tag, as in [3] of a certificate or [0] of a CRL. */
export function parseTaggedExtensions(tagged: DerElement, what: string): Extension[] {
  return parseExtensionList(readSingle(tagged.contents, what), what);
}

export interface BasicConstraints {
  readonly ca: boolean;
  readonly pathLen: number | undefined;
}

export function decodeBasicConstraints(value: Buffer): BasicConstraints {
  const what = 'basicConstraints';
  const reader = sequenceReader(value, what);
  const caEl = reader.optional(Tag.BOOLEAN);
  const ca = caEl ? booleanValue(caEl, what) : false;
  if (caEl && !ca) throw malformed(what, 'cA FALSE must be omitted in DER');
  const pathEl = reader.optional(Tag.INTEGER);
  const pathLen = pathEl ? integerSmall(pathEl, 'pathLenConstraint') : undefined;
  reader.expectEnd('pathLenConstraint');
  return { ca, pathLen };
}

/** KeyUsage bit names in bit order (RFC 5280 §4.2.1.3). */
export const KEY_USAGE_NAMES = [
  'digitalSignature',
  'contentCommitment',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;

export type KeyUsageName = (typeof KEY_USAGE_NAMES)[number];

export function decodeKeyUsage(value: Buffer): KeyUsageName[] {
  const what = 'keyUsage';
  const bits = bitString(readSingle(value, what), what);
  const names: KeyUsageName[] = [];
  KEY_USAGE_NAMES.forEach((name, bit) => {
    const byte = bits.bytes[bit >> 3];
    if (byte !== undefined && (byte & (0x80 >> (bit & 7))) !== 0) names.push(name);
  });
  // RFC 5280 §4.2.1.3: at least one bit is set. DER named bit lists carry no trailing zero
  // bits (X.690 §11.2.2), so the last used bit of the last octet is a one.
  const last = bits.bytes[bits.bytes.length - 1];
  if (last === undefined) throw malformed(what, 'no key usage bit is set');
  if ((last & (1 << bits.unusedBits)) === 0) throw malformed(what, 'trailing zero bits in named bit list');
  return names;
}

export function decodeExtKeyUsage(value: Buffer): string[] {
  const what = 'extKeyUsage';
  const reader = sequenceReader(value, what);
  const oids: string[] = [];
  while (!reader.atEnd()) {
    if (oids.length >= MAX_EXTENSIONS) throw malformed(what, 'too many key purposes');
    oids.push(oidString(reader.read(), what));
  }
  if (oids.length === 0) throw malformed(what, 'empty ExtKeyUsageSyntax');
  return oids;
}

export function decodeSubjectKeyIdentifier(value: Buffer): Buffer {
  const el = readSingle(value, 'subjectKeyIdentifier');
  if (el.tag !== Tag.OCTET_STRING) throw malformed('subjectKeyIdentifier', 'expected OCTET STRING');
  return el.contents;
}

export interface AuthorityKeyIdentifier {
  readonly keyIdentifier: Buffer | undefined;
  readonly hasAuthorityCertIssuer: boolean;
  readonly serialNumber: Buffer | undefined;
}

export function decodeAuthorityKeyIdentifier(value: Buffer): AuthorityKeyIdentifier {
  const what = 'authorityKeyIdentifier';
  const reader = sequenceReader(value, what);
  const keyIdentifier = reader.optional(0x80)?.contents;
  // authorityCertIssuer is kept out of chain building, as most verifiers do; only its presence matters.
  const hasAuthorityCertIssuer = reader.optional(0xa1) !== undefined;
  const serialNumber = reader.optional(0x82)?.contents;
  reader.expectEnd(what);
  return { keyIdentifier, hasAuthorityCertIssuer, serialNumber };
}

export type GeneralName =
  | { readonly type: 'dns'; readonly value: string }
  | { readonly type: 'email'; readonly value: string }
  | { readonly type: 'uri'; readonly value: string }
  | { readonly type: 'ip'; readonly value: string; readonly bytes: Buffer }
  | { readonly type: 'directory'; readonly value: DistinguishedName }
  | { readonly type: 'other'; readonly tag: number; readonly der: Buffer };

function formatIp(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
    return groups.join(':');
  }
  return bytes.toString('hex');
}

/** One GeneralName (RFC 5280 §4.2.1.6) from its context-tagged element. */
export function decodeGeneralNameElement(el: DerElement, what: string): GeneralName {
  const ascii = (): string => {
    const text = el.contents.toString('latin1');
    if (!/^\p{ASCII}*$/u.test(text)) throw malformed(what, 'IA5String with non-ASCII octets');
    return text;
  };
  switch (el.tag) {
    case 0x81:
      return { type: 'email', value: ascii() };
    case 0x82:
      return { type: 'dns', value: ascii() };
    case 0x86:
      return { type: 'uri', value: ascii() };
    case 0x87:
      if (el.contents.length !== 4 && el.contents.length !== 16 && el.contents.length !== 8 && el.contents.length !== 32) {
        throw malformed(what, 'iPAddress must be 4 or 16 octets (8 or 32 in a constraint)');
      }
      return { type: 'ip', value: formatIp(el.contents), bytes: el.contents };
    case 0xa4:
      return { type: 'directory', value: parseName(readSingle(el.contents, what), what) };
    default:
      return { type: 'other', tag: el.tag, der: el.encoded };
  }
}

export function decodeGeneralNames(value: Buffer, what: string): GeneralName[] {
  const reader = sequenceReader(value, what);
  const names: GeneralName[] = [];
  while (!reader.atEnd()) {
    if (names.length >= 1024) throw malformed(what, 'more than 1024 names');
    const name = decodeGeneralNameElement(reader.read(), what);
    if (name.type === 'ip' && name.bytes.length !== 4 && name.bytes.length !== 16) throw malformed(what, 'iPAddress must be 4 or 16 octets');
    names.push(name);
  }
  if (names.length === 0) throw malformed(what, 'empty GeneralNames');
  return names;
}

/** AuthorityInfoAccessSyntax (RFC 5280 §4.2.2.1): one or more AccessDescriptions. */
export function decodeAuthorityInfoAccess(value: Buffer): { readonly method: string; readonly location: GeneralName }[] {
  const what = 'authorityInfoAccess';
  const reader = sequenceReader(value, what);
  const out: { method: string; location: GeneralName }[] = [];
  while (!reader.atEnd()) {
    if (out.length >= MAX_EXTENSIONS) throw malformed(what, 'too many access descriptions');
    const description = reader.enter(Tag.SEQUENCE, 'AccessDescription');
    const method = oidString(description.read(), what);
    const location = decodeGeneralNameElement(description.read(), what);
    description.expectEnd('accessLocation');
    out.push({ method, location });
  }
  if (out.length === 0) throw malformed(what, 'no AccessDescription');
  return out;
}

/**
 * Whether a certificate may be used for a key purpose (RFC 5280 §4.2.1.12): no extendedKeyUsage
 * restricts nothing, and anyExtendedKeyUsage allows every purpose.
 */
export function extendedKeyUsageAllows(cert: { readonly extKeyUsage: readonly string[] | undefined }, purpose: string): boolean {
  const eku = cert.extKeyUsage;
  return eku === undefined || eku.includes(purpose) || eku.includes(Oid.anyExtendedKeyUsage);
}

/** The extensions this core understands; a critical one outside this set fails validation. */
export const UNDERSTOOD_EXTENSIONS: ReadonlySet<string> = new Set([
  Oid.basicConstraints,
  Oid.nameConstraints,
  Oid.certificatePolicies,
  Oid.policyMappings,
  Oid.policyConstraints,
  Oid.inhibitAnyPolicy,
  Oid.keyUsage,
  Oid.extKeyUsage,
  Oid.subjectKeyIdentifier,
  Oid.authorityKeyIdentifier,
  Oid.subjectAltName,
]);
