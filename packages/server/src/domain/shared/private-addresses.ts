import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Addresses a fetch or a delivery from this host must not reach on a customer's say-so (an SSRF
 * guard shared by CRL URLs and webhook targets): loopback, link-local, private, shared
 * (RFC 6598), unique-local, unspecified, multicast and reserved ranges. BlockList checks an
 * IPv4-mapped IPv6 address (::ffff:127.0.0.1) against the IPv4 ranges by itself; a ::ffff:0:0/96
 * entry would instead match every IPv4 address, public ones included.
 */
const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv6');
}

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

export function isPrivateAddress(address: string, family: 4 | 6): boolean {
  return PRIVATE.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** A URL's host without IPv6 brackets. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/** Every address `host` stands for (itself when it is an IP literal); throws when it does not resolve. */
export async function resolveHost(host: string): Promise<ResolvedAddress[]> {
  const literal = isIP(host);
  if (literal !== 0) return [{ address: host, family: literal as 4 | 6 }];
  return (await lookup(host, { all: true, verbatim: true })).map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
}

/** The first of `addresses` in a private range, if any: one such answer refuses the host (a resolver may rotate). */
export function firstPrivate(addresses: readonly ResolvedAddress[]): ResolvedAddress | undefined {
  return addresses.find(({ address, family }) => isPrivateAddress(address, family));
}
