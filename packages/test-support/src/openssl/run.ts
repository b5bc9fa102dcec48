import { execFile, execFileSync, spawnSync } from 'node:child_process';

/**
 * The real openssl binary, the reference every test checks our encodings against. Throws with
 * openssl's stderr when it exits non-zero, so a failing test says what openssl objected to.
 */
export function openssl(args: readonly string[], cwd: string, input?: Buffer | string): Buffer {
  try {
    return execFileSync('openssl', args, { cwd, input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    throw new Error(`openssl ${args.join(' ')} failed: ${(err as { stderr?: Buffer }).stderr?.toString('utf8') ?? ''}`);
  }
}

export interface OpensslResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** openssl with its exit status reported instead of thrown: for `verify` and `req -verify`, whose refusals are what a test asserts. */
export function opensslStatus(args: readonly string[], cwd: string): OpensslResult {
  const result = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/**
 * openssl as an asynchronous child process, for tests whose server runs in this process: a
 * synchronous child would stop the event loop the server needs to answer.
 */
export async function opensslAsync(args: readonly string[], cwd: string, input?: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile('openssl', args, { cwd, encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`openssl ${args.join(' ')} failed: ${stderr.toString('utf8')}`));
      else resolve(stdout);
    });
    child.stdin?.end(input);
  });
}

/** Seconds since the epoch, as `openssl verify -attime` wants them. */
export function epochSeconds(date: Date): string {
  return String(Math.floor(date.getTime() / 1000));
}
