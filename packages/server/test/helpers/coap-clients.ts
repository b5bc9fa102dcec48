import { spawn } from 'node:child_process';
import type { DeviceFiles } from './device-clients.js';

export interface ToolOutput {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a client asynchronously (the server is in this process), killed after `timeoutMs`. */
export function runTool(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<ToolOutput> {
  const child = spawn(command, args, { env: { ...process.env, ...(options.env ?? {}) } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ exitCode: code, stdout, stderr });
    }),
  );
}

/** How a CoAP client proves itself: a certificate and key, a pre-shared key, or nothing. */
export type CoapCredentials = { readonly files: DeviceFiles } | { readonly identity: string; readonly key: string } | undefined;

export interface CoapAnswer {
  /** The CoAP response code when it is an error (libcoap prints it before the payload), else '2.05'. */
  readonly code: string;
  readonly body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly text: string;
  readonly output: ToolOutput;
}

/**
 * `coap-client-openssl` or `coap-client-gnutls` (Debian libcoap3-bin), as a device developer would
 * run it: `-m get coaps://…/path` with `-c/-j` (certificate and key, server checked against
 * `serverCa`) or `-u/-k` (PSK).
 */
export async function coapGet(
  flavour: 'openssl' | 'gnutls',
  coapUrl: string,
  path: string,
  credentials: CoapCredentials,
  serverCa: string,
  env: NodeJS.ProcessEnv = {},
  waitSeconds = 8,
): Promise<CoapAnswer> {
  const args = ['-m', 'get', '-B', String(waitSeconds)];
  if (credentials && 'files' in credentials) args.push('-c', credentials.files.cert, '-j', credentials.files.key, '-C', serverCa);
  else if (credentials) args.push('-u', credentials.identity, '-k', credentials.key);
  args.push(`${coapUrl}${path}`);
  const output = await runTool(`coap-client-${flavour}`, args, { env, timeoutMs: (waitSeconds + 7) * 1000 });
  const text = `${output.stdout}${output.stderr}`;
  const error = /(\d\.\d\d)\s*(\{.*\})\s*$/s.exec(text);
  const json = error ? error[2] : /\{.*\}/s.exec(output.stdout)?.[0];
  // No code printed: 2.05 when a payload came back, '' when no response did (a failed handshake).
  const code = error ? (error[1] as string) : json !== undefined ? '2.05' : '';
  let body: Record<string, unknown> = {};
  try {
    body = json ? (JSON.parse(json) as Record<string, unknown>) : {};
  } catch {
    body = {};
  }
  return { code, body, text, output };
}

/**
 * `openssl s_client -dtls1_2` to the CoAP port: completes a DTLS handshake (no CoAP), for the
 * cipher-suite and stolen-key checks. s_client prints its session summary (with the pending
 * cipher) even after a failed handshake, so a cipher counts only when no error was printed.
 * Returns the negotiated cipher ('' when the handshake failed) and the output.
 */
export async function dtlsHandshake(coapUrl: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 15_000): Promise<{ cipher: string; extendedMasterSecret: boolean; output: string }> {
  const url = new URL(coapUrl.replace(/^coaps:/, 'https:'));
  const result = await runTool('openssl', ['s_client', '-dtls1_2', '-connect', `${url.hostname}:${url.port}`, ...args], { env, timeoutMs });
  const output = result.stdout + result.stderr;
  const cipher = /Cipher is (\S+)/.exec(output)?.[1] ?? '';
  const failed = /:error:|alert/i.test(output);
  return { cipher: cipher === '(NONE)' || failed ? '' : cipher, extendedMasterSecret: /Extended master secret: yes/.test(output), output };
}

/** An `openssl s_client -dtls1_2` session kept open after its handshake, so a test can see the server end it. */
export interface HeldDtlsSession {
  /** Resolves with the moment s_client exited: the server ended the session. */
  readonly exited: Promise<number>;
  end(): void;
}

/**
 * `openssl s_client -dtls1_2` to the CoAP port with `args` (a certificate, or a PSK), held open
 * once the handshake is done. The client learns nothing of its admission: the server decides
 * it after the handshake, so a test reads that from the API.
 */
export async function holdDtlsSession(coapUrl: string, args: readonly string[]): Promise<HeldDtlsSession> {
  const port = new URL(coapUrl.replace(/^coaps:/, 'https:')).port;
  const child = spawn('openssl', ['s_client', '-dtls1_2', '-connect', `127.0.0.1:${port}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const end = (): void => {
    clearTimeout(killer);
    child.kill('SIGKILL');
  };
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const exited = new Promise<number>((resolve) => child.once('close', () => resolve(Date.now())));
  const deadline = Date.now() + 10_000;
  while (!/Cipher is/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  if (!/Cipher is/.test(out)) {
    end();
    throw new Error(`no DTLS session came up: ${out}`);
  }
  return { exited, end };
}
