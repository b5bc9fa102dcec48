import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The command users run: `fleetpki serve`, as a separate process we can SIGTERM and SIGKILL. */
export const FLEETPKI_BIN = resolve(here, '../../../../cli/bin/fleetpki.js');
const START_TIMEOUT_MS = 30_000;

export interface LogLine {
  readonly msg: string;
  readonly level: string;
  readonly [field: string]: unknown;
}

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** The device gateway (HTTPS with client certificates). */
  readonly gatewayUrl: string;
  /** MQTT over TLS and CoAP over DTLS, as the gateway's start announced them. */
  readonly mqttUrl: string;
  readonly coapUrl: string;
  readonly logs: LogLine[];
  readonly stderr: () => string;
  /** Sends a signal and waits for the exit. */
  stop(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `fleetpki serve` on a free port and resolves once the management API listens. */
export function spawnServe(args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [FLEETPKI_BIN, 'serve', '--http-port', '0', '--gateway-port', '0', '--mqtt-port', '0', '--coap-port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  const logs: LogLine[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  return new Promise((resolveStart, rejectStart) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rejectStart(new Error(`fleetpki serve did not start within ${START_TIMEOUT_MS} ms: ${stderr}`));
    }, START_TIMEOUT_MS);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      rejectStart(Object.assign(new Error(`fleetpki serve exited ${code} before listening: ${stderr}`), { exitCode: code, stderr }));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: LogLine;
      try {
        entry = JSON.parse(line) as LogLine;
      } catch {
        return;
      }
      logs.push(entry);
      if (entry.msg === 'management API listening') {
        clearTimeout(timer);
        resolveStart({
          child,
          url: entry['url'] as string,
          gatewayUrl: logs.find((l) => l.msg === 'device gateway listening')?.['url'] as string,
          mqttUrl: logs.find((l) => l.msg === 'device gateway listening')?.['mqtt'] as string,
          coapUrl: logs.find((l) => l.msg === 'device gateway listening')?.['coap'] as string,
          logs,
          stderr: () => stderr,
          stop(signal) {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    });
  });
}

/** Runs `fleetpki serve` expecting it to refuse to start; returns its exit status and stderr. */
export async function serveRefusal(args: readonly string[]): Promise<{ exitCode: number; stderr: string }> {
  try {
    const started = await spawnServe(args);
    await started.stop('SIGKILL');
    throw new Error('fleetpki serve started but was expected to refuse');
  } catch (error) {
    const e = error as { exitCode?: number; stderr?: string };
    if (e.exitCode === undefined) throw error;
    return { exitCode: e.exitCode, stderr: e.stderr ?? '' };
  }
}
