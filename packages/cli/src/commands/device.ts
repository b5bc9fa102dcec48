import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { printJson } from '../api-command.js';
import { CliError } from '../cli-error.js';
import { askIdentity, renewCertificate, type DeviceFiles, type Renewal } from '../device-client/renew-certificate.js';
import type { IdentityAnswer } from '../device-client/device-gateway.js';
import { renderRecord } from '../render-table.js';

type DeviceFlags = { cert: string; key: string; serverCa?: string; url?: string; json?: boolean };
type RenewFlags = DeviceFlags & { force?: boolean; watch?: boolean; pollSeconds: string };

/** Where the gateway is when --url is not given. */
const GATEWAY_URL_ENV = 'FLEETPKI_GATEWAY_URL';
/** --watch retries a failed step after this, doubling up to the cap. */
const RETRY_MS = 5_000;
const MAX_RETRY_MS = 5 * 60_000;

function filesOf(flags: DeviceFlags): DeviceFiles {
  const url = flags.url ?? process.env[GATEWAY_URL_ENV];
  if (!url) throw new CliError('USAGE', `give --url https://host:port or coaps://host:port (or set ${GATEWAY_URL_ENV})`);
  return { certPath: flags.cert, keyPath: flags.key, serverCaPath: flags.serverCa, url };
}

function withDeviceOptions(command: Command): Command {
  return command
    .requiredOption('--cert <file>', 'the device certificate (PEM; a chain file works too)')
    .requiredOption('--key <file>', 'its private key (PEM)')
    .option('--server-ca <file>', 'the server CA to check the gateway against (fleetpki server-ca); default: the system CAs')
    .option('--url <url>', `the gateway: https://host:8443 or coaps://host:5684 (default: $${GATEWAY_URL_ENV})`)
    .option('--json', 'print JSON');
}

function showIdentity(answer: IdentityAnswer, json: boolean | undefined): void {
  if (json) printJson(answer);
  else
    process.stdout.write(
      renderRecord([
        ['project', answer.projectId],
        ['certificate ID', answer.certificateId],
        ['device', `${answer.deviceName} (${answer.deviceId})`],
        ['provisioning', answer.provisioning],
        ['fingerprint', answer.certificate?.fingerprintSha256],
        ['not after', answer.certificate?.notAfter],
        ['renew after', answer.certificate?.renewAfter],
      ]),
    );
}

function showRenewal(renewal: Renewal, json: boolean | undefined): void {
  if (json) printJson(renewal);
  else process.stderr.write(`fleetpki: renewed ${renewal.previous.fingerprintSha256} → ${renewal.renewed.certificate?.fingerprintSha256}; new certificate valid until ${renewal.renewed.certificate?.notAfter}, renew after ${renewal.renewed.certificate?.renewAfter}; the old files are *.prev\n`);
}

const isDue = (answer: IdentityAnswer, now = Date.now()): boolean => answer.certificate !== undefined && Date.parse(answer.certificate.renewAfter) <= now;

/**
 * `fleetpki device identity|renew` (issue 17, 5): the device side of the gateway, for fleets to
 * exercise end to end and for firmware teams as a reference.
 */
export function registerDeviceClientCommands(program: Command): void {
  const device = program.command('device').description('act as a device: ask the gateway who it is, renew its certificate (HTTPS or CoAP/DTLS)');
  withDeviceOptions(device.command('identity').description('print what the gateway answers this device: who it is, and when to renew')).action(async (flags: DeviceFlags) => {
    showIdentity(await askIdentity(filesOf(flags)), flags.json);
  });
  withDeviceOptions(
    device
      .command('renew')
      .description('a new key and certificate through POST /v1/csr, checked at the gateway, then written over the old files (kept as *.prev)')
      .option('--force', 'renew now even if the certificate’s renewAfter has not come')
      .option('--watch', 'keep running: renew each time renewAfter passes (a long-running device process; stops on SIGINT/SIGTERM)')
      .option('--poll-seconds <n>', 'with --watch: ask the gateway at least this often (a forced renewal is seen then)', '3600'),
  ).action(async (flags: RenewFlags) => {
    const files = filesOf(flags);
    if (!flags.watch) {
      if (!flags.force) {
        const answer = await askIdentity(files);
        if (!isDue(answer)) {
          process.stderr.write(`fleetpki: not due: renew after ${answer.certificate?.renewAfter ?? '(no certificate)'}; --force renews now\n`);
          if (flags.json) printJson({ renewed: false, identity: answer });
          return;
        }
      }
      showRenewal(await renewCertificate(files), flags.json);
      return;
    }
    const pollMs = Number(flags.pollSeconds) * 1000;
    if (!Number.isFinite(pollMs) || pollMs < 1000) throw new CliError('USAGE', '--poll-seconds takes a number of seconds, at least 1');
    await watch(files, pollMs, flags);
  });
}

/** --watch: ask, renew when due, sleep until the window or the next poll; retry failures with backoff. */
async function watch(files: DeviceFiles, pollMs: number, flags: RenewFlags): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let retryMs = RETRY_MS;
  let forceNext = flags.force === true;
  try {
    while (!stop.signal.aborted) {
      let waitMs: number;
      try {
        const answer = await askIdentity(files);
        if (forceNext || isDue(answer)) {
          showRenewal(await renewCertificate(files), flags.json);
          forceNext = false;
          continue;
        }
        waitMs = Math.min(Math.max(Date.parse(answer.certificate?.renewAfter ?? '') - Date.now(), 0) || pollMs, pollMs);
        retryMs = RETRY_MS;
      } catch (error) {
        process.stderr.write(`fleetpki: ${(error as { code?: string }).code ?? 'ERROR'}: ${(error as Error).message}; trying again in ${retryMs / 1000} s\n`);
        waitMs = retryMs;
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
      }
      await sleep(waitMs, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
