import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CurlResult {
  /** curl's exit status: 0 when an HTTP answer came back. */
  readonly curlExit: number;
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer;
}

/**
 * The real curl binary, asynchronously (the server under test may run in this process): `args`
 * are curl's own (certificates, data, credentials, URL); the status, content type and body
 * come back. Loopback only, bounded by --max-time.
 */
export async function curl(args: readonly string[]): Promise<CurlResult> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetpki-curl-'));
  const out = join(dir, 'body');
  try {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile('curl', ['-s', '--max-time', '30', '-o', out, '-w', '%{http_code} %{content_type}', ...args], { encoding: 'utf8' }, (error, text) => {
        if (error && typeof error.code === 'number') reject(Object.assign(new Error(`curl exited ${error.code}`), { curlExit: error.code }));
        else if (error) reject(error);
        else resolve(text);
      });
    });
    const [status, ...type] = stdout.split(' ');
    let body: Buffer;
    try {
      body = readFileSync(out);
    } catch {
      body = Buffer.alloc(0);
    }
    return { curlExit: 0, status: Number(status), contentType: type.join(' '), body };
  } catch (error) {
    const code = (error as { curlExit?: number }).curlExit;
    if (code === undefined) throw error;
    return { curlExit: code, status: 0, contentType: '', body: Buffer.alloc(0) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
