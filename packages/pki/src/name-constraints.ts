import type { Certificate } from './certificate.js';
import { readerOver, sequenceReader } from './der/reader.js';
import { Tag } from './der/tags.js';
import { dnsNameWithin, normalizeDnsName } from './dns-name.js';
import { derMalformed } from './der/reader.js';
import { decodeGeneralNameElement, type GeneralName } from './extensions.js';
import { nameWithinSubtree } from './name-matching.js';
import { attributeValues, type DistinguishedName } from './name.js';
import { Oid } from './oids.js';

/** Subtrees per NameConstraints extension beyond this are refused: a hostile input bound. */
export const MAX_NAME_CONSTRAINT_SUBTREES = 256;
/** Name checks one validation may spend (names × subtrees): nc-dos chains stop here. */
export const MAX_NAME_CONSTRAINT_CHECKS = 1 << 20;

export type Subtree =
  | { readonly type: 'dns'; readonly value: string }
  | { readonly type: 'email'; readonly value: string }
  | { readonly type: 'uri'; readonly value: string }
  | { readonly type: 'ip'; readonly address: Buffer; readonly mask: Buffer }
  | { readonly type: 'directory'; readonly name: DistinguishedName }
  | { readonly type: 'other'; readonly tag: number };

export interface NameConstraints {
  readonly permitted: readonly Subtree[] | undefined;
  readonly excluded: readonly Subtree[] | undefined;
}

function isContiguousMask(mask: Buffer): boolean {
  let seenZero = false;
  for (const byte of mask) {
    for (let bit = 7; bit >= 0; bit--) {
      const set = (byte >> bit) & 1;
      if (set && seenZero) return false;
      if (!set) seenZero = true;
    }
  }
  return true;
}

function toSubtree(name: GeneralName, what: string): Subtree {
  switch (name.type) {
    case 'dns': {
      // A constraint is a domain, not a pattern: no wildcard, no leading period.
      if (name.value === '') return { type: 'dns', value: '' };
      const dns = normalizeDnsName(name.value, false);
      if (!dns) throw derMalformed(what, `invalid dNSName constraint "${name.value}"`);
      return { type: 'dns', value: dns };
    }
    case 'email': {
      const v = name.value;
      const at = v.indexOf('@');
      if (at >= 0 ? v.indexOf('@', at + 1) >= 0 || at === 0 || at === v.length - 1 : v.length === 0) {
        throw derMalformed(what, `invalid rfc822Name constraint "${v}"`);
      }
      return { type: 'email', value: v };
    }
    case 'uri':
      return { type: 'uri', value: name.value.toLowerCase() };
    case 'ip': {
      // RFC 5280 §4.2.1.10: address then mask, 8 octets for IPv4 and 32 for IPv6.
      const bytes = name.bytes;
      if ((bytes.length !== 8 && bytes.length !== 32) || !isContiguousMask(bytes.subarray(bytes.length / 2))) {
        throw derMalformed(what, 'invalid iPAddress constraint');
      }
      return { type: 'ip', address: bytes.subarray(0, bytes.length / 2), mask: bytes.subarray(bytes.length / 2) };
    }
    case 'directory':
      return { type: 'directory', name: name.value };
    case 'other':
      return { type: 'other', tag: name.tag };
  }
}

function parseSubtrees(el: { contents: Buffer }, what: string): Subtree[] {
  const reader = readerOver({ tag: 0, encoded: el.contents, contents: el.contents }, what);
  const out: Subtree[] = [];
  while (!reader.atEnd()) {
    if (out.length >= MAX_NAME_CONSTRAINT_SUBTREES) throw derMalformed(what, 'too many subtrees');
    const subtree = reader.enter(Tag.SEQUENCE, 'GeneralSubtree');
    const base = decodeGeneralNameElement(subtree.read(), what);
    // minimum is 0 (DEFAULT, so absent in DER) and maximum absent (RFC 5280 §4.2.1.10).
    if (!subtree.atEnd()) throw derMalformed(what, 'minimum/maximum in a GeneralSubtree are not allowed');
    out.push(toSubtree(base, what));
  }
  if (out.length === 0) throw derMalformed(what, 'empty GeneralSubtrees');
  return out;
}

export function decodeNameConstraints(value: Buffer): NameConstraints {
  const what = 'nameConstraints';
  const reader = sequenceReader(value, what);
  const permittedEl = reader.optional(0xa0);
  const excludedEl = reader.optional(0xa1);
  reader.expectEnd(what);
  // RFC 5280 §4.2.1.10: at least one of the two is present.
  if (!permittedEl && !excludedEl) throw derMalformed(what, 'neither permitted nor excluded subtrees');
  return {
    permitted: permittedEl ? parseSubtrees(permittedEl, what) : undefined,
    excluded: excludedEl ? parseSubtrees(excludedEl, what) : undefined,
  };
}

/** A name of a certificate as name constraints see it. */
type ConstrainedName =
  | { readonly type: 'dns'; readonly value: string; readonly wildcard: boolean }
  | { readonly type: 'email'; readonly local: string; readonly host: string; readonly raw: string }
  | { readonly type: 'uri'; readonly host: string | undefined }
  | { readonly type: 'ip'; readonly bytes: Buffer }
  | { readonly type: 'directory'; readonly name: DistinguishedName }
  | { readonly type: 'other'; readonly tag: number };

/** Thrown-free result: the names of a certificate, or why one of them is malformed. */
export function constrainedNames(cert: Certificate): ConstrainedName[] | string {
  const names: ConstrainedName[] = [];
  if (cert.subject.rdns.length > 0) names.push({ type: 'directory', name: cert.subject });
  for (const email of attributeValues(cert.subject, Oid.emailAddress)) {
    const parsed = parseEmail(email);
    if (!parsed) return `malformed emailAddress "${email}"`;
    names.push(parsed);
  }
  for (const san of cert.subjectAltNames ?? []) {
    switch (san.type) {
      case 'dns': {
        const dns = normalizeDnsName(san.value, true);
        if (!dns) return `malformed dNSName "${san.value}"`;
        names.push({ type: 'dns', value: dns.replace(/^\*\./, ''), wildcard: dns.startsWith('*.') });
        break;
      }
      case 'email': {
        const parsed = parseEmail(san.value);
        if (!parsed) return `malformed rfc822Name "${san.value}"`;
        names.push(parsed);
        break;
      }
      case 'uri': {
        const match = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)/i.exec(san.value);
        const rawHost = match?.[1];
        // A host that is not a plain DNS name (percent-encoded, trailing dot, IP literal) cannot be
        // judged against DNS-style constraints; it is kept as "no host", which fails closed below.
        names.push({ type: 'uri', host: rawHost === undefined ? undefined : normalizeDnsName(rawHost, false) });
        break;
      }
      case 'ip': {
        // ::ffff:a.b.c.d is the IPv4 address a.b.c.d: it meets IPv4 constraints as such.
        const mapped = san.bytes.length === 16 && san.bytes.subarray(0, 10).every((b) => b === 0) && san.bytes[10] === 0xff && san.bytes[11] === 0xff;
        names.push({ type: 'ip', bytes: mapped ? san.bytes.subarray(12) : san.bytes });
        break;
      }
      case 'directory':
        names.push({ type: 'directory', name: san.value });
        break;
      case 'other':
        names.push({ type: 'other', tag: san.tag });
        break;
    }
  }
  return names;
}

function parseEmail(raw: string): ConstrainedName | undefined {
  const at = raw.lastIndexOf('@');
  if (at <= 0 || at === raw.length - 1 || raw.indexOf('@') !== at) return undefined;
  const host = normalizeDnsName(raw.slice(at + 1), false);
  if (!host) return undefined;
  return { type: 'email', local: raw.slice(0, at), host, raw };
}

function sameType(name: ConstrainedName, subtree: Subtree): boolean {
  if (name.type === 'other' && subtree.type === 'other') return name.tag === subtree.tag;
  return name.type === subtree.type;
}

function hostWithin(host: string, constraint: string): boolean {
  // A leading "." means strictly below the domain (RFC 5280 §4.2.1.10, for URIs and mail).
  if (constraint.startsWith('.')) return host.endsWith(constraint);
  return host === constraint;
}

/** Whether a name lies in a subtree of its own type. */
function within(name: ConstrainedName, subtree: Subtree, forExclusion: boolean): boolean {
  if (name.type === 'dns' && subtree.type === 'dns') {
    if (!name.wildcard) return dnsNameWithin(name.value, subtree.value);
    // "*.a.example" may stand for any child of a.example: permitted only if the whole
    // parent is, excluded as soon as any child could be.
    return forExclusion ? dnsNameWithin(name.value, subtree.value) || dnsNameWithin(subtree.value, name.value) : dnsNameWithin(name.value, subtree.value);
  }
  if (name.type === 'email' && subtree.type === 'email') {
    const c = subtree.value;
    // Mailbox constraints compare local parts exactly (no wildcard meaning for "*").
    if (c.includes('@')) return `${name.local}@${name.host}` === `${c.slice(0, c.lastIndexOf('@'))}@${c.slice(c.lastIndexOf('@') + 1).toLowerCase()}`;
    return hostWithin(name.host, c.toLowerCase());
  }
  if (name.type === 'uri' && subtree.type === 'uri') {
    if (name.host === undefined || name.host.startsWith('[')) return false;
    return subtree.value.startsWith('.') ? name.host.endsWith(subtree.value) : name.host === subtree.value;
  }
  if (name.type === 'ip' && subtree.type === 'ip') {
    if (name.bytes.length !== subtree.address.length) return false;
    for (let i = 0; i < name.bytes.length; i++) {
      if (((name.bytes[i] as number) & (subtree.mask[i] as number)) !== ((subtree.address[i] as number) & (subtree.mask[i] as number))) return false;
    }
    return true;
  }
  if (name.type === 'directory' && subtree.type === 'directory') return nameWithinSubtree(name.name, subtree.name);
  if (name.type === 'other' && subtree.type === 'other') return forExclusion;
  return false;
}

export interface ConstraintBudget {
  checks: number;
}

/** The first name that breaks the constraints, described, or undefined when all are inside. */
export function nameConstraintViolation(names: readonly ConstrainedName[], constraints: NameConstraints, budget: ConstraintBudget): string | undefined {
  const subtreeCount = (constraints.permitted?.length ?? 0) + (constraints.excluded?.length ?? 0);
  for (const name of names) {
    budget.checks += subtreeCount;
    if (budget.checks > MAX_NAME_CONSTRAINT_CHECKS) return 'name-constraint check budget exhausted';
    const permittedOfType = constraints.permitted?.filter((s) => sameType(name, s)) ?? [];
    const excludedOfType = constraints.excluded?.filter((s) => sameType(name, s)) ?? [];
    if (name.type === 'uri' && name.host === undefined && permittedOfType.length + excludedOfType.length > 0) {
      return 'a URI without a DNS host cannot be checked against URI constraints';
    }
    if (permittedOfType.length > 0 && !permittedOfType.some((s) => within(name, s, false))) return `${describeName(name)} is outside the permitted subtrees`;
    if (excludedOfType.some((s) => within(name, s, true))) return `${describeName(name)} is in an excluded subtree`;
  }
  return undefined;
}

function describeName(name: ConstrainedName): string {
  switch (name.type) {
    case 'dns':
      return `DNS name ${name.wildcard ? '*.' : ''}${name.value}`;
    case 'email':
      return `email ${name.raw}`;
    case 'uri':
      return `URI host ${name.host ?? '(none)'}`;
    case 'ip':
      return `IP address ${name.bytes.toString('hex')}`;
    case 'directory':
      return 'the subject name';
    case 'other':
      return `a name of tag 0x${name.tag.toString(16)}`;
  }
}
