import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CLI_BIN } from './cli.js';

export interface ServeChild {
  readonly url: string;
  readonly gatewayUrl: string;
  /** coaps://127.0.0.1:port */
  readonly coapUrl: string;
  /** SIGTERM, then the exit status (at once when it has already exited). */
  stop(): Promise<number | null>;
}

/** `fleetpki serve` as a child process on free ports, `env` added; resolves once its API listens. */
export async function serveChild(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<ServeChild> {
  const child = spawn(process.execPath, [CLI_BIN, 'serve', '--http-port', '0', '--gateway-port', '0', '--mqtt-port', '0', '--coap-port', '0', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.resume();
  let gatewayUrl = '';
  let coapUrl = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const entry = JSON.parse(line) as { msg: string; url?: string; coap?: string };
      if (entry.msg === 'device gateway listening') [gatewayUrl, coapUrl] = [entry.url as string, entry.coap as string];
      if (entry.msg === 'management API listening') resolve(entry.url as string);
    });
  });
  child.stdout.resume();
  return {
    url,
    gatewayUrl,
    coapUrl,
    stop: () =>
      new Promise<number | null>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.removeAllListeners('exit');
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}
