import type { Command } from 'commander';
import { apiClient, printJson, withApiOptions, type ApiFlags } from '../api-command.js';
import type { TokenKey } from '../api-types.js';
import { renderRecord, renderTable, type Column } from '../render-table.js';

const TOKEN_KEY_COLUMNS: readonly Column<TokenKey>[] = [
  { header: 'KID', value: (k) => k.kid },
  { header: 'STATE', value: (k) => k.state },
  { header: 'CREATED', value: (k) => k.createdAt },
  { header: 'SIGNS FROM', value: (k) => k.activatesAt },
  { header: 'SUPERSEDED', value: (k) => k.supersededAt },
  { header: 'RETIRES', value: (k) => k.retiresAt },
];

/**
 * `fleetpki token-keys list|rotate` (admin key): the keys that sign device identity tokens
 * (RFC 8705). A rotation publishes the new key at once and lets it sign after the server's
 * publish lead; the old key stays in the JWKS until its last token has expired.
 */
export function registerTokenKeysCommands(program: Command): void {
  const tokenKeys = program.command('token-keys').description('the keys that sign device identity tokens (admin key; management API)');

  withApiOptions(tokenKeys.command('list').description('list the signing keys, newest first, with their states (pending, active, retiring, retired)')).action(async (flags: ApiFlags) => {
    const { body } = await apiClient(flags).call('get', '/v1/token-keys', {});
    if (flags.json) printJson(body.list);
    else process.stdout.write(renderTable(TOKEN_KEY_COLUMNS, body.list));
  });

  withApiOptions(tokenKeys.command('rotate').description('make a new signing key now: published at once, it signs from its activatesAt')).action(async (flags: ApiFlags) => {
    const { body } = await apiClient(flags).call('post', '/v1/token-keys', {});
    if (flags.json) printJson(body);
    else
      process.stdout.write(
        renderRecord([
          ['kid', body.kid],
          ['state', body.state],
          ['created', body.createdAt],
          ['signs from', body.activatesAt],
        ]),
      );
  });
}
