import type { Command } from 'commander';
import { apiClient, note, printJson, withApiOptions, type ApiFlags } from '../api-command.js';
import type { Project } from '../api-types.js';
import { renderRecord, renderTable, type Column } from '../render-table.js';
import { registerProjectSettingsCommand } from './projects-settings.js';

const PROJECT_COLUMNS: readonly Column<Project>[] = [
  { header: 'SLUG', value: (p) => p.slug },
  { header: 'NAME', value: (p) => p.name },
  { header: 'CREATED', value: (p) => p.createdAt },
];

function projectRecord(p: Project): string {
  return renderRecord([
    ['slug', p.slug],
    ['name', p.name],
    ['created', p.createdAt],
    ['updated', p.updatedAt],
  ]);
}

function show(project: Project, flags: ApiFlags): void {
  if (flags.json) printJson(project);
  else process.stdout.write(projectRecord(project));
}

export function registerProjectsCommands(program: Command): void {
  const projects = program.command('projects').description('projects on a fleetpki server (management API)');

  withApiOptions(
    projects
      .command('create')
      .description('create a project (admin key)')
      .requiredOption('--name <name>', 'display name')
      .option('--slug <slug>', 'project ID in paths and O= of device certificates (default: derived from --name)'),
  ).action(async (flags: ApiFlags & { name: string; slug?: string }) => {
    const { body } = await apiClient(flags).call('post', '/v1/projects', { body: { name: flags.name, slug: flags.slug } });
    show(body, flags);
  });

  withApiOptions(projects.command('list').description('list every project the key can see')).action(async (flags: ApiFlags) => {
    const list = await apiClient(flags).listAll('/v1/projects');
    if (flags.json) printJson(list);
    else process.stdout.write(renderTable(PROJECT_COLUMNS, list));
  });

  withApiOptions(projects.command('get').description('show a project').argument('<slug>', 'project slug')).action(async (slug: string, flags: ApiFlags) => {
    const { body } = await apiClient(flags).call('get', '/v1/projects/{projectId}', { path: { projectId: slug } });
    show(body, flags);
  });

  withApiOptions(
    projects.command('delete').description('delete a project with its CA certificates, devices and API keys (admin key)').argument('<slug>', 'project slug'),
  ).action(async (slug: string, flags: ApiFlags) => {
    await apiClient(flags).call('delete', '/v1/projects/{projectId}', { path: { projectId: slug } });
    note(`deleted project ${slug}`);
  });
  registerProjectSettingsCommand(projects);
}
