import type { DistinguishedName } from './name.js';

/** Bound on the work of one name comparison: names with more attributes never match loosely. */
const MAX_COMPARED_ATTRIBUTES = 64;

/**
 * RFC 5280 §7.1 name matching: the DER bytes first (what nearly every chain needs), then the
 * RFC 4518 string preparation the section asks for, reduced to what issuers actually vary:
 * case-insensitive, leading/trailing whitespace removed and inner runs collapsed, and
 * PrintableString and UTF8String compared by their text. Attribute order must match.
 */
export function namesMatch(a: DistinguishedName, b: DistinguishedName): boolean {
  if (a.der.equals(b.der)) return true;
  if (a.rdns.length !== b.rdns.length) return false;
  return rdnsMatch(a, b, a.rdns.length);
}

/**
 * Whether `constraint`'s RDNs are the first RDNs of `name`, compared as namesMatch compares:
 * the directoryName rule of name constraints (RFC 5280 §4.2.1.10, §7.1).
 */
export function nameWithinSubtree(name: DistinguishedName, constraint: DistinguishedName): boolean {
  if (constraint.rdns.length > name.rdns.length) return false;
  return rdnsMatch(name, constraint, constraint.rdns.length);
}

function rdnsMatch(a: DistinguishedName, b: DistinguishedName, count: number): boolean {
  let compared = 0;
  for (let i = 0; i < count; i++) {
    const x = a.rdns[i] ?? [];
    const y = b.rdns[i] ?? [];
    if (x.length !== y.length) return false;
    for (let j = 0; j < x.length; j++) {
      if (++compared > MAX_COMPARED_ATTRIBUTES) return false;
      const p = x[j];
      const q = y[j];
      if (!p || !q || p.type !== q.type) return false;
      // Non-string values (kept as "#hex") only match byte for byte, which the DER check did.
      if (p.value.startsWith('#') || q.value.startsWith('#')) {
        if (p.value !== q.value) return false;
        continue;
      }
      if (prepare(p.value) !== prepare(q.value)) return false;
    }
  }
  return true;
}

function prepare(value: string): string {
  return value.trim().replace(/\s+/g, ' ').toLowerCase();
}
