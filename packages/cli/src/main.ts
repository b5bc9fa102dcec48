import { isPkiError } from '@fleetpki/pki';
import type { StartupError } from '@fleetpki/server';
import { Command, CommanderError } from 'commander';
import { ApiClientError, ApiProblemError } from './api-error.js';
import { CliError } from './cli-error.js';
import { registerApiKeysCommands } from './commands/api-keys.js';
import { registerBackupCommands } from './commands/backup.js';
import { registerMasterKeyCommands } from './commands/master-key.js';
import { registerCaCommands } from './commands/ca-create.js';
import { registerCertCommands } from './commands/cert-sign.js';
import { registerCertificatesCommands } from './commands/certificates.js';
import { registerConvertCommand } from './commands/convert.js';
import { registerCsrCommands } from './commands/csr-create.js';
import { registerDevicesCommands } from './commands/devices.js';
import { registerDeviceCertificatesCommands } from './commands/device-certificates.js';
import { registerDeviceClientCommands } from './commands/device.js';
import { registerInspectCommand } from './commands/inspect.js';
import { registerKeyCommands } from './commands/key-create.js';
import { registerPkiCommands } from './commands/pki.js';
import { registerProjectsCommands } from './commands/projects.js';
import { registerServeCommand } from './commands/serve.js';
import { registerServerCaCommand } from './commands/server-ca.js';
import { registerTokenKeysCommands } from './commands/token-keys.js';
import { registerVerifyCommand } from './commands/verify.js';
import { API_PROBLEM_EXIT_STATUS, EXIT_STATUS_BY_CODE, ExitStatus } from './exit-status.js';
import { ReportedFailure } from './reported-failure.js';

export function buildProgram(): Command {
  const program = new Command('fleetpki')
    .description('certificate-based device authentication for IoT fleets: offline PKI, the platform server, and its management client')
    .version('0.1.0')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  registerKeyCommands(program);
  registerCaCommands(program);
  registerCsrCommands(program);
  registerCertCommands(program);
  registerConvertCommand(program);
  registerInspectCommand(program);
  registerVerifyCommand(program);
  registerDevicesCommands(program);
  registerServeCommand(program);
  registerBackupCommands(program);
  registerMasterKeyCommands(program);
  registerProjectsCommands(program);
  registerCertificatesCommands(program);
  registerDeviceCertificatesCommands(program);
  registerDeviceClientCommands(program);
  registerApiKeysCommands(program);
  registerServerCaCommand(program);
  registerTokenKeysCommands(program);
  registerPkiCommands(program);
  // Subcommands inherit exitOverride only when it is set on them too.
  const overrideAll = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(overrideAll);
  };
  overrideAll(program);
  return program;
}

/** Runs the CLI and returns its exit status; errors are one line: `fleetpki: CODE: message`. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitStatus.OK;
  } catch (err) {
    if (err instanceof ReportedFailure) return EXIT_STATUS_BY_CODE[err.code];
    if (err instanceof CommanderError) {
      // Commander has printed help or its own message already.
      return err.exitCode === 0 ? ExitStatus.OK : ExitStatus.USAGE;
    }
    if (err instanceof ApiProblemError) {
      // The server's code and detail, as the server said them (the detail escaped for the terminal).
      process.stderr.write(`fleetpki: ${err.code}: ${err.message}\n`);
      return API_PROBLEM_EXIT_STATUS;
    }
    const known = isPkiError(err) || err instanceof CliError || err instanceof ApiClientError ? err : await asStartupError(err);
    if (known) {
      process.stderr.write(`fleetpki: ${known.code}: ${known.message}\n`);
      return EXIT_STATUS_BY_CODE[known.code];
    }
    process.stderr.write(`fleetpki: INTERNAL: ${(err as Error).stack ?? String(err)}\n`);
    return ExitStatus.INTERNAL;
  }
}

/**
 * Only `serve` throws StartupError, and it has loaded the server package by then, so this import
 * is the cached module; other commands never load it (serve-defaults.ts says why).
 */
async function asStartupError(err: unknown): Promise<StartupError | undefined> {
  const { StartupError: StartupErrorClass } = await import('@fleetpki/server');
  return err instanceof StartupErrorClass ? err : undefined;
}
