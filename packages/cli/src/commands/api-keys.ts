import type { Command } from 'commander';
import { apiClient, note, printJson, withApiOptions, type ApiFlags } from '../api-command.js';
import { ApiClientError } from '../api-error.js';
import type { ApiKey, ApiKeyCreate } from '../api-types.js';
import { CliError } from '../cli-error.js';
import { renderRecord, renderTable, type Column } from '../render-table.js';
import { printableLine } from '../terminal-text.js';

type ProjectFlags = ApiFlags & { project: string };

/** `--scope` may be given more than once, or as a comma-separated list. */
function collectScopes(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((scope) => scope.trim()).filter((scope) => scope !== '')];
}

const API_KEY_COLUMNS: readonly Column<ApiKey>[] = [
  { header: 'ID', value: (k) => k.id },
  { header: 'NAME', value: (k) => k.name },
  { header: 'PREFIX', value: (k) => k.prefix },
  { header: 'SCOPES', value: (k) => k.scopes.join(',') },
  { header: 'CREATED', value: (k) => k.createdAt },
  { header: 'REVOKED', value: (k) => k.revokedAt },
];

function apiKeyRecord(k: ApiKey): string {
  return renderRecord([
    ['id', k.id],
    ['name', k.name],
    ['prefix', k.prefix],
    ['scopes', k.scopes.join(', ')],
    ['created', k.createdAt],
    ['revoked', k.revokedAt],
  ]);
}

export function registerApiKeysCommands(program: Command): void {
  const apiKeys = program.command('api-keys').description("a project's API keys: they reach that project only (management API)");
  const withProject = (command: Command): Command => withApiOptions(command.requiredOption('--project <slug>', 'project slug'));

  withProject(
    apiKeys
      .command('create')
      .description('create a project API key; its secret is printed this once')
      .option('--name <name>', 'what the key is for')
      .option('--scope <scope>', 'what the key may do: api (the management API, the default), mqtt:subscribe, mqtt:publish (an application on the MQTT broker); repeat or comma-separate', collectScopes),
  ).action(
    async (flags: ProjectFlags & { name?: string; scope?: string[] }) => {
      // The server checks the names (VALIDATION_FAILED), so the CLI never lags behind its catalog.
      const scopes = flags.scope as ApiKeyCreate['scopes'];
      const { body } = await apiClient(flags).call('post', '/v1/projects/{projectId}/api-keys', { path: { projectId: flags.project }, body: { name: flags.name, ...(scopes ? { scopes } : {}) } });
      if (flags.json) {
        printJson(body);
        return;
      }
      if (typeof body.key !== 'string' || !/^[\x21-\x7e]+$/.test(body.key)) throw new ApiClientError('SERVER_RESPONSE_INVALID', 'the server created a key but sent no printable secret');
      // The secret alone on stdout, so KEY=$(fleetpki api-keys create …) captures exactly it;
      // the explanation on stderr, where a person at a terminal sees it too.
      note(
        `created API key ${printableLine(body.id)} (${printableLine(body.name)}, prefix ${printableLine(body.prefix)}) for project ${flags.project}.\n` +
          'Its secret follows. It is shown only this once and cannot be retrieved later: store it now (e.g. as FLEETPKI_API_KEY).',
      );
      process.stdout.write(`${body.key}\n`);
    },
  );

  withProject(apiKeys.command('list').description("list the project's API keys (never their secrets), revoked ones too")).action(async (flags: ProjectFlags) => {
    const list = await apiClient(flags).listAll('/v1/projects/{projectId}/api-keys', { path: { projectId: flags.project } });
    if (flags.json) printJson(list);
    else process.stdout.write(renderTable(API_KEY_COLUMNS, list));
  });

  withProject(apiKeys.command('revoke').description('revoke an API key: it stops working at once').argument('<id>', 'API key ID (not the secret)')).action(
    async (id: string, flags: ProjectFlags) => {
      // A secret in the path would land in the server's request log.
      if (id.startsWith('fpk_')) throw new CliError('USAGE', 'that is an API key secret, not its ID: pass the ID that `fleetpki api-keys list` shows');
      const { body } = await apiClient(flags).call('delete', '/v1/projects/{projectId}/api-keys/{apiKeyId}', { path: { projectId: flags.project, apiKeyId: id } });
      if (flags.json) printJson(body);
      else process.stdout.write(apiKeyRecord(body));
    },
  );
}
