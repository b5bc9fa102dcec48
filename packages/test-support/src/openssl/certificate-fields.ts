import { openssl } from './run.js';

/** `openssl x509 -noout -fingerprint -sha256` as lower-case hex without colons, as our API spells fingerprints. */
export function opensslFingerprint(certFile: string, cwd: string): string {
  const line = openssl(['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256'], cwd).toString('utf8');
  return (line.split('=')[1] ?? '').trim().replace(/:/g, '').toLowerCase();
}

/** `openssl x509 -noout -enddate` as a Date. */
export function opensslNotAfter(certFile: string, cwd: string): Date {
  const line = openssl(['x509', '-in', certFile, '-noout', '-enddate'], cwd).toString('utf8');
  return new Date((line.split('=')[1] ?? '').trim());
}
