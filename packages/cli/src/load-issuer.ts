import { decodeObjects, loadPrivateKey, PkiError, prepareIssuer, type PreparedIssuer } from '@fleetpki/pki';
import { readInput } from './file-io.js';

/**
 * The CA a command signs with. A bundle is accepted and its first certificate is the issuer,
 * as with `openssl x509 -CA`; a key where a certificate belongs is named as such.
 */
export function loadIssuer(certPath: string, keyPath: string): PreparedIssuer {
  const decoded = decodeObjects(readInput(certPath));
  const first = decoded.objects[0];
  if (!first || first.kind !== 'certificate') {
    throw new PkiError('WRONG_OBJECT_TYPE', `${certPath}: expected a CA certificate, found ${first ? first.kind : 'nothing'}`, {
      file: certPath,
    });
  }
  const key = loadPrivateKey(readInput(keyPath));
  return prepareIssuer(first.certificate, key.key);
}
