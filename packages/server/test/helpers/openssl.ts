import { execFile, execFileSync } from 'node:child_process';

/** The real openssl binary; throws with its stderr when it fails. */
export function openssl(args: readonly string[], cwd: string, input?: Buffer | string): Buffer {
  try {
    return execFileSync('openssl', args, { cwd, input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    throw new Error(`openssl ${args.join(' ')} failed: ${(err as { stderr?: Buffer }).stderr?.toString('utf8') ?? ''}`);
  }
}

/** `openssl x509 -noout -fingerprint -sha256` as lower-case hex without colons. */
export function opensslFingerprint(certFile: string, cwd: string): string {
  const line = openssl(['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256'], cwd).toString('utf8');
  return (line.split('=')[1] ?? '').trim().replace(/:/g, '').toLowerCase();
}

/** `openssl x509 -noout -enddate` as a Date. */
export function opensslNotAfter(certFile: string, cwd: string): Date {
  const line = openssl(['x509', '-in', certFile, '-noout', '-enddate'], cwd).toString('utf8');
  return new Date((line.split('=')[1] ?? '').trim());
}

/** The real openssl binary as an async child process, for tests whose server runs in this process (its event loop must keep turning). */
export async function opensslAsync(args: readonly string[], cwd: string, input?: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile('openssl', args, { cwd, encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`openssl ${args.join(' ')} failed: ${stderr.toString('utf8')}`));
      else resolve(stdout);
    });
    child.stdin?.end(input);
  });
}
