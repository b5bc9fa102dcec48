import type { TempDir } from '../temp-dir.js';
import { openssl } from './run.js';

/**
 * A CRL from `openssl ca -gencrl` for the CA in `caCert`/`caKey` (files in `tmp`), after
 * revoking `revoke` (certificate files): a CRL our parser did not write, so it cannot share our
 * encoder's mistakes. `lifetime` is openssl's -crldays or -crlhours.
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
