import type { Command } from 'commander';
import { apiClient, printJson, withApiOptions, type ApiFlags } from '../api-command.js';
import type { Project, ProjectSettings } from '../api-types.js';
import { CliError } from '../cli-error.js';
import { renderRecord } from '../render-table.js';

/**
 * `--set name=value` as the API takes it: a setting's value is JSON when it reads as JSON (a
 * number, true/false, a list such as [30,7,1]), else the text itself (`staleCrl=refuse`). The server's schema says which
 * names and values exist, and refuses the rest with VALIDATION_FAILED.
 */
export function parseSetting(assignment: string): [string, unknown] {
  const at = assignment.indexOf('=');
  if (at <= 0) throw new CliError('USAGE', `--set takes name=value, got "${assignment}"`);
  const name = assignment.slice(0, at);
  const text = assignment.slice(at + 1);
  let value: unknown = text;
  if (/^(-?\d+(\.\d+)?|true|false)$/.test(text)) value = JSON.parse(text);
  else if (text.startsWith('[')) {
    try {
      value = JSON.parse(text);
    } catch {
      throw new CliError('USAGE', `--set ${name}= takes a JSON list such as [30,7,1], got "${text}"`);
    }
  }
  return [name, value];
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `fleetpki projects settings SLUG [--set name=value …]` (DESIGN §8). */
export function registerProjectSettingsCommand(projects: Command): void {
  withApiOptions(
    projects
      .command('settings')
      .description('show a project’s settings, or change some with --set name=value (durations in seconds)')
      .argument('<slug>', 'project slug')
      .option('--set <name=value>', 'a setting to change (repeatable), e.g. staleCrl=refuse, crlValiditySeconds=86400', collect),
  ).action(async (slug: string, flags: ApiFlags & { set?: string[] }) => {
    const client = apiClient(flags);
    let project: Project;
    if (flags.set && flags.set.length > 0) {
      const settings = Object.fromEntries(flags.set.map(parseSetting)) as Partial<ProjectSettings>;
      project = (await client.call('patch', '/v1/projects/{projectId}', { path: { projectId: slug }, body: { settings } })).body;
    } else {
      project = (await client.call('get', '/v1/projects/{projectId}', { path: { projectId: slug } })).body;
    }
    if (flags.json) printJson(project.settings);
    else process.stdout.write(renderRecord(Object.entries(project.settings).map(([name, value]) => [name, String(value)])));
  });
}
