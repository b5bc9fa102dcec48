import type { Command } from 'commander';
import { registerDevicesGenerateCommand } from './devices-generate.js';
import { registerDevicesImportCommand } from './devices-import.js';
import { registerDevicesManagementCommands } from './devices-manage.js';

export function registerDevicesCommands(program: Command): void {
  const devices = program.command('devices').description('devices: make certificates for a factory line (generate), or manage them on a server');
  registerDevicesGenerateCommand(devices);
  registerDevicesManagementCommands(devices);
  registerDevicesImportCommand(devices);
}
