import { firstPrivate, hostOf, resolveHost, type ResolvedAddress } from '../shared/private-addresses.js';
import { ServiceError } from '../../service-error.js';

/**
 * Where the server may fetch a CA's CRL from (issue 16: an SSRF guard): http or https only, and
 * no address a fetch from this host should reach on a customer's say-so (shared/private-addresses.ts)
 * unless the server runs with `--allow-private-crl-urls`. Checked when the URL is set and again
 * before every fetch (the name may resolve elsewhere by then).
 */

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
  const host = hostOf(parsed);
  let addresses: ResolvedAddress[];
  try {
    addresses = await resolveHost(host);
  } catch {
    throw refused(url, `its host ${host} does not resolve`);
  }
  const blocked = firstPrivate(addresses);
  if (blocked) throw refused(url, `its host resolves to ${blocked.address}, a loopback, link-local or private address (serve --allow-private-crl-urls allows them)`);
  return parsed;
}
