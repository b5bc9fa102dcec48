import type { Command } from 'commander';
import { API_KEY_ENV, ApiClient, DEFAULT_SERVER_URL, resolveApiKey, resolveServerUrl, SERVER_ENV } from './api-client.js';
import { CliError } from './cli-error.js';
import { printableLine } from './terminal-text.js';

/** The flags every management command takes. */
export interface ApiFlags {
  readonly server?: string;
  readonly apiKey?: string;
  readonly json?: boolean;
}

/**
 * Adds --server, --api-key and --json to a management command. A public endpoint accepts
 * --api-key too, so one set of flags works for every command, but never sends it.
 */
export function withApiOptions(command: Command, endpoint: 'keyed' | 'public' = 'keyed'): Command {
  return command
    .option('--server <url>', `management API base URL (else $${SERVER_ENV}, else ${DEFAULT_SERVER_URL})`)
    .option(
      '--api-key <key>',
      endpoint === 'public' ? 'accepted but not sent: this endpoint is public' : `API key (else $${API_KEY_ENV}); prefer the variable: flags show in the process list`,
    )
    .option('--json', endpoint === 'public' ? 'print JSON ({certificateContent, pem}) instead' : "print the API's JSON instead of a table (lists: one array of every item)");
}

/** A client for a command that needs a key: a missing key is a usage error before any request. */
export function apiClient(flags: ApiFlags): ApiClient {
  const key = resolveApiKey(flags.apiKey);
  return new ApiClient(resolveServerUrl(flags.server), key);
}

/** A client for the public endpoints, which never sends a key. */
export function publicApiClient(flags: ApiFlags): ApiClient {
  return new ApiClient(resolveServerUrl(flags.server), undefined);
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** A note for people (what was done); stdout stays for data. */
export function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** A warning the server attached to a success, as `fleetpki: warning: CODE: message`. */
export function warn(code: string, message: string): void {
  process.stderr.write(`fleetpki: warning: ${printableLine(code, 64)}: ${printableLine(message)}\n`);
}

/** `--enabled true|false` and similar: commander passes strings. */
export function parseBoolean(value: string, flag: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new CliError('USAGE', `${flag} must be true or false, got "${value}"`);
}
