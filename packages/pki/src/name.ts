import { oidString, readerOver, stringValue, type DerElement } from './der/reader.js';
import { Tag } from './der/tags.js';
import { oid, sequence, setOf, stringOf } from './der/writer.js';
import { PkiError } from './errors.js';
import { Oid } from './oids.js';

export interface AttributeTypeAndValue {
  /** Dotted OID of the attribute type. */
  readonly type: string;
  /** The ASN.1 string tag the value was (or will be) encoded with. */
  readonly valueTag: number;
  readonly value: string;
}

export type RelativeDistinguishedName = readonly AttributeTypeAndValue[];

/** A distinguished name: its exact DER (what comparisons use) and its decoded RDNs. */
export interface DistinguishedName {
  readonly der: Buffer;
  readonly rdns: readonly RelativeDistinguishedName[];
}

/** A name with more RDNs than this is refused: a hostile input bound (real names have < 10). */
export const MAX_NAME_RDNS = 64;
/** Per-RDN attribute bound, for the same reason. */
export const MAX_RDN_ATTRIBUTES = 16;

interface AttributeSpec {
  readonly short: string;
  readonly oid: string;
  /** The string type openssl encodes this attribute with under its default `utf8only` mask. */
  readonly tag: number;
}

// Short names as openssl spells them, so `/K=V` subjects mean the same thing in both tools.
const ATTRIBUTES: readonly AttributeSpec[] = [
  { short: 'CN', oid: Oid.commonName, tag: Tag.UTF8_STRING },
  { short: 'C', oid: Oid.countryName, tag: Tag.PRINTABLE_STRING },
  { short: 'ST', oid: Oid.stateOrProvinceName, tag: Tag.UTF8_STRING },
  { short: 'L', oid: Oid.localityName, tag: Tag.UTF8_STRING },
  { short: 'O', oid: Oid.organizationName, tag: Tag.UTF8_STRING },
  { short: 'OU', oid: Oid.organizationalUnitName, tag: Tag.UTF8_STRING },
  { short: 'street', oid: Oid.streetAddress, tag: Tag.UTF8_STRING },
  { short: 'postalCode', oid: Oid.postalCode, tag: Tag.UTF8_STRING },
  { short: 'title', oid: Oid.title, tag: Tag.UTF8_STRING },
  { short: 'SN', oid: Oid.surname, tag: Tag.UTF8_STRING },
  { short: 'GN', oid: Oid.givenName, tag: Tag.UTF8_STRING },
  { short: 'initials', oid: Oid.initials, tag: Tag.UTF8_STRING },
  { short: 'generationQualifier', oid: Oid.generationQualifier, tag: Tag.UTF8_STRING },
  { short: 'pseudonym', oid: Oid.pseudonym, tag: Tag.UTF8_STRING },
  { short: 'serialNumber', oid: Oid.serialNumber, tag: Tag.PRINTABLE_STRING },
  { short: 'dnQualifier', oid: Oid.dnQualifier, tag: Tag.PRINTABLE_STRING },
  { short: 'emailAddress', oid: Oid.emailAddress, tag: Tag.IA5_STRING },
  { short: 'DC', oid: Oid.domainComponent, tag: Tag.IA5_STRING },
  { short: 'UID', oid: Oid.userId, tag: Tag.UTF8_STRING },
];

const BY_SHORT = new Map(ATTRIBUTES.map((a) => [a.short.toLowerCase(), a]));
const BY_OID = new Map(ATTRIBUTES.map((a) => [a.oid, a]));
const LONG_NAMES: ReadonlyMap<string, AttributeSpec> = new Map([
  ['commonname', BY_SHORT.get('cn') as AttributeSpec],
  ['countryname', BY_SHORT.get('c') as AttributeSpec],
  ['organizationname', BY_SHORT.get('o') as AttributeSpec],
  ['organizationalunitname', BY_SHORT.get('ou') as AttributeSpec],
  ['localityname', BY_SHORT.get('l') as AttributeSpec],
  ['stateorprovincename', BY_SHORT.get('st') as AttributeSpec],
]);

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
/** The string types a DirectoryString-like attribute value may take (RFC 5280 §4.1.2.4). */
const DIRECTORY_STRING_TAGS: ReadonlySet<number> = new Set([
  Tag.UTF8_STRING,
  Tag.PRINTABLE_STRING,
  Tag.IA5_STRING,
  Tag.VISIBLE_STRING,
  Tag.T61_STRING,
  Tag.BMP_STRING,
  Tag.UNIVERSAL_STRING,
]);
const IA5 = /^\p{ASCII}*$/u;
const DOTTED_OID = /^[0-2](\.(0|[1-9][0-9]*))+$/;

export function attributeShortName(type: string): string {
  return BY_OID.get(type)?.short ?? type;
}

/** Reads a Name (RFC 5280 §4.1.2.4) keeping its exact DER. */
export function parseName(el: DerElement, what: string): DistinguishedName {
  if (el.tag !== Tag.SEQUENCE) {
    throw new PkiError('DER_MALFORMED', `${what}: expected a Name SEQUENCE`, { what });
  }
  const rdns: RelativeDistinguishedName[] = [];
  const reader = readerOver(el, what);
  while (!reader.atEnd()) {
    if (rdns.length >= MAX_NAME_RDNS) {
      throw new PkiError('DER_MALFORMED', `${what}: more than ${MAX_NAME_RDNS} RDNs`, { what });
    }
    const set = reader.enter(Tag.SET, 'RelativeDistinguishedName');
    const rdn: AttributeTypeAndValue[] = [];
    const rdnEncodings: Buffer[] = [];
    while (!set.atEnd()) {
      if (rdn.length >= MAX_RDN_ATTRIBUTES) {
        throw new PkiError('DER_MALFORMED', `${what}: more than ${MAX_RDN_ATTRIBUTES} attributes in one RDN`, { what });
      }
      const atvEl = set.expect(Tag.SEQUENCE, 'AttributeTypeAndValue');
      rdnEncodings.push(atvEl.encoded);
      const atv = readerOver(atvEl, what);
      const type = oidString(atv.read(), what);
      const valueEl = atv.read();
      atv.expectEnd('attribute value');
      // A value that is no directory string (x500UniqueIdentifier's BIT STRING, a NumericString)
      // is kept as RFC 4514 §2.4 hex of its DER, not a reason to refuse the whole name.
      const value = DIRECTORY_STRING_TAGS.has(valueEl.tag) ? stringValue(valueEl, what) : `#${valueEl.encoded.toString('hex')}`;
      rdn.push({ type, valueTag: valueEl.tag, value });
    }
    // DER sorts the members of a SET OF by their encodings (X.690 §11.6).
    for (let i = 1; i < rdnEncodings.length; i++) {
      if (Buffer.compare(rdnEncodings[i - 1] as Buffer, rdnEncodings[i] as Buffer) > 0) {
        throw new PkiError('DER_MALFORMED', `${what}: attributes of a multi-valued RDN are not in DER order`, { what });
      }
    }
    // RFC 5280: a RelativeDistinguishedName is SET SIZE (1..MAX).
    if (rdn.length === 0) throw new PkiError('DER_MALFORMED', `${what}: empty RDN`, { what });
    rdns.push(rdn);
  }
  return { der: el.encoded, rdns };
}

export function encodeName(rdns: readonly RelativeDistinguishedName[]): DistinguishedName {
  const der = sequence(
    rdns.map((rdn) => setOf(rdn.map((atv) => sequence([oid(atv.type), stringOf(atv.valueTag, atv.value)])))),
  );
  return { der, rdns };
}

function resolveAttribute(key: string, subject: string): AttributeSpec {
  const spec = BY_SHORT.get(key.toLowerCase()) ?? LONG_NAMES.get(key.toLowerCase());
  if (spec) return spec;
  if (DOTTED_OID.test(key)) return { short: key, oid: key, tag: Tag.UTF8_STRING };
  throw new PkiError('SUBJECT_UNKNOWN_ATTRIBUTE', `unknown attribute "${key}" in subject "${subject}"`, {
    attribute: key,
  });
}

function checkValue(spec: AttributeSpec, value: string, subject: string): void {
  const ok =
    spec.tag === Tag.PRINTABLE_STRING ? PRINTABLE.test(value) : spec.tag === Tag.IA5_STRING ? IA5.test(value) : true;
  if (!ok) {
    throw new PkiError('SUBJECT_SYNTAX', `value of ${spec.short} has characters its string type cannot hold`, {
      attribute: spec.short,
      subject,
    });
  }
  if (spec.oid === Oid.countryName && value.length !== 2) {
    throw new PkiError('SUBJECT_SYNTAX', `C must be a two-letter country code, got "${value}"`, { subject });
  }
  // ub-common-name and friends (RFC 5280 Appendix A) are 64; longer names break other tools.
  if ([...value].length > 64 && spec.oid !== Oid.emailAddress) {
    throw new PkiError('SUBJECT_SYNTAX', `value of ${spec.short} is longer than 64 characters`, {
      attribute: spec.short,
      subject,
    });
  }
}

/**
 * Parses openssl's `-subj` syntax: `/K=V/K=V`, `+` joining attributes of one multi-valued RDN,
 * and `\` escaping the next character (so `\/`, `\+`, `\=`, `\\`). Values are encoded with the
 * string types openssl uses by default, so the DER matches an openssl-made name.
 */
export function parseSubjectString(subject: string): DistinguishedName {
  if (!subject.startsWith('/')) {
    throw new PkiError('SUBJECT_SYNTAX', `subject must look like /K=V/K=V, got "${subject}"`, { subject });
  }
  const rdns: AttributeTypeAndValue[][] = [];
  let current: AttributeTypeAndValue[] = [];
  let i = 1;
  const n = subject.length;
  if (n === 1) return encodeName([]);
  while (i <= n) {
    let key = '';
    while (i < n && subject[i] !== '=') {
      if (subject[i] === '\\') {
        i++;
        if (i >= n) throw new PkiError('SUBJECT_SYNTAX', 'escape character at end of subject', { subject });
      }
      key += subject[i];
      i++;
    }
    if (i >= n) throw new PkiError('SUBJECT_SYNTAX', `missing "=" after "${key}" in subject`, { subject });
    i++; // '='
    let value = '';
    let terminator = '';
    while (i < n) {
      const ch = subject[i] as string;
      if (ch === '\\') {
        i++;
        if (i >= n) throw new PkiError('SUBJECT_SYNTAX', 'escape character at end of subject', { subject });
        value += subject[i];
        i++;
        continue;
      }
      if (ch === '/' || ch === '+') {
        terminator = ch;
        break;
      }
      value += ch;
      i++;
    }
    i++; // skip the terminator (or step past the end)
    if (key.length === 0) throw new PkiError('SUBJECT_SYNTAX', `empty attribute name in subject "${subject}"`, { subject });
    if (value.length === 0) {
      throw new PkiError('SUBJECT_SYNTAX', `attribute ${key} has an empty value in subject "${subject}"`, { subject });
    }
    const spec = resolveAttribute(key, subject);
    checkValue(spec, value, subject);
    current.push({ type: spec.oid, valueTag: spec.tag, value });
    if (current.length > MAX_RDN_ATTRIBUTES) {
      throw new PkiError('SUBJECT_SYNTAX', `more than ${MAX_RDN_ATTRIBUTES} attributes in one RDN`, { subject });
    }
    if (terminator !== '+') {
      rdns.push(current);
      current = [];
      if (rdns.length > MAX_NAME_RDNS) throw new PkiError('SUBJECT_SYNTAX', `more than ${MAX_NAME_RDNS} RDNs`, { subject });
    }
    if (terminator === '') break;
    if (terminator === '/' && i >= n) break; // a trailing "/" is tolerated, as openssl does
  }
  if (current.length > 0) rdns.push(current);
  return encodeName(rdns);
}

function escapeOpenssl(value: string): string {
  return value.replace(/[\\/+=]/g, (c) => `\\${c}`);
}

/** `/O=acme/CN=dev-1`: the inverse of parseSubjectString. */
export function formatSubjectString(name: DistinguishedName): string {
  if (name.rdns.length === 0) return '/';
  return name.rdns
    .map((rdn) => '/' + rdn.map((atv) => `${attributeShortName(atv.type)}=${escapeOpenssl(atv.value)}`).join('+'))
    .join('');
}

/** `O=acme, CN=dev-1`: for people, in certificate order, like openssl's default one-line form. */
export function formatNameForDisplay(name: DistinguishedName): string {
  return name.rdns
    .map((rdn) => rdn.map((atv) => `${attributeShortName(atv.type)}=${atv.value}`).join(' + '))
    .join(', ');
}

/** Every value of one attribute type across all RDNs, in order. */
export function attributeValues(name: DistinguishedName, type: string): string[] {
  const values: string[] = [];
  for (const rdn of name.rdns) for (const atv of rdn) if (atv.type === type) values.push(atv.value);
  return values;
}

export function namesEqual(a: DistinguishedName, b: DistinguishedName): boolean {
  return a.der.equals(b.der);
}
