import { decodeObjects, PkiError } from '@fleetpki/pki';

/** The DER of the one CSR in a file, so issuance parses and checks it itself. */
export function csrDer(input: Buffer, path: string): Buffer {
  const { objects } = decodeObjects(input);
  const first = objects[0];
  if (objects.length !== 1 || !first || first.kind !== 'csr') {
    const found = first ? (objects.length > 1 ? `${objects.length} objects` : first.kind) : 'nothing';
    throw new PkiError('WRONG_OBJECT_TYPE', `${path}: expected one certificate signing request, found ${found}`, { file: path });
  }
  return first.der;
}
