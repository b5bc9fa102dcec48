import { spawn, spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The real entry point users run, so tests cover argument parsing and exit statuses too. */
export const CLI_BIN = resolve(here, '../../../bin/fleetpki.js');

export interface RunResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function fleetpki(args: readonly string[], options: { cwd: string; input?: Buffer | string } = { cwd: process.cwd() }): RunResult {
  const result = spawnSync(process.execPath, [CLI_BIN, ...args], {
    cwd: options.cwd,
    input: typeof options.input === 'string' ? Buffer.from(options.input) : options.input,
    encoding: 'buffer',
    timeout: 120_000,
  });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout.toString('latin1'), stderr: result.stderr.toString('utf8') };
}

export interface AsyncRunOptions {
  readonly cwd: string;
  /** Added to the environment; FLEETPKI_SERVER and FLEETPKI_API_KEY are cleared unless given here. */
  readonly env?: Readonly<Record<string, string>>;
  readonly input?: Buffer | string;
}

/**
 * fleetpki without blocking the event loop: for tests that run the server in-process, where
 * spawnSync would stall the server the child is talking to.
 */
export function fleetpkiAsync(args: readonly string[], options: AsyncRunOptions): Promise<RunResult & { readonly stdoutBytes: Buffer }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.FLEETPKI_SERVER;
  delete env.FLEETPKI_API_KEY;
  Object.assign(env, options.env);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], { cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'pipe'], timeout: 120_000 });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (status) => {
      const stdoutBytes = Buffer.concat(out);
      resolvePromise({ status: status ?? -1, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes });
    });
    child.stdin.end(options.input);
  });
}

/** Runs fleetpki and fails the test with its stderr unless it exits 0. */
export function fleetpkiOk(args: readonly string[], cwd: string): RunResult {
  const result = fleetpki(args, { cwd });
  if (result.status !== 0) throw new Error(`fleetpki ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return result;
}

/** The stable code from a one-line error: `fleetpki: CODE: message`. */
export function errorCode(stderr: string): string | undefined {
  return /^fleetpki: ([A-Z_]+):/m.exec(stderr)?.[1];
}
