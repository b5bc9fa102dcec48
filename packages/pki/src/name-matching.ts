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
  let compared = 0;
  for (let i = 0; i < a.rdns.length; i++) {
    const x = a.rdns[i] ?? [];
    const y = b.rdns[i] ?? [];
    if (x.length !== y.length) return false;
    for (let j = 0; j < x.length; j++) {
      if (++compared > MAX_COMPARED_ATTRIBUTES) return false;
      const p = x[j];
      const q = y[j];
      if (!p || !q || p.type !== q.type) return false;
      // Non-string values (kept as "#hex") only match byte for byte, which the DER check did.
      if (p.value.startsWith('#') || q.value.startsWith('#')) return false;
      if (prepare(p.value) !== prepare(q.value)) return false;
    }
  }
  return true;
}

function prepare(value: string): string {
  return value.trim().replace(/\s+/g, ' ').toLowerCase();
}
