import type { Command } from 'commander';
import type { ApiClient } from '../api-client.js';
import { apiClient, note, parseBoolean, printJson, withApiOptions, type ApiFlags } from '../api-command.js';
import type { Device } from '../api-types.js';
import { renderRecord, renderTable, type Column } from '../render-table.js';

type ProjectFlags = ApiFlags & { project: string };

const yesNo = (value: boolean | undefined): string | undefined => (value === undefined ? undefined : value ? 'yes' : 'no');

const DEVICE_COLUMNS: readonly Column<Device>[] = [
  { header: 'ID', value: (d) => d.id },
  { header: 'NAME', value: (d) => d.name },
  { header: 'CERTIFICATE ID', value: (d) => d.certificateId },
  { header: 'ENABLED', value: (d) => yesNo(d.enabled) },
  { header: 'PROVISIONING', value: (d) => d.provisioning },
  { header: 'LAST SEEN', value: (d) => d.lastSeenAt },
];

function deviceRecord(d: Device): string {
  return renderRecord([
    ['id', d.id],
    ['name', d.name],
    ['certificate ID', d.certificateId],
    ['enabled', yesNo(d.enabled)],
    ['provisioning', d.provisioning],
    ['created', d.createdAt],
    ['updated', d.updatedAt],
    ['last seen', d.lastSeenAt],
  ]);
}

function show(device: Device, flags: ApiFlags): void {
  if (flags.json) printJson(device);
  else process.stdout.write(deviceRecord(device));
}

async function setEnabled(client: ApiClient, project: string, id: string, enabled: boolean): Promise<Device> {
  return (await client.call('patch', '/v1/projects/{projectId}/devices/{deviceId}', { path: { projectId: project, deviceId: id }, body: { enabled } })).body;
}

/** `devices create|list|get|enable|disable|delete`: the devices of a project on a server. */
export function registerDevicesManagementCommands(devices: Command): void {
  const withProject = (command: Command): Command => withApiOptions(command.requiredOption('--project <slug>', 'project slug'));

  withProject(
    devices
      .command('create')
      .description('pre-provision a device by name on the server (its first certificate with CN = name is associated)')
      .argument('<name>', 'device name')
      .option('--certificate-id <id>', 'the certificate ID (CN) the device will present, when known up front')
      .option('--disabled', 'create it disabled'),
  ).action(async (name: string, flags: ProjectFlags & { certificateId?: string; disabled?: boolean }) => {
    const body = { name, certificateId: flags.certificateId, enabled: flags.disabled ? false : undefined };
    show((await apiClient(flags).call('post', '/v1/projects/{projectId}/devices', { path: { projectId: flags.project }, body })).body, flags);
  });

  withProject(
    devices
      .command('list')
      .description('list every device of the project on the server, optionally filtered')
      .option('--certificate-id <id>', 'only the device with this certificate ID')
      .option('--name <name>', 'only the device with this name')
      .option('--enabled <bool>', 'only enabled (true) or disabled (false) devices'),
  ).action(async (flags: ProjectFlags & { certificateId?: string; name?: string; enabled?: string }) => {
    // The query carries the flag as the document spells it: the text true or false.
    const enabled = flags.enabled === undefined ? undefined : parseBoolean(flags.enabled, '--enabled') ? 'true' : 'false';
    const client = apiClient(flags);
    const list = await client.listAll('/v1/projects/{projectId}/devices', { path: { projectId: flags.project }, query: { certificateId: flags.certificateId, name: flags.name, enabled } });
    if (flags.json) printJson(list);
    else process.stdout.write(renderTable(DEVICE_COLUMNS, list));
  });

  withProject(devices.command('get').description('show a device on the server').argument('<id>', 'device ID')).action(async (id: string, flags: ProjectFlags) => {
    show((await apiClient(flags).call('get', '/v1/projects/{projectId}/devices/{deviceId}', { path: { projectId: flags.project, deviceId: id } })).body, flags);
  });

  withProject(devices.command('disable').description('disable a device: it is refused when it connects, until enabled again').argument('<id>', 'device ID')).action(
    async (id: string, flags: ProjectFlags) => show(await setEnabled(apiClient(flags), flags.project, id, false), flags),
  );

  withProject(devices.command('enable').description('let a disabled device connect again').argument('<id>', 'device ID')).action(async (id: string, flags: ProjectFlags) =>
    show(await setEnabled(apiClient(flags), flags.project, id, true), flags),
  );

  withProject(devices.command('delete').description('delete a device from the server').argument('<id>', 'device ID')).action(async (id: string, flags: ProjectFlags) => {
    await apiClient(flags).call('delete', '/v1/projects/{projectId}/devices/{deviceId}', { path: { projectId: flags.project, deviceId: id } });
    note(`deleted device ${id} from project ${flags.project}`);
  });
}
