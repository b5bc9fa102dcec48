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
