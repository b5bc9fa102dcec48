import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs the real openssl binary; throws with its stderr when it exits non-zero. */
export function openssl(args: readonly string[], cwd: string, input?: Buffer | string): Buffer {
  try {
    return execFileSync('openssl', args, { cwd, input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString('utf8') ?? '';
    throw new Error(`openssl ${args.join(' ')} failed: ${stderr}`);
  }
}

export interface OpensslResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs openssl and reports its exit status instead of throwing (for `verify`). */
export function opensslStatus(args: readonly string[], cwd: string): OpensslResult {
  const result = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** A fresh directory under the OS temp dir; `cleanup` removes it with everything in it. */
export interface TempDir {
  readonly dir: string;
  path(name: string): string;
  write(name: string, data: Buffer | string): string;
  read(name: string): Buffer;
  cleanup(): void;
}

export function tempDir(prefix: string): TempDir {
  const dir = mkdtempSync(join(tmpdir(), `fleetpki-pki-${prefix}-`));
  return {
    dir,
    path: (name) => join(dir, name),
    write: (name, data) => {
      const path = join(dir, name);
      writeFileSync(path, data, { mode: 0o600 });
      return path;
    },
    read: (name) => readFileSync(join(dir, name)),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Seconds since the epoch, as `openssl verify -attime` wants them. */
export function epochSeconds(date: Date): string {
  return String(Math.floor(date.getTime() / 1000));
}

/**
 * A CRL from `openssl ca -gencrl` for the CA in `caCert`/`caKey` (files in `tmp`), after
 * revoking `revoke` (certificate files). `lifetime` is openssl's -crldays or -crlhours.
 */
export function opensslCrl(
  tmp: TempDir,
  options: { caCert: string; caKey: string; revoke: readonly string[]; out: string; lifetime: { days: number } | { hours: number } },
): Buffer {
  tmp.write('crl-ca.cnf', '[ca]\ndefault_ca=c\n[c]\ndatabase=crl-index.txt\ncrlnumber=crl-number.txt\ndefault_md=sha256\n');
  tmp.write('crl-index.txt', '');
  tmp.write('crl-number.txt', '01\n');
  const ca = ['ca', '-config', 'crl-ca.cnf', '-cert', options.caCert, '-keyfile', options.caKey];
  for (const file of options.revoke) openssl([...ca, '-revoke', file], tmp.dir);
  const lifetime = 'days' in options.lifetime ? ['-crldays', String(options.lifetime.days)] : ['-crlhours', String(options.lifetime.hours)];
  openssl([...ca, '-gencrl', ...lifetime, '-out', options.out], tmp.dir);
  return tmp.read(options.out);
}
