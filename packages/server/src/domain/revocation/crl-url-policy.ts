import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { ServiceError } from '../../service-error.js';

/**
 * Where the server may fetch a CA's CRL from (issue 16: an SSRF guard): http or https only, and
 * no address a fetch from this host should reach on a customer's say-so — loopback, link-local,
 * private, unique-local, unspecified, multicast — unless the server runs with
 * `--allow-private-crl-urls`. Checked when the URL is set and again before every fetch (the
 * name may resolve elsewhere by then).
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
  ['::ffff:0:0', 96],
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv6');
}

/** Bound on a CRL URL: it is stored, shown and audited. */
export const MAX_CRL_URL_LENGTH = 2048;

function refused(url: string, why: string): ServiceError {
  return new ServiceError('CRL_URL_REFUSED', `the CRL URL ${JSON.stringify(url.slice(0, 200))} is refused: ${why}`, { reason: why });
}

/** Resolves `url`'s host and refuses it when the policy does; answers the URL parsed. */
export async function checkCrlUrl(url: string, allowPrivate: boolean): Promise<URL> {
  if (url.length > MAX_CRL_URL_LENGTH) throw refused(url, `it is longer than ${MAX_CRL_URL_LENGTH} characters`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw refused(url, 'it is not a URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw refused(url, 'only http:// and https:// are fetched');
  if (parsed.username || parsed.password) throw refused(url, 'credentials in a URL are not sent');
  if (allowPrivate) return parsed;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  let addresses: { address: string; family: number }[];
  try {
    addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await lookup(host, { all: true, verbatim: true });
  } catch {
    throw refused(url, `its host ${host} does not resolve`);
  }
  for (const { address, family } of addresses) {
    if (PRIVATE.check(address, family === 6 ? 'ipv6' : 'ipv4')) throw refused(url, `its host resolves to ${address}, a loopback, link-local or private address (serve --allow-private-crl-urls allows them)`);
  }
  return parsed;
}
