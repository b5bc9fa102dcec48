import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DeviceResponse {
  /** curl's exit status: 0 when an HTTP answer came back, non-zero when TLS or the connection failed. */
  readonly curlExit: number;
  readonly status: number;
  readonly body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * An OpenSSL configuration at security level 0, for a client that must be able to offer an
 * RSA-1024 key (Debian's default level refuses to load it) so that the server is the one to refuse.
 */
export function writeSecurityLevel0Config(dir: string): string {
  const file = join(dir, 'openssl-seclevel0.cnf');
  writeFileSync(
    file,
    'openssl_conf = default_conf\n[default_conf]\nssl_conf = ssl_sect\n[ssl_sect]\nsystem_default = system_default_sect\n[system_default_sect]\nCipherString = DEFAULT@SECLEVEL=0\n',
  );
  return file;
}

/** Where a test device keeps its files. */
export interface DeviceFiles {
  readonly cert: string;
  readonly key: string;
}

export function writeDeviceFiles(dir: string, name: string, certPem: string, keyPem: string): DeviceFiles {
  const cert = join(dir, `${name}.crt.pem`);
  const key = join(dir, `${name}.key.pem`);
  writeFileSync(cert, certPem);
  writeFileSync(key, keyPem, { mode: 0o600 });
  return { cert, key };
}

/**
 * `curl --cert --key --cacert https://localhost:PORT/v1/device/identity`, as a device developer
 * would run it. `files` undefined sends no client certificate.
 */
export async function curlIdentity(gatewayUrl: string, serverCaFile: string, files: DeviceFiles | undefined, env: NodeJS.ProcessEnv = {}): Promise<DeviceResponse> {
  const port = new URL(gatewayUrl).port;
  const args = ['-s', '-w', '\n%{http_code}', '--cacert', serverCaFile];
  if (files) args.push('--cert', files.cert, '--key', files.key);
  args.push(`https://localhost:${port}/v1/device/identity`);
  try {
    const { stdout } = await run('curl', args, { encoding: 'utf8', env: { ...process.env, ...env } });
    const newline = stdout.lastIndexOf('\n');
    const text = stdout.slice(0, newline);
    return { curlExit: 0, status: Number(stdout.slice(newline + 1)), body: text ? JSON.parse(text) : {} };
  } catch (error) {
    return { curlExit: (error as { code?: number }).code ?? -1, status: 0, body: {} };
  }
}

/** An open device connection (Node's TLS client, OpenSSL underneath) that has been authenticated. */
export interface HeldConnection {
  readonly identity: Record<string, unknown>;
  /** Resolves with the milliseconds from `since` to the server closing the connection. */
  closedAfter(since: number, timeoutMs: number): Promise<number>;
  end(): void;
}

/**
 * Connects with a client certificate, asks for its identity over a keep-alive connection and
 * holds the connection open, so a test can see the server end it.
 */
export async function holdConnection(gatewayUrl: string, serverCaPem: string, certPem: string, keyPem: string): Promise<HeldConnection> {
  const { connect } = await import('node:tls');
  const url = new URL(gatewayUrl);
  const socket = connect({ host: 'localhost', port: Number(url.port), ca: serverCaPem, cert: certPem, key: keyPem, servername: 'localhost' });
  let closedAt: number | undefined;
  const closed = new Promise<void>((resolve) => socket.once('close', () => ((closedAt = Date.now()), resolve())));
  socket.on('error', () => {});
  const response = await new Promise<string>((resolve, reject) => {
    let data = '';
    socket.once('secureConnect', () => socket.write('GET /v1/device/identity HTTP/1.1\r\nhost: localhost\r\nconnection: keep-alive\r\n\r\n'));
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('utf8');
      const [head, body] = data.split('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(head ?? '')?.[1] ?? NaN);
      if (body !== undefined && body.length >= length) resolve(data);
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed before an answer: ${data}`)));
  });
  const body = response.slice(response.indexOf('\r\n\r\n') + 4);
  return {
    identity: JSON.parse(body) as Record<string, unknown>,
    async closedAfter(since, timeoutMs) {
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
      await Promise.race([closed, timeout]);
      if (closedAt === undefined) throw new Error(`the connection was still open after ${timeoutMs} ms`);
      return closedAt - since;
    },
    end: () => socket.destroy(),
  };
}
