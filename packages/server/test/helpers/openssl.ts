import { execFileSync } from 'node:child_process';

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
