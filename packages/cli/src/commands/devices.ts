import type { Command } from 'commander';
import { registerDevicesGenerateCommand } from './devices-generate.js';

export function registerDevicesCommands(program: Command): void {
  const devices = program.command('devices').description('devices');
  registerDevicesGenerateCommand(devices);
}
