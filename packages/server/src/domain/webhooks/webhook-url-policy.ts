import { ServiceError } from '../../service-error.js';
import { firstPrivate, hostOf, resolveHost, type ResolvedAddress } from '../shared/private-addresses.js';

/** Bound on a webhook URL: it is stored, shown and audited. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

function invalid(why: string): ServiceError {
  return new ServiceError('WEBHOOK_URL_INVALID', `the webhook URL is invalid: ${why}`, { reason: why });
}

function refused(why: string): ServiceError {
  return new ServiceError('WEBHOOK_URL_REFUSED', `the webhook URL is refused: ${why}`, { reason: why });
}

/** The URL's shape: http(s), bounded, no credentials, no fragment. WEBHOOK_URL_INVALID otherwise. */
export function parseWebhookUrl(url: string): URL {
  if (url.length > MAX_WEBHOOK_URL_LENGTH) throw invalid(`it is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid('it is not a URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw invalid('only http:// and https:// URLs receive webhooks');
  if (parsed.username || parsed.password) throw invalid('credentials in a URL are not sent; authenticate deliveries by their signature');
  if (parsed.hash) throw invalid('a URL with a #fragment');
  return parsed;
}

/**
 * Where a delivery may connect (an SSRF guard, checked at creation and before every attempt):
 * the address it resolves to now, refused with WEBHOOK_URL_REFUSED when it is loopback,
 * link-local or private (unless `serve --allow-private-webhooks`). The delivery connects to
 * exactly this address, so a name that resolves elsewhere a moment later (DNS rebinding) gains
 * nothing.
 */
export async function vetWebhookTarget(url: URL, allowPrivate: boolean): Promise<ResolvedAddress> {
  const host = hostOf(url);
  let addresses: ResolvedAddress[];
  try {
    addresses = await resolveHost(host);
  } catch {
    throw refused(`its host ${host} does not resolve`);
  }
  const chosen = addresses[0];
  if (chosen === undefined) throw refused(`its host ${host} does not resolve`);
  if (!allowPrivate) {
    const blocked = firstPrivate(addresses);
    if (blocked) throw refused(`its host resolves to ${blocked.address}, a loopback, link-local or private address (serve --allow-private-webhooks allows them)`);
  }
  return chosen;
}
