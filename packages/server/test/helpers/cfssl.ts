import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { opensslAsync } from '@fleetpki/test-support';
import { freePort } from './free-port.js';

const START_TIMEOUT_MS = 20_000;

export interface CfsslServer {
  readonly url: string;
  readonly caCertFile: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * A real `cfssl serve` (CloudFlare's remote signer, Debian's golang-cfssl) on loopback, with an
 * openssl-made EC P-256 CA and a default signing profile for device certificates
 * (digitalSignature, clientAuth, `expiryHours`). Stopped by PID.
 */
export async function startCfssl(dir: string, options: { expiryHours?: number; caSubject?: string } = {}): Promise<CfsslServer> {
  const ssl = (args: readonly string[]) => opensslAsync(args, dir);
  await ssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'cfssl-ca.key.pem']);
  writeFileSync(join(dir, 'cfssl-ca.cnf'), '[req]\ndistinguished_name=dn\n[dn]\n[ext]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n');
  await ssl(['req', '-x509', '-new', '-key', 'cfssl-ca.key.pem', '-sha256', '-subj', options.caSubject ?? '/CN=cfssl Device CA', '-days', '365', '-config', 'cfssl-ca.cnf', '-extensions', 'ext', '-out', 'cfssl-ca.crt.pem']);
  const expiry = `${options.expiryHours ?? 720}h`;
  // Besides the device profile, two a careless (or hostile) operator might name: one that makes
  // CA certificates, one that adds serverAuth. fleetpki must refuse what they sign.
  const config = {
    signing: {
      default: { expiry, usages: ['digital signature', 'client auth'] },
      profiles: {
        'ca-capable': { expiry, usages: ['digital signature', 'cert sign', 'crl sign', 'client auth'], ca_constraint: { is_ca: true, max_path_len: 0, max_path_len_zero: true } },
        'server-too': { expiry, usages: ['digital signature', 'client auth', 'server auth'] },
      },
    },
  };
  writeFileSync(join(dir, 'cfssl-config.json'), JSON.stringify(config));
  const port = await freePort();
  const child = spawn(
    'cfssl',
    ['serve', '-address', '127.0.0.1', '-port', String(port), '-ca', join(dir, 'cfssl-ca.crt.pem'), '-ca-key', join(dir, 'cfssl-ca.key.pem'), '-config', join(dir, 'cfssl-config.json'), '-loglevel', '4'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      process.kill(child.pid as number, 'SIGTERM');
    });
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`cfssl serve exited ${child.exitCode}: ${stderr}`);
    try {
      const r = await fetch(`${url}/api/v1/cfssl/info`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(2000) });
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`cfssl serve did not answer within ${START_TIMEOUT_MS} ms: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, caCertFile: join(dir, 'cfssl-ca.crt.pem'), child, stop };
}
