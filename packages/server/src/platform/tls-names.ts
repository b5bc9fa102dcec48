import { normalizeDnsName, parseIpAddress } from '@fleetpki/pki';
import { StartupError } from '../startup-error.js';

/** The names a server certificate carries: DNS names and IP addresses, split once. */
export interface ServerNames {
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly Buffer[];
}

export const DEFAULT_SERVER_HOSTNAMES: readonly string[] = ['localhost', '127.0.0.1'];

export function parseServerNames(hostnames: readonly string[]): ServerNames {
  const dnsNames: string[] = [];
  const ipAddresses: Buffer[] = [];
  for (const hostname of hostnames) {
    const ip = parseIpAddress(hostname);
    if (ip) {
      ipAddresses.push(ip);
      continue;
    }
    const dns = normalizeDnsName(hostname, false);
    if (!dns) throw new StartupError('INVALID_OPTION', `--hostname ${JSON.stringify(hostname)} is neither a DNS name nor an IP address`);
    dnsNames.push(dns);
  }
  if (dnsNames.length + ipAddresses.length === 0) throw new StartupError('INVALID_OPTION', 'the server certificate needs at least one --hostname');
  return { dnsNames, ipAddresses };
}
