/** Bound on DNS name length (RFC 1035 §2.3.4): longer input is no DNS name. */
export const MAX_DNS_NAME_LENGTH = 253;

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A DNS name as certificates may carry it (RFC 5280 §4.2.1.6 preferred name syntax, RFC 1123
 * letters-digits-hyphens, A-labels only): lower-cased, or undefined when it is not one. With
 * `allowWildcard`, a leftmost "*" label is allowed (RFC 6125 §6.4.3) above at least two labels.
 */
export function normalizeDnsName(name: string, allowWildcard: boolean): string | undefined {
  if (name.length === 0 || name.length > MAX_DNS_NAME_LENGTH || !/^[\x21-\x7e]+$/.test(name)) return undefined;
  const lower = name.toLowerCase();
  const labels = lower.split('.');
  for (const [i, label] of labels.entries()) {
    if (i === 0 && label === '*' && allowWildcard) continue;
    if (!LABEL.test(label)) return undefined;
  }
  if (labels[0] === '*' && labels.length < 3) return undefined;
  // An all-numeric last label would make it an IP address in disguise.
  if (/^[0-9]+$/.test(labels[labels.length - 1] as string)) return undefined;
  return lower;
}

/** RFC 6125 §6.4: exact match, or a leftmost "*" standing for exactly one label. */
export function dnsNameMatches(pattern: string, host: string): boolean {
  if (!pattern.startsWith('*.')) return pattern === host;
  const suffix = pattern.slice(1);
  const dot = host.indexOf('.');
  return dot > 0 && host.slice(dot) === suffix;
}

/** RFC 5280 §4.2.1.10: a DNS constraint matches the name itself and every name below it. */
export function dnsNameWithin(name: string, constraint: string): boolean {
  if (constraint === '') return true;
  return name === constraint || name.endsWith(`.${constraint}`);
}
