import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A shim that makes OpenSSL skip its own check that a client's key belongs to its certificate,
 * so `openssl s_client` will present a stolen certificate and sign the handshake with another
 * key. Loaded with LD_PRELOAD into the client only.
 */
export const KEY_MATCH_SHIM = `
int X509_check_private_key(const void *certificate, const void *key) { (void)certificate; (void)key; return 1; }
int SSL_CTX_check_private_key(const void *ctx) { (void)ctx; return 1; }
int SSL_check_private_key(const void *ssl) { (void)ssl; return 1; }
`;

/** Compiles the shim into `dir` and returns the shared object's path, for LD_PRELOAD. */
export function buildKeyMatchShim(dir: string): string {
  writeFileSync(join(dir, 'shim.c'), KEY_MATCH_SHIM);
  execFileSync('cc', ['-shared', '-fPIC', '-o', join(dir, 'shim.so'), join(dir, 'shim.c')]);
  return join(dir, 'shim.so');
}
